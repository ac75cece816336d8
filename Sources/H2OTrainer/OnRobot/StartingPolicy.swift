import Control
import FixedNN
import Foundation

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
    ) throws -> (checkpoint: TensorFile, simulatorReturn: Double, cachedPath: String, fromCache: Bool) {
        let key = plan.cacheKey(taskDescription: "\(task.name)|\(task.parameters)")
        let path = (cacheDirectory as NSString).appendingPathComponent("\(task.name)-sim-agent-\(key).safetensors")
        if FileManager.default.fileExists(atPath: path), let cached = try? TensorFile.read(path: path),
            let ret = cached.metadata["provenance.sim_return"].flatMap(Double.init)
        {
            return (cached, ret, path, true)
        }
        let result = try SimPretraining.train(task: task, plan: plan, progress: progress)
        do {
            try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            try result.checkpoint.write(path: path)
        } catch {
            throw TrainerError.io(path: path, problem: "cannot cache the simulator-trained agent (\(error)); check that \(cacheDirectory) is writable")
        }
        return (result.checkpoint, result.simulatorReturn, path, false)
    }

    /// The deployable policy of an agent checkpoint (identity normalisation).
    public static func policy(fromCheckpoint checkpoint: TensorFile, actionScale: [Float], source: String) throws -> PolicyFile {
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
        task: T, checkpoint: TensorFile?, policy: borrowing PolicyFile, hyperparameters: Hyperparameters,
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

    /// Real transitions of earlier datasets (`--dataset DIR`), as the recorder would hand them
    /// over: consecutive records of one episode. Throws naming a dataset that does not fit.
    /// `decisionTicks` as in `RunRecorder`: records per transition (the policy's time step).
    public static func loadPriorData<T: SimulatedTask>(_ directories: [String], into learner: OnlineLearner<T>, decisionTicks: Int = 1) throws -> Int {
        var total = 0
        for dir in directories {
            let reader: DatasetReader
            do { reader = try DatasetReader(directory: dir) } catch { throw TrainerError.invalidDataset(path: dir, problem: "\(error)") }
            let task = learner.simEnvironment.task
            guard reader.schema.task == task.name, reader.schema.observationCount == task.observationSize,
                reader.schema.actionCount == task.actionSize
            else {
                throw TrainerError.invalidDataset(
                    path: dir, problem: "was recorded for task \"\(reader.schema.task)\" with \(reader.schema.observationCount)+\(reader.schema.actionCount) values, this run is \"\(task.name)\"; pass datasets of the same task")
            }
            let ring = TransitionRing(capacity: 4, observationCount: reader.schema.observationCount, actionCount: reader.schema.actionCount)
            let recorder = RunRecorder(ring: ring, writer: nil, startNanos: 0, feedsTrainer: true, decisionTicks: decisionTicks)
            var pending = 0
            reader.forEach { h, o, a in
                _ = ring.push(h, observation: o.baseAddress!, action: a.baseAddress!)
                recorder.drainForLoading()
                pending += 1
                if pending >= 4096 {
                    total += feed(recorder.takeTransitions(), learner)
                    pending = 0
                }
            }
            total += feed(recorder.takeTransitions(), learner)
        }
        return total
    }

    static func feed<T: SimulatedTask>(_ p: RunRecorder.Pending, _ learner: OnlineLearner<T>) -> Int {
        let S = learner.simEnvironment.observationSize, A = learner.simEnvironment.actionSize
        p.observations.withUnsafeBufferPointer { o in
            p.actions.withUnsafeBufferPointer { a in
                p.nextObservations.withUnsafeBufferPointer { n in
                    for i in 0..<p.count {
                        learner.addReal(observation: o.baseAddress! + i * S, action: a.baseAddress! + i * A, reward: p.rewards[i],
                                        nextObservation: n.baseAddress! + i * S, terminal: p.terminals[i])
                    }
                }
            }
        }
        return p.count
    }
}
