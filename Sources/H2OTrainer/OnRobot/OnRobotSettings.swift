/// Every knob of an on-robot session in one place (CleanRL style: one documented struct,
/// one seed). Recorded in the run's `run.json` under `config`.
public struct OnRobotSettings: Sendable, Equatable {
    /// Network sizes, batch, learning rate and H2O+ coefficients of the fine-tuning trainer.
    /// γ is set from the task's time scale (`SimulatedTask.discount`) when the session starts.
    public var hyperparameters: Hyperparameters
    /// Onboard-simulator steps collected with the stochastic policy between update blocks (K).
    public var simStepsPerBlock = 200
    /// H2O+ updates per block (M).
    public var updatesPerBlock = 50
    /// Validate and publish a candidate every this many updates (P).
    public var publishEveryUpdates = 1000
    /// Deterministic onboard-simulator episodes used to validate a candidate.
    public var validationEpisodes = 2
    /// A candidate is published only if its validation return is at least the published
    /// policy's validation return minus this margin (returns are negative costs).
    public var validationTolerance = 150.0
    /// Updates at the start that train only the critics, V and the discriminators (policy
    /// held; see `OnRobotLearner.warmupUpdate`). Nothing is published during them.
    public var warmupUpdates = 4000
    /// Select on the robot: a candidate that passed validation is tried for one whole episode
    /// (published at an episode boundary) and kept only if its return beats the running
    /// policy's recent mean by `selectionMargin`; otherwise the running policy is restored.
    /// Off: every validated candidate is published at once.
    public var selectOnRobot = true
    /// Return a trial episode must gain over the running policy's recent mean to be kept.
    public var selectionMargin = 1.0
    /// Real transitions needed before the first update.
    public var minimumRealTransitions = 2000
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
    /// discriminators 64 wide, the robot preset's λ 0.1 and τe 0.9.
    public static let defaultHyperparameters: Hyperparameters = {
        var h = Hyperparameters.robot
        h.hiddenSize = 64
        h.discriminatorHiddenSize = 64
        h.batchSize = 128
        return h
    }()

    /// The settings as flat key/value pairs for run.json.
    public var recorded: [String: String] {
        [
            "hyperparameters": hyperparameters.jsonString, "sim_steps_per_block": "\(simStepsPerBlock)",
            "updates_per_block": "\(updatesPerBlock)", "publish_every_updates": "\(publishEveryUpdates)",
            "validation_episodes": "\(validationEpisodes)", "validation_tolerance": "\(validationTolerance)",
            "minimum_real_transitions": "\(minimumRealTransitions)", "warmup_updates": "\(warmupUpdates)",
            "select_on_robot": "\(selectOnRobot)", "selection_margin": "\(selectionMargin)", "sim_buffer_capacity": "\(simBufferCapacity)",
            "seed": "\(seed)",
        ]
    }
}
