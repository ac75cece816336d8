import Control
import FixedNN
import Foundation
import Tasks
import H2OTrainer

/// Where a run's first policy comes from: a policy file the user gives, or an agent trained
/// only in the onboard simulator (cached by task, seed and hyperparameters).
///
/// Set-up code: allocates and throws one-line errors naming the file, the problem and the fix.
public enum StartingPolicy {
    /// Loads `path` and checks it fits `task`.
    public static func load(path: String, task: some ControlTask) throws -> PolicyFile {
        let file: PolicyFile
        do { file = try PolicyFile.load(path: path) } catch {
            throw TrainerError.io(path: path, problem: "\(error)".replacingOccurrences(of: "\(path): ", with: ""))
        }
        guard file.observationSize == task.observationSize, file.actionSize == task.actionSize else {
            throw TrainerError.incompatibleCheckpoint(
                path: path,
                problem: "policy takes \(file.observationSize) observations and gives \(file.actionSize) actions, task \"\(task.name)\" has \(task.observationSize) and \(task.actionSize); pass a policy trained for \(task.name), or omit --policy to start from the simulator-trained one")
        }
        return file
    }

    /// Checks the policy gives finite actions for `observation` (a NaN policy is refused up
    /// front; one published later is caught by the safety layer).
    public static func checkFinite(_ policy: DeterministicPolicy, observation: [Float], path: String) throws {
        var action = [Float](repeating: 0, count: policy.actionSize)
        observation.withUnsafeBufferPointer { o in
            action.withUnsafeMutableBufferPointer { a in policy.act(observation: o.baseAddress!, action: a.baseAddress!) }
        }
        guard action.allSatisfy(\.isFinite) else {
            throw TrainerError.incompatibleCheckpoint(
                path: path, problem: "the policy outputs a non-finite action (\(action)) for the start observation \(observation); it would never reach the motors — retrain or pass another policy")
        }
    }

    /// The simulator-trained agent for `task`: read from `cacheDirectory` when an earlier run
    /// trained it with the same plan, otherwise trained now (SAC, onboard simulator only) and
    /// cached. Returns the checkpoint, its simulator return and whether it came from the cache.
    public static func simulatorTrained<T: SimulatedTask>(
        task: T, plan: SimPretraining.Plan, cacheDirectory: String, progress: (Int, Int, Double?) -> Void
    ) throws -> (checkpoint: SafeTensors, simulatorReturn: Double, cachedPath: String, fromCache: Bool) {
        let key = plan.cacheKey(taskDescription: "\(task.name)|\(task.parameters)")
        let path = (cacheDirectory as NSString).appendingPathComponent("\(task.name)-sim-agent-\(key).safetensors")
        if FileManager.default.fileExists(atPath: path), let cached = try? AgentFile.read(path: path),
            let ret = cached.metadata["provenance.sim_return"].flatMap(Double.init)
        {
            return (cached, ret, path, true)
        }
        let result = try SimPretraining.train(task: task, plan: plan, progress: progress)
        do {
            try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            try result.checkpoint.writeDurably(path: path)
        } catch {
            throw TrainerError.io(path: path, problem: "cannot cache the simulator-trained agent (\(error)); check that \(cacheDirectory) is writable")
        }
        return (result.checkpoint, result.simulatorReturn, path, false)
    }

    /// The deployable policy of an agent checkpoint (identity normalisation).
    public static func policy(fromCheckpoint checkpoint: SafeTensors, actionScale: [Float], source: String) throws -> PolicyFile {
        let agent = try AgentFile.agent(from: checkpoint, source: source)
        return PolicyFile(
            network: agent.policy.clone(), head: .tanhGaussian, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
            actionScale: actionScale,
            provenance: ["algorithm": "sac-sim", "trained_in": "onboard simulator only", "source": source])
    }

    /// A fine-tuning learner: from the simulator-trained checkpoint (critics included) or, for
    /// a user policy, a fresh agent whose policy network and log-std scalars are the file's.
    /// `hyperparameters` (γ for the run's time scale) replace the checkpoint's.
    public static func learner<T: SimulatedTask>(
        task: T, checkpoint: SafeTensors?, policy: borrowing PolicyFile, hyperparameters: Hyperparameters,
        settings: OnRobotSettings, realCapacity: Int, source: String
    ) throws -> OnlineLearner<T> {
        var h = hyperparameters
        let agent: H2OAgent
        if var file = checkpoint {
            file.metadata["h2o.hyperparameters"] = h.jsonString
            agent = try AgentFile.agent(from: file, base: h, source: source)
        } else {
            let sizes = policy.network.shape.layerSizes
            guard policy.head == .tanhGaussian, sizes.count == 4, sizes[1] == sizes[2],
                policy.network.shape.activations == [.relu, .relu, .identity]
            else {
                throw TrainerError.incompatibleCheckpoint(
                    path: source,
                    problem: "fine-tuning needs a tanh-Gaussian policy S→H→H→2A with ReLU (this one is \(sizes), head \(policy.head.rawValue)); run with --no-finetune, or pass a policy trained by robotctl")
            }
            h.hiddenSize = sizes[1]
            var fresh = H2OAgent(observationSize: task.observationSize, actionSize: task.actionSize, hyperparameters: h, seed: settings.seed)
            fresh.policy.copyParameters(from: policy.network)
            fresh.logStd[0] = policy.logStdScale
            fresh.logStd[1] = policy.logStdBias
            agent = fresh
        }
        var seeds = TrainerRandom(seed: settings.seed &+ 7)
        let random = seeds.fork(1)
        let real = ReplayBuffer(
            observationSize: task.observationSize, actionSize: task.actionSize, capacity: max(1, realCapacity),
            overflow: .overwriteOldest)
        return try Learner(
            algorithm: .h2oPlus, hyperparameters: h, agent: agent, real: real, simCapacity: settings.simBufferCapacity,
            simEnvironment: SimEnvironment(task: task, seed: seeds.next()), random: random,
            observationMean: policy.observationMean, observationStd: policy.observationStd)
    }

