import Control
import Foundation

/// The dynamics-gap benchmark (`robotctl bench gap`): each algorithm (H2O+, H2O, SAC on the
/// onboard simulator only, IQL on real data only) trains on the pendulum with the onboard
/// simulator (nominal model, plus any gap assignments) as its sim domain and a teleop dataset
/// recorded on the real plant (the emulated robot's C physics) as its real data, and is
/// evaluated on the real plant: mean undiscounted return of deterministic episodes from
/// hanging, over several seeds. Reference rows give the scale: the scripted swing-up
/// controller and zero torque on the same plant.
public enum GapBenchmark {
    /// What to run.
    public struct Options: Sendable {
        public var algorithms: [Algorithm] = Algorithm.allCases
        public var seeds: [UInt64] = [1, 2, 3]
        /// Epochs per run (each: `simStepsPerEpoch` sim steps, `updatesPerEpoch` updates).
        public var epochs = 20
        /// Hyperparameters (γ is set to the task's).
        public var hyperparameters: Hyperparameters = .robot
        /// Onboard simulator assignments on top of the 200 Hz nominal model, e.g. ["gravity=20"].
        public var simAssignments: [String] = []
        /// Real plant parameters (plant.h names) overriding the reference robot.
        public var plantParameters: [String: Double] = [:]
        /// Episodes of the real teleop dataset (2000 ticks each).
        public var teleopEpisodes = 10
        /// Deterministic evaluation episodes on the real plant at the end of each run.
        public var evaluationEpisodes = 5
        public init() {}
    }

    /// One algorithm × seed run, or a reference row.
    public struct Run: Sendable, Codable, Equatable {
        /// Algorithm name (`h2o+`, `h2o`, `sac-sim`, `iql-real`) or `reference/...`.
        public var name: String
        public var seed: UInt64
        /// Mean real-plant return of the final deterministic evaluation.
        public var realReturn: Double
        /// Updates performed.
        public var updates: Int
        /// Wall-clock seconds of the run.
        public var seconds: Double
    }

    /// Mean, standard deviation (n − 1), min and max of one name's runs.
    public struct Summary: Sendable, Codable, Equatable {
        public var name: String
        public var runs: Int
        public var mean: Double
        public var std: Double
        public var min: Double
        public var max: Double
    }

    /// Runs everything; `progress` gets one line per finished run.
    public static func run(_ o: Options, progress: (String) -> Void = { _ in }) throws -> [Run] {
        var simParameters = PendulumParameters.rate200Hz
        try simParameters.apply(assignments: o.simAssignments)
        let simTask = PendulumTask(parameters: simParameters)
        let realTask = PendulumTask(parameters: .rate200Hz)
        var h = o.hyperparameters
        h.gamma = simTask.discount
        h.evaluationEpisodes = o.evaluationEpisodes
        h.evaluateEveryEpochs = max(o.epochs, 1)
        try h.validate()
        var runs: [Run] = []
        runs += try references(task: realTask, o: o)
        for r in runs { progress("\(r.name): real return \(String(format: "%.1f", r.realReturn))") }

        // The real dataset: recorded once, shared by every run (as a lab's logged data is).
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("robotctl-gap-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var teleop = TeleopDataset.Options()
        teleop.episodes = o.teleopEpisodes
        teleop.plantParameters = o.plantParameters
        teleop.seed = 0x7E1E
        _ = try TeleopDataset.recordPendulum(task: realTask, directory: directory, options: teleop)
        let arrays = try DatasetReader(directory: directory).d4rlArrays()

        for algorithm in o.algorithms {
            for seed in o.seeds {
                let start = Date()
                var hs = h
                hs.seed = seed
                let real = replayBuffer(arrays)
                let plant = try RealPlantEnvironment(
                    task: realTask, parameters: o.plantParameters, seed: seed ^ 0xE7A1)
                let run = try TrainingRun(
                    algorithm: algorithm, hyperparameters: hs, real: real, agent: nil,
                    simEnvironment: SimEnvironment(task: simTask, seed: seed ^ 0x51), evalEnvironment: plant)
                run.warmUp(simSteps: max(hs.batchSize, hs.simStepsPerEpoch))
                var final: Double? = nil
                while run.epoch < o.epochs {
                    final = try run.runEpoch().evalReturn ?? final
                }
                let result = Run(
                    name: algorithm.rawValue, seed: seed,
                    realReturn: final ?? run.evaluate(episodes: o.evaluationEpisodes),
                    updates: run.epoch * hs.updatesPerEpoch, seconds: Date().timeIntervalSince(start))
                runs.append(result)
                progress(
                    "\(result.name) seed \(seed): real return \(String(format: "%.1f", result.realReturn)) (\(result.updates) updates, \(String(format: "%.0f", result.seconds)) s)"
                )
            }
        }
        return runs
    }

    /// Per-name statistics of `runs`, in first-appearance order.
    public static func summarize(_ runs: [Run]) -> [Summary] {
        var names: [String] = []
        for r in runs where !names.contains(r.name) { names.append(r.name) }
        return names.map { name in
            let values = runs.filter { $0.name == name }.map(\.realReturn)
            let mean = values.reduce(0, +) / Double(values.count)
            let variance =
                values.count > 1
                ? values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1) : 0
            return Summary(
                name: name, runs: values.count, mean: mean, std: variance.squareRoot(),
                min: values.min() ?? .nan, max: values.max() ?? .nan)
        }
    }

    /// The D4RL arrays as a full-weight real replay buffer.
    static func replayBuffer(_ a: D4RLArrays) -> ReplayBuffer {
        var buffer = ReplayBuffer(
            observationSize: a.observationSize, actionSize: a.actionSize, capacity: max(a.count, 1),
            overflow: .refuse)
        a.observations.withUnsafeBufferPointer { o in
            a.actions.withUnsafeBufferPointer { act in
                a.nextObservations.withUnsafeBufferPointer { n in
                    for i in 0..<a.count {
                        buffer.append(
                            observation: o.baseAddress! + i * a.observationSize,
                            action: act.baseAddress! + i * a.actionSize, reward: a.rewards[i],
                            nextObservation: n.baseAddress! + i * a.observationSize, terminal: a.terminals[i])
                    }
                }
            }
        }
        return buffer
    }

    /// The scripted swing-up controller and zero torque on the real plant.
    static func references(task: PendulumTask, o: Options) throws -> [Run] {
        var env = try RealPlantEnvironment(task: task, parameters: o.plantParameters, seed: 0xBEEF)
        let controller = PendulumSwingUpController(task: task)
        var obs = [Float](repeating: 0, count: 3)
        func evaluate(_ policy: ([Float]) -> Float) -> Double {
            var total = 0.0
            for _ in 0..<o.evaluationEpisodes {
                env.reset(observation: &obs)
                while true {
                    var a = policy(obs)
                    let outcome = env.step(action: &a, observation: &obs)
                    total += outcome.reward
                    if outcome.terminated || outcome.truncated { break }
                }
            }
            return total / Double(o.evaluationEpisodes)
        }
        let scripted = evaluate { o in
            o.withUnsafeBufferPointer { controller.action(observation: $0.baseAddress!) }
        }
        let zero = evaluate { _ in 0 }
        return [
            Run(name: "reference/swing-up-controller", seed: 0, realReturn: scripted, updates: 0, seconds: 0),
            Run(name: "reference/zero-torque", seed: 0, realReturn: zero, updates: 0, seconds: 0),
        ]
    }
}
