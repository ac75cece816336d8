import Control
import FixedNN
import Foundation

/// The learner a trainer thread drives: one agent, its step, the real and sim replay
/// buffers and an onboard-simulator environment with rollout scratch. Used for the SAC
/// pre-training in the simulator (`algorithm: .sacSim`) and for on-robot H2O+ fine-tuning.
///
/// Observations are stored normalised with the policy's `(obs − mean)/std`, so the agent's
/// networks see exactly what the deployed `DeterministicPolicy` feeds its network.
///
/// Thread contract: one thread at a time (the trainer thread). Allocation: `init` allocates;
/// `collectSim`, `update`, `addReal` and `evaluateSim` do not.
public final class OnRobotLearner<Task: SimulatedTask>: @unchecked Sendable {
    /// The onboard simulator's task (replaced by `replaceSimulator` when calibrated on the robot).
    public private(set) var task: Task
    public let algorithm: Algorithm
    public var agent: H2OAgent
    var step: H2OStep
    /// The same step with λ = 0 (no V in the target), for the warm-up (`warmupUpdate`).
    var warmupStep: H2OStep
    var inputs: StepInputs
    public var real: ReplayBuffer
    public var sim: ReplayBuffer
    var random: TrainerRandom
    var environment: SimEnvironment<Task>
    var evaluation: SimEnvironment<Task>
    /// Seed of the evaluation starts: every `evaluateSim` call sees the same episodes, so
    /// candidates are compared on equal terms.
    let evaluationSeed: UInt64
    let mean: [Float]
    let inverseStd: [Float]
    // Rollout scratch.
    let rawObservation: UnsafeMutablePointer<Float>
    let observation: UnsafeMutablePointer<Float>
    let nextObservation: UnsafeMutablePointer<Float>
    let action: UnsafeMutablePointer<Float>
    let noise: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    var scratch: InferenceScratch
    var episodeReturn = 0.0
    /// Returns of the finished stochastic sim episodes (newest last).
    public private(set) var simEpisodeReturns: [Double] = []

    /// A learner around `agent` (whose policy must be S→H→H→2A for the task's sizes).
    /// `realCapacity` bounds the real buffer. Allocates.
    public init(
        task: Task, agent: consuming H2OAgent, algorithm: Algorithm, realCapacity: Int, simCapacity: Int,
        observationMean: [Float]? = nil, observationStd: [Float]? = nil, seed: UInt64
    ) {
        let S = task.observationSize, A = task.actionSize
        precondition(agent.observationSize == S && agent.actionSize == A, "agent sizes differ from the task's")
        let stepInputs = StepInputs(algorithm: algorithm, observationSize: S, actionSize: A, hyperparameters: agent.hyperparameters)
        step = H2OStep(agent: agent, inputs: stepInputs)
        var noExploit = agent.hyperparameters
        noExploit.exploitCoefficient = 0
        warmupStep = H2OStep(agent: H2OAgent(observationSize: S, actionSize: A, hyperparameters: noExploit, seed: 0), inputs: stepInputs)
        scratch = InferenceScratch(shape: agent.policy.shape)
        inputs = stepInputs
        self.task = task
        self.algorithm = algorithm
        self.agent = agent
        real = ReplayBuffer(observationSize: S, actionSize: A, capacity: max(1, realCapacity), overflow: .overwriteOldest)
        sim = ReplayBuffer(observationSize: S, actionSize: A, capacity: max(1, simCapacity), overflow: .overwriteOldest)
        var seeds = TrainerRandom(seed: seed)
        random = seeds.fork(1)
        environment = SimEnvironment(task: task, seed: seeds.next())
        evaluationSeed = seeds.next()
        evaluation = SimEnvironment(task: task, seed: evaluationSeed)
        mean = observationMean ?? [Float](repeating: 0, count: S)
        inverseStd = (observationStd ?? [Float](repeating: 1, count: S)).map { 1 / $0 }
        rawObservation = .allocate(capacity: S)
        observation = .allocate(capacity: S)
        nextObservation = .allocate(capacity: S)
        action = .allocate(capacity: A)
        noise = .allocate(capacity: A)
        output = .allocate(capacity: 2 * A)
        simEpisodeReturns.reserveCapacity(100_000)
        environment.reset(observation: rawObservation)
        normalise(rawObservation, into: observation)
    }

    deinit {
        rawObservation.deallocate()
        observation.deallocate()
        nextObservation.deallocate()
        action.deallocate()
        noise.deallocate()
        output.deallocate()
    }

