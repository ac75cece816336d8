import Control
import FixedNN
import Foundation
import H2OTrainer
import Tasks

/// Which offline real-plant dataset the gap benchmark gives H2O+, H2O and IQL (D4RL's
/// naming where it applies).
public enum RealDataKind: String, CaseIterable, Sendable, Codable {
    /// A scripted noisy operator (`TeleopDataset`): the swing-up controller with a random
    /// per-episode effort and correlated noise. Pendulum only.
    case teleop
    /// D4RL "medium": episodes of one partly trained policy (SAC trained briefly on the
    /// onboard simulator), stochastic actions, on the real plant.
    case medium
    /// D4RL "medium-replay": one real-plant episode of each successive policy of that same
    /// SAC training, from the untrained start to the medium policy (what a robot logs while
    /// a policy improves).
    case mediumReplay = "medium-replay"
}

/// Records the gap benchmark's real datasets in the project's dataset format
/// (Control/DATASET.md). Set-up code: allocates and writes files.
public enum GapRealData {
    /// How a dataset is made.
    public struct Options: Sendable {
        public var kind = RealDataKind.mediumReplay
        /// Episodes recorded (one per behaviour epoch for medium-replay).
        public var episodes = 20
        /// SAC updates (and sim steps) of the behaviour policy's training, for medium and medium-replay.
        public var behaviourUpdates = 20_000
        /// Real plant parameters (plant.h names) over the reference plant.
        public var plantParameters: [String: Double] = [:]
        /// Seed of the behaviour training, the policy noise and the plant.
        public var seed: UInt64 = 0x7E1E
        public init() {}
    }

    /// What was recorded.
    public struct Summary: Sendable, Codable, Equatable {
        public var kind: RealDataKind
        public var episodes: Int
        public var records: Int
        /// Mean undiscounted real-plant return of the recorded episodes.
        public var meanReturn: Double
    }

    /// The dataset schema of a benchmark task (observation and action channels with units).
    public static func schema(task: GapTaskName, controlPeriod: Double, source: String) -> DatasetSchema {
        switch task {
        case .pendulum:
            var s = TeleopDataset.pendulumSchema(task: task.pendulumTask, robotID: "emulated-pendulum")
            s.source = source
            return s
        case .cartpole:
            return DatasetSchema(
                robotID: "emulated-cartpole", task: task.cartPoleTask.name, controlRateHz: 1 / controlPeriod,
                observation: [
                    DatasetChannel(name: "x", unit: "m"), DatasetChannel(name: "x_dot", unit: "m/s"),
                    DatasetChannel(name: "cos_theta", unit: "1"), DatasetChannel(name: "sin_theta", unit: "1"),
                    DatasetChannel(name: "theta_dot", unit: "rad/s"),
                ],
                action: [DatasetChannel(name: "force", unit: "1")],
                rewardDefinition:
                    "((1 + cos theta)/2 - 0.05*x^2 - 0.01*a^2) * dt/0.02, a = action in [-1, 1]; terminal when |x| > track_limit",
                source: source)
        }
    }

