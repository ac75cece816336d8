import FixedNN
import Foundation

/// The trainer loop of `robotctl train` (and of the trainer thread): per epoch, K steps of the
/// stochastic policy in the onboard simulator into the sim FIFO, then M updates on real + sim
/// batches; every N epochs the deterministic policy is evaluated; after every epoch a
/// checkpoint and a metrics row are written.
///
/// Thread contract: one thread drives a run. `collect`, `update` and `evaluate` allocate
/// nothing; `runEpoch` allocates only for the metrics row and checkpoint files.
public final class TrainingRun<SimEnv: TaskEnvironment, EvalEnv: TaskEnvironment> {
    public let algorithm: Algorithm
    public let hyperparameters: Hyperparameters
    public private(set) var agent: H2OAgent
    var step: H2OStep
    var inputs: StepInputs
    /// The real set (full weight): grows with `appendReal` up to its capacity.
    public private(set) var real: ReplayBuffer
    /// The sim FIFO.
    public private(set) var sim: ReplayBuffer
    var simEnvironment: SimEnv
    var evalEnvironment: EvalEnv
    var random: TrainerRandom
    var scratch: InferenceScratch
    let observation: UnsafeMutablePointer<Float>
    let nextObservation: UnsafeMutablePointer<Float>
    let action: UnsafeMutablePointer<Float>
    let networkOutput: UnsafeMutablePointer<Float>
    let noise: UnsafeMutablePointer<Float>
    var episodeTick = 0
    /// Epochs completed (restored from a checkpoint on resume).
    public private(set) var epoch = 0
    /// Sum of the losses since the last `drainLossMeans`.
    var lossSums = [Double](repeating: 0, count: StepLosses.names.count)
    var lossCount = 0

    /// A run of `algorithm` on `real` (moved in) with a sim FIFO of `simBufferRatio × real`
    /// capacity. `agent` nil starts fresh from `hyperparameters.seed`. `stepThreads` 2 runs each
    /// update on two threads (bit-identical results). Allocates.
    public init(
        algorithm: Algorithm, hyperparameters h: Hyperparameters, real: consuming ReplayBuffer, agent: consuming H2OAgent?,
        simEnvironment: SimEnv, evalEnvironment: EvalEnv, startEpoch: Int = 0, stepThreads: Int = 1
    ) throws {
        try h.validate()
        let S = simEnvironment.observationSize, A = simEnvironment.actionSize
        guard real.observationSize == S, real.actionSize == A else {
            throw TrainerError.invalidDataset(
                path: "real data", problem: "transitions have S=\(real.observationSize), A=\(real.actionSize) but the task has S=\(S), A=\(A)")
        }
        if algorithm != .sacSim && real.count == 0 {
            throw TrainerError.invalidDataset(path: "real data", problem: "the real set is empty; \(algorithm.rawValue) needs real transitions")
        }
        self.algorithm = algorithm
        hyperparameters = h
        switch consume agent {
        case .some(let given): self.agent = given
        case .none: self.agent = H2OAgent(observationSize: S, actionSize: A, hyperparameters: h, seed: h.seed)
        }
        inputs = StepInputs(algorithm: algorithm, observationSize: S, actionSize: A, hyperparameters: h)
        step = try H2OStep(agent: self.agent, inputs: inputs, threads: stepThreads)
        sim = ReplayBuffer(
            observationSize: S, actionSize: A, capacity: max(h.batchSize, h.simBufferRatio * max(real.capacity, 1)),
            overflow: .overwriteOldest)
        self.real = real
        self.simEnvironment = simEnvironment
        self.evalEnvironment = evalEnvironment
        random = TrainerRandom(seed: h.seed &+ UInt64(startEpoch) &* 0x9E37_79B9)
        scratch = InferenceScratch(shape: self.agent.policy.shape)
        observation = .allocate(capacity: S)
        nextObservation = .allocate(capacity: S)
        action = .allocate(capacity: A)
        networkOutput = .allocate(capacity: 2 * A)
        noise = .allocate(capacity: A)
        epoch = startEpoch
        self.simEnvironment.reset(observation: observation)
    }

    deinit {
        observation.deallocate()
        nextObservation.deallocate()
        action.deallocate()
        networkOutput.deallocate()
        noise.deallocate()
    }

    // MARK: Pieces (allocation-free)

    /// `count` sim steps with the stochastic policy into the sim FIFO (episodes reset on a
    /// terminal or a time-out; time-outs are not stored as terminals).
    public func collect(_ count: Int) {
        let A = simEnvironment.actionSize
        for _ in 0..<count {
            agent.policy.infer(observation, into: networkOutput, scratch: &scratch)
            for j in 0..<A { noise[j] = random.normal() }
            _ = TanhGaussianHead.sampleAction(
                networkOutput: networkOutput, actionSize: A, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
                noise: noise, into: action)
            let outcome = simEnvironment.step(action: action, observation: nextObservation)
            sim.append(
                observation: observation, action: action, reward: Float(outcome.reward), nextObservation: nextObservation,
                terminal: outcome.terminated)
            if outcome.terminated || outcome.truncated {
                simEnvironment.reset(observation: observation)
            } else {
                observation.update(from: nextObservation, count: simEnvironment.observationSize)
            }
        }
    }

