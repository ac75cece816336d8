import Tasks
/// Every knob of an on-robot session in one place (CleanRL style: one documented struct,
/// one seed). Recorded in the run's `run.json` under `config`.
public struct OnRobotSettings: Sendable, Equatable {
    /// Network sizes, batch, learning rate and H2O+ coefficients of the fine-tuning trainer,
    /// and its schedule: K onboard-simulator steps (`simStepsPerEpoch`) then M updates
    /// (`updatesPerEpoch`) per block, a candidate validated and published every P updates
    /// (`publishEveryUpdates`). γ is set from the task's time scale (`SimulatedTask.discount`)
    /// when the session starts.
    public var hyperparameters: Hyperparameters
    /// Deterministic onboard-simulator episodes used to validate a candidate (the same start
    /// states every time).
    public var validationEpisodes = 10
    /// Calibrate the onboard simulator on the robot after each of the first this many complete
    /// episodes (when the session has a calibration, `OnlineTrainer.calibrate`).
    public var calibrationEpisodes = 3
    /// A candidate is published only if its validation return is at least the published
    /// policy's validation return minus this margin (returns are negative costs).
    public var validationTolerance = 150.0
    /// Updates at the start that train only the critics, V and the discriminators (policy
    /// held; `UpdateMode.criticsOnly`). Nothing is published during them. The
    /// simulator-trained critics already match the learner's time step (the policy's
    /// decision rate), so this mainly fits V, which simulator pre-training does not have.
    /// Re-armed after each calibration of the simulator (its dynamics changed).
    public var warmupUpdates = 3000
    /// Select on the robot: a candidate that passed validation is tried for up to
    /// `trialEpisodes` whole episodes (published at an episode boundary) and kept only if its
    /// mean return beats the running policy's recent mean by `selectionMargin` and by twice
    /// the standard error of the difference (`RobotSelection.judge`); otherwise the running
    /// policy is restored. Off: every validated candidate is published at once.
    public var selectOnRobot = true
    /// Smallest mean return gain over the running policy for a candidate to be kept.
    public var selectionMargin = 5.0
    /// Deterministic episodes a candidate runs on the robot before it is judged (a clearly
    /// worse first episode ends the trial early).
    public var trialEpisodes = 2
    /// Std of the Gaussian noise added to the running policy's actions (in [−1, 1] action
    /// units, at each decision) in its own episode after every `exploreEveryTrials` trials on
    /// the robot: real data with other actions than the deterministic policy's, bounded by the
    /// safety layer; such episodes are flagged `exploring` and count neither as baseline nor
    /// as trials. 0 (the default): that episode is deterministic and refreshes the running
    /// policy's baseline — with the simulator calibrated on the robot, the simulator supplies
    /// the action diversity, and a baseline of several episodes is what lets selection see a
    /// real gain through a policy's episode-to-episode spread.
    public var explorationStd = 0.0
    /// Trials on the robot between two episodes of the running policy.
    public var exploreEveryTrials = 2
    /// The last this many seconds of a timed run try no candidate: the kept policy runs
    /// deterministically, so the run ends on it and its last episodes measure it.
    public var finalPhaseSeconds = 80.0
    /// Real transitions (one per policy decision) needed before the first update: two
    /// 200-decision episodes at the default 20 Hz decision rate.
    public var minimumRealTransitions = 400
    /// Capacity of the onboard-simulator FIFO, transitions.
    public var simBufferCapacity = 200_000
    /// Seed of every random draw (network init, batches, sim resets and noise).
    public var seed: UInt64 = 1

    public init(hyperparameters: Hyperparameters = OnRobotSettings.defaultHyperparameters, seed: UInt64 = 1) {
        self.hyperparameters = hyperparameters
        self.seed = seed
        self.hyperparameters.seed = seed
    }

    /// Small networks for a 2-core board: hidden 64, batch 128 (64 real + 64 sim),
    /// discriminators 64 wide, the robot preset's λ 0.1 and τe 0.9; blocks of K = 200 sim
    /// steps and M = 50 updates, a candidate every P = 1000 updates.
    public static let defaultHyperparameters: Hyperparameters = {
        var h = Hyperparameters.robot
        h.hiddenSize = 64
        h.discriminatorHiddenSize = 64
        h.batchSize = 128
        h.simStepsPerEpoch = 200
        h.updatesPerEpoch = 50
        h.publishEveryUpdates = 1000
        return h
    }()

    /// The settings as flat key/value pairs for run.json.
    public var recorded: [String: String] {
        [
            "hyperparameters": hyperparameters.jsonString,
            "validation_episodes": "\(validationEpisodes)", "validation_tolerance": "\(validationTolerance)",
            "minimum_real_transitions": "\(minimumRealTransitions)", "warmup_updates": "\(warmupUpdates)", "calibration_episodes": "\(calibrationEpisodes)",
            "select_on_robot": "\(selectOnRobot)", "selection_margin": "\(selectionMargin)", "trial_episodes": "\(trialEpisodes)", "exploration_std": "\(explorationStd)", "explore_every_trials": "\(exploreEveryTrials)", "final_phase_s": "\(finalPhaseSeconds)", "sim_buffer_capacity": "\(simBufferCapacity)",
            "seed": "\(seed)",
        ]
    }
}
