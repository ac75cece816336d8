import FixedNN
import Foundation
import Tasks

/// `robotctl train` as a library call: validates every input before the first update, then
/// runs epochs, writing metrics, an atomic checkpoint per epoch and the final policy.
public enum Training {
    /// What to train and where to write it.
    public struct Options: Sendable {
        public var algorithm: Algorithm = .h2oPlus
        public var hyperparameters: Hyperparameters = .robot
        /// Epochs to run (in total, counting those of a resumed checkpoint).
        public var epochs = 10
        /// D4RL-style .npz of real transitions; nil collects `randomRealTransitions` with
        /// random actions on the emulated plant instead.
        public var dataset: String?
        public var randomRealTransitions = 2000
        /// Output directory (config.json, metrics.csv, checkpoint.safetensors, policy.safetensors).
        public var outputDirectory: String
        /// Checkpoint to resume from.
        public var resume: String?
        /// Draw a progress bar on standard error.
        public var progress = true
        /// Threads per update (1 or 2; see `Learner`). Same results.
        public var stepThreads = 1
        public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
    }

    /// The result of a finished run.
    public struct Summary: Sendable {
        public var epochs: Int
        public var updates: Int
        public var lastEvalReturn: Double?
        public var checkpoint: String
        public var policy: String
    }

    /// Trains on the pendulum task: onboard simulator for sim data, the emulated plant (the
    /// richer physics model) for evaluation and for random real data. Throws before the first
    /// update for bad inputs; throws `nonFiniteLoss` (after keeping the last good checkpoint)
    /// if a loss goes NaN.
    public static func pendulum(_ o: Options) throws -> Summary {
        try train(task: PendulumTask(), o)
    }

    /// Trains on `task` (e.g. a `FileTask` from a robot and a task file): its onboard
    /// simulator for sim data, its robot on the emulated plant for evaluation and for random
    /// real data. Same checks and outputs as `pendulum`.
    public static func train<Task: SimulatedTask & PlantBackedTask>(task: Task, _ o: Options) throws -> Summary {
        var h = o.hyperparameters
        h.gamma = task.discount
        try h.validate()
        let S = task.observationSize, A = task.actionSize
        var plant = try RealPlantEnvironment(task: task, seed: h.seed ^ 0xE7A1)
        let real: ReplayBuffer
        let extra = h.simStepsPerEpoch * o.epochs
        if let path = o.dataset {
            real = try RealDataset.load(npz: path, observationSize: S, actionSize: A, extraCapacity: extra)
        } else {
            real = ReplayBuffer.randomTransitions(in: &plant, count: o.randomRealTransitions, seed: h.seed ^ 0x4EA1, extraCapacity: extra)
        }
        var agent: H2OAgent? = nil
        var startEpoch = 0
        if let path = o.resume {
            let file = try AgentFile.read(path: path)
            agent = try AgentFile.agent(
                from: file, base: h, expect: (S, A, h.hiddenSize, h.discriminatorHiddenSize), source: path)
            if let algo = file.metadata["h2o.algorithm"], algo != o.algorithm.rawValue {
                throw TrainerError.incompatibleCheckpoint(path: path, problem: "was trained with \(algo), not \(o.algorithm.rawValue); pass --algorithm \(algo)")
            }
            startEpoch = Int(file.metadata["h2o.epoch"] ?? "0") ?? 0
        }
        let run = try TrainingRun(
            algorithm: o.algorithm, hyperparameters: h, real: real, agent: agent,
            simEnvironment: SimEnvironment(task: task, seed: h.seed ^ 0x51), evalEnvironment: plant, startEpoch: startEpoch,
            stepThreads: o.stepThreads)
        let config: [String: String] = [
            "algorithm": o.algorithm.rawValue, "task": task.name, "observation_size": String(S), "action_size": String(A),
            "control_period_s": String(task.controlPeriod), "episode_ticks": String(task.episodeTicks),
            "hyperparameters": h.jsonString, "dataset": o.dataset ?? "random actions on the emulated plant (\(o.randomRealTransitions))",
            "resumed_from": o.resume ?? "",
        ]
        let output = try TrainingOutput(directory: o.outputDirectory, config: config, resuming: o.resume != nil)
        run.warmUp(simSteps: max(h.batchSize, h.simStepsPerEpoch))
        let bar = ProgressBar(total: o.epochs)
        var lastEval: Double? = nil
        while run.epoch < o.epochs {
            let report = try run.runEpoch()
            lastEval = report.evalReturn ?? lastEval
            output.append(report)
            guard run.learner.agent.allFinite else {
                throw TrainerError.nonFiniteLoss(step: report.updates, loss: "parameters", value: .nan)
            }
            try run.checkpoint().writeDurably(path: output.checkpointPath)
            if o.progress { bar.draw(report, lastEval: lastEval) }
        }
        let provenance = ["algorithm": o.algorithm.rawValue, "task": task.name, "seed": String(h.seed), "epochs": String(run.epoch)]
        do {
            try run.learner.policyFile(provenance: provenance).tensors().writeDurably(path: output.policyPath)
        } catch {
            throw TrainerError.io(path: output.policyPath, problem: "\(error)")
        }
        return Summary(
            epochs: run.epoch, updates: run.learner.agent.updateCount, lastEvalReturn: lastEval, checkpoint: output.checkpointPath,
            policy: output.policyPath)
    }
}