    /// Records a medium or medium-replay dataset of `task` into `directory`: trains SAC on
    /// `simTask` (the onboard simulator) and rolls its stochastic policy on the real plant.
    public static func recordBehaviour<T: SimulatedTask & PlantBackedTask>(
        simTask: T, realTask: T, schema: DatasetSchema, hyperparameters: Hyperparameters, directory: String,
        options o: Options
    ) throws -> Summary {
        precondition(o.kind != .teleop, "teleop data comes from TeleopDataset")
        var h = hyperparameters
        h.seed = o.seed
        let epochs = max(o.episodes, 1)
        h.updatesPerEpoch = max(o.behaviourUpdates / epochs, 1)
        h.simStepsPerEpoch = h.updatesPerEpoch
        h.evaluateEveryEpochs = Int.max / 2
        // Sac-sim ignores the real set; its capacity only sizes the sim FIFO.
        let empty = ReplayBuffer(
            observationSize: simTask.observationSize, actionSize: simTask.actionSize,
            capacity: max(o.behaviourUpdates, h.batchSize), overflow: .refuse)
        let run = try TrainingRun(
            algorithm: .sacSim, hyperparameters: h, real: empty, agent: nil,
            simEnvironment: SimEnvironment(task: simTask, seed: o.seed ^ 0x51), evalEnvironment: SimEnvironment(task: simTask, seed: 1))
        var plant = try RealPlantEnvironment(task: realTask, parameters: o.plantParameters, seed: o.seed ^ 0xE7A1)
        let writer = try DatasetWriter(directory: directory, schema: schema)
        var recorder = EpisodeRecorder(
            writer: writer, observationSize: simTask.observationSize, actionSize: simTask.actionSize,
            controlPeriod: realTask.controlPeriod)
        run.warmUp(simSteps: max(h.batchSize, h.simStepsPerEpoch))
        for epoch in 0..<epochs {
            _ = try run.runEpoch()
            if o.kind == .mediumReplay {
                try recorder.record(in: &plant, policyVersion: UInt64(epoch + 1)) { run.learner.act(observation: $0, into: $1, stochastic: true) }
            }
        }
        if o.kind == .medium {
            for _ in 0..<o.episodes {
                try recorder.record(in: &plant, policyVersion: UInt64(epochs)) { run.learner.act(observation: $0, into: $1, stochastic: true) }
            }
        }
        try writer.close()
        return Summary(
            kind: o.kind, episodes: recorder.returns.count, records: recorder.records,
            meanReturn: recorder.returns.reduce(0, +) / Double(max(recorder.returns.count, 1)))
    }
}

/// Writes whole episodes of a policy in an environment as dataset records: one record per
/// tick, plus a closing record holding the last observation when the episode times out.
struct EpisodeRecorder {
    let writer: DatasetWriter
    let observationSize: Int
    let actionSize: Int
    var flags: TransitionFlags = []
    var episode: UInt32 = 0
    var tick: UInt64 = 0
    var records = 0
    var returns: [Double] = []
    /// Control period, ns (record timestamps are tick × period).
    let periodNanos: UInt64

    init(writer: DatasetWriter, observationSize: Int, actionSize: Int, controlPeriod: Double) {
        self.writer = writer
        self.periodNanos = UInt64((controlPeriod * 1e9).rounded())
        self.observationSize = observationSize
        self.actionSize = actionSize
    }

    mutating func record<E: TaskEnvironment>(
        in env: inout E, policyVersion: UInt64,
        policy: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) throws {
        var observation = [Float](repeating: 0, count: observationSize)
        var next = observation
        var action = [Float](repeating: 0, count: actionSize)
        observation.withUnsafeMutableBufferPointer { env.reset(observation: $0.baseAddress!) }
        var total = 0.0
        var t = 0
        while true {
            observation.withUnsafeBufferPointer { o in action.withUnsafeMutableBufferPointer { policy(o.baseAddress!, $0.baseAddress!) } }
            let outcome = action.withUnsafeBufferPointer { a in
                next.withUnsafeMutableBufferPointer { env.step(action: a.baseAddress!, observation: $0.baseAddress!) }
            }
            total += outcome.reward
            var f = flags
            if t == 0 { f.insert(.episodeStart) }
            if outcome.terminated { f.insert(.terminal) }
            try writer.append(
                Transition(
                    header: TransitionHeader(
                        timestampNanos: tick * periodNanos, tick: tick, policyVersion: policyVersion, episode: episode, flags: f,
                        reward: Float(outcome.reward)),
                    observation: observation, action: action))
            records += 1
            tick += 1
            t += 1
            if outcome.terminated { break }
            if outcome.truncated {
                try writer.append(
                    Transition(
                        header: TransitionHeader(
                            timestampNanos: tick * periodNanos, tick: tick, policyVersion: policyVersion, episode: episode,
                            flags: flags.union(.timeout)),
                        observation: next, action: [Float](repeating: 0, count: actionSize)))
                records += 1
                tick += 1
                break
            }
            observation = next
        }
        returns.append(total)
        episode += 1
    }
}