    /// One update on a freshly sampled batch. Throws `nonFiniteLoss` (naming the update and
    /// the loss) when a loss is NaN or infinite; the agent is then not to be saved.
    @discardableResult
    public func update() throws(TrainerError) -> StepLosses {
        inputs.sample(real: real, sim: sim, using: &random)
        let losses = step.run(&agent, inputs)
        if let bad = losses.firstNonFinite {
            throw .nonFiniteLoss(step: agent.updateCount, loss: bad.name, value: bad.value)
        }
        for i in 0..<StepLosses.names.count { lossSums[i] += Double(losses.value(at: i)) }
        lossCount += 1
        return losses
    }

    /// Mean undiscounted return of `episodes` deterministic (tanh μ) episodes in the
    /// evaluation environment.
    public func evaluate(episodes: Int) -> Double {
        let A = evalEnvironment.actionSize
        var total = 0.0
        for _ in 0..<episodes {
            evalEnvironment.reset(observation: observation)
            while true {
                agent.policy.infer(observation, into: networkOutput, scratch: &scratch)
                TanhGaussianHead.deterministicAction(networkOutput: networkOutput, actionSize: A, into: action)
                let outcome = evalEnvironment.step(action: action, observation: observation)
                total += outcome.reward
                if outcome.terminated || outcome.truncated { break }
            }
        }
        simEnvironment.reset(observation: observation)
        return total / Double(max(episodes, 1))
    }

    /// The current policy's action for `observation`: tanh μ, or with `stochastic` a sample
    /// drawn from the run's random stream (as `collect` does), for rollouts in environments
    /// the run does not own. Allocation-free.
    public func act(observation o: UnsafePointer<Float>, into a: UnsafeMutablePointer<Float>, stochastic: Bool) {
        let A = agent.actionSize
        agent.policy.infer(o, into: networkOutput, scratch: &scratch)
        if stochastic {
            for j in 0..<A { noise[j] = random.normal() }
            _ = TanhGaussianHead.sampleAction(
                networkOutput: networkOutput, actionSize: A, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
                noise: noise, into: a)
        } else {
            TanhGaussianHead.deterministicAction(networkOutput: networkOutput, actionSize: A, into: a)
        }
    }

    /// Appends one real transition (e.g. logged while the robot runs). Returns false when the
    /// real set is full. Real-time safe: does not allocate, lock or throw.
    @discardableResult
    public func appendReal(
        observation o: UnsafePointer<Float>, action a: UnsafePointer<Float>, reward: Float, nextObservation n: UnsafePointer<Float>,
        terminal: Bool
    ) -> Bool {
        real.append(observation: o, action: a, reward: reward, nextObservation: n, terminal: terminal)
    }

    /// Fills the sim FIFO with `count` steps before the first update (so sampling never sees
    /// an empty buffer).
    public func warmUp(simSteps count: Int) { collect(max(count, 1)) }

    // MARK: Epochs

    /// The metrics row of one epoch.
    public struct EpochReport: Sendable {
        public var epoch: Int
        public var updates: Int
        public var simTransitions: Int
        public var means: [(String, Double)]
        public var evalReturn: Double?
        public var updatesPerSecond: Double
    }

    /// One epoch: K sim steps, M updates, optional evaluation. Throws on a non-finite loss.
    public func runEpoch() throws(TrainerError) -> EpochReport {
        let h = hyperparameters
        collect(h.simStepsPerEpoch)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<h.updatesPerEpoch { try update() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        epoch += 1
        var evalReturn: Double? = nil
        if epoch % h.evaluateEveryEpochs == 0 { evalReturn = evaluate(episodes: h.evaluationEpisodes) }
        let names = StepLosses.names
        let means = zip(names, lossSums).map { ($0, $1 / Double(max(lossCount, 1))) }
        for i in lossSums.indices { lossSums[i] = 0 }
        lossCount = 0
        return EpochReport(
            epoch: epoch, updates: agent.updateCount, simTransitions: sim.appended, means: means, evalReturn: evalReturn,
            updatesPerSecond: Double(h.updatesPerEpoch) / max(seconds, 1e-9))
    }

    /// The agent as a checkpoint (AgentFile layout plus `h2o.epoch`).
    public func checkpoint() -> SafeTensors {
        AgentFile.tensors(of: agent, algorithm: algorithm, extraMetadata: ["h2o.epoch": String(epoch)])
    }

    /// The deterministic policy for the control loop / `robotctl run`.
    public func policyFile(provenance: [String: String]) -> PolicyFile {
        PolicyFile(
            network: agent.policy.clone(), head: .tanhGaussian, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
            provenance: provenance)
    }

    /// The policy network's parameters (FixedNN layout) for publishing into a policy slot.
    public func withPolicyParameters<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: agent.policy.parameters.baseAddress, count: agent.policy.parameters.count))
    }

    /// True when every parameter of the agent is finite.
    public var agentIsFinite: Bool { agent.allFinite }
}