    /// Real transitions of earlier datasets (`--dataset DIR`), paired by the one rule
    /// (`TransitionPairing`) straight from the files, with each dataset's episode table
    /// applied (discarded "redo" episodes never reach the trainer). `decisionTicks` as in
    /// `RunRecorder`: records per transition (the policy's time step). Before anything is fed,
    /// each dataset is validated against `recording` (the run's own schema): task, sizes,
    /// robot id, calibration hash and control rate must match and every record must be
    /// finite; otherwise it throws one line naming the dataset, the problem and the fix.
    public static func loadPriorData<T: SimulatedTask>(
        _ directories: [String], into learner: OnlineLearner<T>, recording: DatasetSchema, decisionTicks: Int = 1
    ) throws -> Int {
        var readers: [(DatasetReader, EpisodeTable)] = []
        for dir in directories {
            let reader: DatasetReader
            let table: EpisodeTable
            do {
                reader = try DatasetReader(directory: dir)
                table = try reader.episodeTable()
            } catch { throw TrainerError.invalidDataset(path: dir, problem: "\(error)") }
            try validatePrior(reader, task: learner.simEnvironment.task, recording: recording)
            readers.append((reader, table))
        }
        var total = 0
        for (reader, table) in readers {
            reader.forEachTransition(decisionTicks: decisionTicks, episodes: table) { t in
                learner.addReal(observation: t.observation.baseAddress!, action: t.action.baseAddress!, reward: t.reward,
                                nextObservation: t.nextObservation.baseAddress!, terminal: t.terminal)
                total += 1
            }
        }
        return total
    }

    /// Refuses a prior dataset that does not fit this run or holds non-finite values.
    static func validatePrior(_ reader: DatasetReader, task: some SimulatedTask, recording: DatasetSchema) throws {
        let dir = reader.directory
        let s = reader.schema
        guard s.task == task.name, s.observationCount == task.observationSize, s.actionCount == task.actionSize else {
            throw TrainerError.invalidDataset(
                path: dir, problem: "was recorded for task \"\(s.task)\" with \(s.observationCount)+\(s.actionCount) values, this run is \"\(task.name)\"; pass datasets of the same task")
        }
        guard s.robotID == recording.robotID else {
            throw TrainerError.invalidDataset(
                path: dir, problem: "was recorded on robot \"\(s.robotID)\", this run drives \"\(recording.robotID)\"; pass datasets of this robot")
        }
        guard s.calibrationHash == recording.calibrationHash else {
            throw TrainerError.invalidDataset(
                path: dir, problem: "was recorded with calibration hash \(s.calibrationHash.isEmpty ? "\"\" (none)" : String(s.calibrationHash.prefix(12))), this run's calibration is \(recording.calibrationHash.isEmpty ? "\"\" (none)" : String(recording.calibrationHash.prefix(12))); pass datasets recorded with this calibration")
        }
        guard abs(s.controlRateHz - recording.controlRateHz) <= 1e-9 * max(1, recording.controlRateHz) else {
            throw TrainerError.invalidDataset(
                path: dir, problem: "was recorded at \(s.controlRateHz) Hz, this run is at \(recording.controlRateHz) Hz; pass datasets recorded at this rate")
        }
        var bad = 0
        var firstTick: UInt64 = 0
        reader.forEach { h, o, a in
            if h.flags.contains(.nonFinite) || !h.reward.isFinite || !o.allSatisfy(\.isFinite) || !a.allSatisfy(\.isFinite) {
                if bad == 0 { firstTick = h.tick }
                bad += 1
            }
        }
        guard bad == 0 else {
            throw TrainerError.invalidDataset(
                path: dir, problem: "\(bad) record(s) hold NaN or infinite values (the first at tick \(firstTick)); training on them diverges — export the finite transitions with `robotctl dataset export` and import them into a new dataset, or leave this one out")
        }
    }
}