    /// Writes `(raw − mean)/std`. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    func normalise(_ raw: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<task.observationSize { out[i] = (raw[i] - mean[i]) * inverseStd[i] }
    }

    /// Appends one real transition given in raw (unnormalised) observations.
    /// Real-time safe: does not allocate, lock or throw.
    public func addReal(
        observation raw: UnsafePointer<Float>, action a: UnsafePointer<Float>, reward: Float,
        nextObservation rawNext: UnsafePointer<Float>, terminal: Bool
    ) {
        normalise(raw, into: rawObservation)
        normalise(rawNext, into: nextObservation)
        real.append(observation: rawObservation, action: a, reward: reward, nextObservation: nextObservation, terminal: terminal)
    }

    /// `count` onboard-simulator steps with the current stochastic policy into the sim FIFO.
    /// Real-time safe: does not allocate, lock or throw.
    public func collectSim(_ count: Int) {
        let A = task.actionSize
        for _ in 0..<count {
            agent.policy.infer(observation, into: output, scratch: &scratch)
            for j in 0..<A { noise[j] = random.normal() }
            _ = TanhGaussianHead.sampleAction(
                networkOutput: output, actionSize: A, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
                noise: noise, into: action)
            let outcome = environment.step(action: action, observation: rawObservation)
            normalise(rawObservation, into: nextObservation)
            sim.append(observation: observation, action: action, reward: Float(outcome.reward),
                       nextObservation: nextObservation, terminal: outcome.terminated)
            episodeReturn += outcome.reward
            if outcome.terminated || outcome.truncated {
                if simEpisodeReturns.count < simEpisodeReturns.capacity { simEpisodeReturns.append(episodeReturn) }
                episodeReturn = 0
                environment.reset(observation: rawObservation)
                normalise(rawObservation, into: observation)
            } else {
                observation.update(from: nextObservation, count: task.observationSize)
            }
        }
    }

    /// True when the buffers this algorithm samples hold at least a batch.
    public var canUpdate: Bool {
        let b = agent.hyperparameters.batchSize
        switch algorithm {
        case .sacSim: return sim.count >= b
        case .iqlReal: return real.count >= b
        case .h2oPlus, .h2o: return sim.count >= b && real.count >= b
        }
    }

    /// One update; returns its losses. Precondition: `canUpdate`.
    /// Real-time safe: does not allocate, lock or throw.
    public func update() -> StepLosses {
        inputs.sample(real: real, sim: sim, using: &random)
        return step.run(&agent, inputs)
    }

    /// One warm-up update: the discriminators, both critics (target with λ = 0: V plays no
    /// part yet) and V are trained; the policy, its log-std scalars and α are left as they
    /// are. H2O+ fine-tuning starts with it because V is untrained (simulator pre-training has
    /// no V) and would bias the mixed target, and critics trained at another time scale must
    /// settle before they steer the policy. Precondition: `canUpdate`, algorithm `.h2oPlus`.
    /// Real-time safe: does not allocate, lock or throw.
    public func warmupUpdate() -> StepLosses {
        inputs.sample(real: real, sim: sim, using: &random)
        var losses = StepLosses()
        let (lSA, lSAS) = warmupStep.discriminatorGradients(agent, inputs)
        losses.discriminatorSA = lSA
        losses.discriminatorSAS = lSAS
        Self.applyDiscriminators(&agent, warmupStep)
        losses.simWeightMean = warmupStep.computeSimWeights(agent, inputs)
        warmupStep.learnerGradients(agent, inputs, into: &losses)
        Self.applyCriticsAndValue(&agent, warmupStep)
        return losses
    }

    static func applyDiscriminators(_ a: inout H2OAgent, _ step: borrowing H2OStep) {
        a.discriminatorSAOptimizer.step(&a.discriminatorSA.parameters, gradient: step.gradDiscSA)
        a.discriminatorSASOptimizer.step(&a.discriminatorSAS.parameters, gradient: step.gradDiscSAS)
    }

    static func applyCriticsAndValue(_ a: inout H2OAgent, _ step: borrowing H2OStep) {
        a.valueOptimizer.step(&a.value.parameters, gradient: step.gradValue)
        a.q1Optimizer.step(&a.q1.parameters, gradient: step.gradQ1)
        a.q2Optimizer.step(&a.q2.parameters, gradient: step.gradQ2)
        let rate = Float(a.hyperparameters.polyak)
        a.q1Target.polyakUpdate(toward: a.q1, rate: rate)
        a.q2Target.polyakUpdate(toward: a.q2, rate: rate)
    }

    /// Replaces the onboard simulator (e.g. with parameters identified on the robot): new
    /// rollout and evaluation environments, the sim FIFO emptied (its transitions came from
    /// the old dynamics), the rollout restarted. The agent is kept. Allocates.
    public func replaceSimulator(_ newTask: Task) {
        precondition(newTask.observationSize == task.observationSize && newTask.actionSize == task.actionSize, "simulator sizes differ")
        task = newTask
        var seeds = random.fork(2)
        environment = SimEnvironment(task: newTask, seed: seeds.next())
        evaluation = SimEnvironment(task: newTask, seed: evaluationSeed)
        sim.removeAll()
        episodeReturn = 0
        environment.reset(observation: rawObservation)
        normalise(rawObservation, into: observation)
    }

    /// Mean undiscounted return of `episodes` deterministic episodes in the onboard simulator,
    /// from the same start states at every call (the evaluation stream is reseeded).
    /// Real-time safe: does not allocate, lock or throw.
    public func evaluateSim(episodes: Int) -> Double {
        evaluation.random = SimRandom(seed: evaluationSeed)
        var total = 0.0
        for _ in 0..<episodes {
            evaluation.reset(observation: rawObservation)
            while true {
                normalise(rawObservation, into: nextObservation)
                agent.policy.infer(nextObservation, into: output, scratch: &scratch)
                TanhGaussianHead.deterministicAction(networkOutput: output, actionSize: task.actionSize, into: action)
                let o = evaluation.step(action: action, observation: rawObservation)
                total += o.reward
                if o.terminated || o.truncated { break }
            }
        }
        return total / Double(max(1, episodes))
    }

    /// The deployable policy: the agent's policy network with this learner's normalisation
    /// and the task's action scale. Allocates.
    public func policyFile(actionScale: [Float], provenance: [String: String]) -> PolicyFile {
        PolicyFile(
            network: agent.policy.clone(), head: .tanhGaussian, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
            observationMean: mean, observationStd: inverseStd.map { 1 / $0 }, actionScale: actionScale,
            provenance: provenance)
    }
}
