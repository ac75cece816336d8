import Control
import FixedNN
import Foundation
import SystemSupport
import Tasks

/// How one update trains the agent.
public enum UpdateMode: Sendable, Equatable {
    /// The algorithm's full step: every network, m and c, and α.
    case full
    /// The critics-only warm-up of H2O+ fine-tuning: the discriminators, both critics (their
    /// target with λ = 0, so V plays no part in it yet) and V train; the policy, its log-std
    /// scalars and α are left as they are. Used when V is untrained (simulator pre-training has
    /// none) and critics trained at another time scale must settle before they steer the policy.
    case criticsOnly
}

/// The one learner of the project, used by `robotctl train` (through ``TrainingRun``),
/// `robotctl run` on the robot (through ``OnlineTrainer``), simulator pre-training and the gap
/// benchmark: one agent, its H2O+ step, the real set and the sim FIFO, an onboard-simulator
/// environment the stochastic policy collects in, and optional observation normalisation.
///
/// Normalisation: with `observationMean`/`observationStd`, every stored observation is
/// `(raw − mean)/std`, so the networks see exactly what the deployed `DeterministicPolicy`
/// feeds its network; without them the raw observations are stored (identity).
///
/// Thread contract: one thread at a time (the trainer's). Allocation: `init` allocates;
/// `collect`, `update`, `addReal`, `act` and `evaluate` do not, lock nothing and throw nothing.
public final class Learner<SimEnv: TaskEnvironment>: @unchecked Sendable {
    public let algorithm: Algorithm
    /// The agent: networks, targets, logα, m and c, and their optimisers.
    public var agent: H2OAgent
    var step: H2OPlusStep
    var inputs: StepInputs
    /// The real set (full weight).
    public private(set) var real: ReplayBuffer
    /// The sim FIFO.
    public private(set) var sim: ReplayBuffer
    /// The onboard simulator the stochastic policy collects in (replaced by `replaceSimulator`).
    public private(set) var simEnvironment: SimEnv
    var random: TrainerRandom
    let mean: [Float]
    let inverseStd: [Float]
    /// True when observations are stored normalised.
    public let normalises: Bool
    // Rollout scratch.
    let rawObservation: UnsafeMutablePointer<Float>
    let observation: UnsafeMutablePointer<Float>
    let nextObservation: UnsafeMutablePointer<Float>
    let action: UnsafeMutablePointer<Float>
    let noise: UnsafeMutablePointer<Float>
    let networkOutput: UnsafeMutablePointer<Float>
    var scratch: InferenceScratch
    var episodeReturn = 0.0
    /// Returns of the finished stochastic sim episodes (newest last; at most 100 000 kept).
    public private(set) var simEpisodeReturns: [Double] = []

    /// A learner of `algorithm` around `agent` (nil: a fresh agent from `hyperparameters.seed`)
    /// on `real` (moved in), with a sim FIFO of `simCapacity` transitions. `random` is the
    /// stream of batches and exploration noise. `stepThreads` 2 runs each update on two threads
    /// (bit-identical results; `workerCPU` pins the second). Allocates; throws if the step's
    /// worker thread cannot start.
    public init(
        algorithm: Algorithm, hyperparameters h: Hyperparameters, agent: consuming H2OAgent?, real: consuming ReplayBuffer,
        simCapacity: Int, simEnvironment: SimEnv, random: TrainerRandom, observationMean: [Float]? = nil,
        observationStd: [Float]? = nil, stepThreads: Int = 1, workerCPU: Int32? = nil
    ) throws(SystemError) {
        let S = simEnvironment.observationSize, A = simEnvironment.actionSize
        precondition(real.observationSize == S && real.actionSize == A, "real set sizes differ from the simulator's")
        self.algorithm = algorithm
        switch consume agent {
        case .some(let given): self.agent = given
        case .none: self.agent = H2OAgent(observationSize: S, actionSize: A, hyperparameters: h, seed: h.seed)
        }
        precondition(self.agent.observationSize == S && self.agent.actionSize == A, "agent sizes differ from the simulator's")
        inputs = StepInputs(algorithm: algorithm, observationSize: S, actionSize: A, hyperparameters: self.agent.hyperparameters)
        step = try H2OPlusStep(agent: self.agent, inputs: inputs, threads: stepThreads, workerCPU: workerCPU)
        self.real = real
        sim = ReplayBuffer(observationSize: S, actionSize: A, capacity: max(1, simCapacity), overflow: .overwriteOldest)
        self.simEnvironment = simEnvironment
        self.random = random
        normalises = observationMean != nil || observationStd != nil
        mean = observationMean ?? [Float](repeating: 0, count: S)
        inverseStd = (observationStd ?? [Float](repeating: 1, count: S)).map { 1 / $0 }
        scratch = InferenceScratch(shape: self.agent.policy.shape)
        rawObservation = .allocate(capacity: S)
        observation = .allocate(capacity: S)
        nextObservation = .allocate(capacity: S)
        action = .allocate(capacity: A)
        noise = .allocate(capacity: A)
        networkOutput = .allocate(capacity: 2 * A)
        simEpisodeReturns.reserveCapacity(100_000)
        restartRollout()
    }

    deinit {
        rawObservation.deallocate()
        observation.deallocate()
        nextObservation.deallocate()
        action.deallocate()
        noise.deallocate()
        networkOutput.deallocate()
    }

    /// The hyperparameters of the agent.
    public var hyperparameters: Hyperparameters { agent.hyperparameters }

    /// Writes `(raw − mean)/std`. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    func normalise(_ raw: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<simEnvironment.observationSize { out[i] = (raw[i] - mean[i]) * inverseStd[i] }
    }

    func restartRollout() {
        episodeReturn = 0
        simEnvironment.reset(observation: rawObservation)
        normalise(rawObservation, into: observation)
    }

    // MARK: Data

    /// Appends one real transition given in raw (unnormalised) observations. Returns false
    /// when the real set is full and refuses more. Real-time safe: does not allocate, lock or throw.
    @discardableResult
    public func addReal(
        observation raw: UnsafePointer<Float>, action a: UnsafePointer<Float>, reward: Float,
        nextObservation rawNext: UnsafePointer<Float>, terminal: Bool
    ) -> Bool {
        normalise(raw, into: rawObservation)
        normalise(rawNext, into: nextObservation)
        return real.append(
            observation: rawObservation, action: a, reward: reward, nextObservation: nextObservation, terminal: terminal)
    }

    /// `count` onboard-simulator steps with the current stochastic policy into the sim FIFO
    /// (episodes reset on a terminal or a time-out; time-outs are not stored as terminals).
    /// Real-time safe: does not allocate, lock or throw.
    public func collect(_ count: Int) {
        let A = simEnvironment.actionSize
        for _ in 0..<count {
            agent.policy.infer(observation, into: networkOutput, scratch: &scratch)
            for j in 0..<A { noise[j] = random.normal() }
            _ = TanhGaussianHead.sampleAction(
                networkOutput: networkOutput, actionSize: A, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
                noise: noise, into: action)
            let outcome = simEnvironment.step(action: action, observation: rawObservation)
            normalise(rawObservation, into: nextObservation)
            sim.append(
                observation: observation, action: action, reward: Float(outcome.reward), nextObservation: nextObservation,
                terminal: outcome.terminated)
            episodeReturn += outcome.reward
            if outcome.terminated || outcome.truncated {
                if simEpisodeReturns.count < simEpisodeReturns.capacity { simEpisodeReturns.append(episodeReturn) }
                restartRollout()
            } else {
                observation.update(from: nextObservation, count: simEnvironment.observationSize)
            }
        }
    }

    /// Replaces the onboard simulator (e.g. with parameters identified on the robot): the sim
    /// FIFO is emptied (its transitions came from the old dynamics) and the rollout restarts.
    /// The agent is kept. Real-time safe: does not allocate, lock or throw.
    public func replaceSimulator(_ environment: SimEnv) {
        precondition(
            environment.observationSize == simEnvironment.observationSize && environment.actionSize == simEnvironment.actionSize,
            "simulator sizes differ")
        simEnvironment = environment
        sim.removeAll()
        restartRollout()
    }

    // MARK: Updates

    /// True when the buffers this algorithm samples hold at least a batch.
    public var canUpdate: Bool {
        let b = agent.hyperparameters.batchSize
        switch algorithm {
        case .sacSim: return sim.count >= b
        case .iqlReal: return real.count >= b
        case .h2oPlus, .h2o: return sim.count >= b && real.count >= b
        }
    }

    /// One update on a freshly sampled batch; returns its losses (from the parameters before
    /// the update). The caller checks `firstNonFinite`. Preconditions: the buffers the
    /// algorithm samples are not empty; `.criticsOnly` only for H2O+.
    /// Real-time safe: does not allocate, lock or throw.
    public func update(_ mode: UpdateMode = .full) -> StepLosses {
        inputs.sample(real: real, sim: sim, using: &random)
        return step.run(&agent, inputs, mode: mode)
    }

    /// Threads each update runs on.
    public var stepThreads: Int { step.threadCount }

    // MARK: Acting and evaluation

    /// The current policy's action for a raw `observation`: tanh μ, or with `stochastic` a
    /// sample drawn from the learner's random stream (as `collect` does).
    /// Real-time safe: does not allocate, lock or throw.
    public func act(observation o: UnsafePointer<Float>, into a: UnsafeMutablePointer<Float>, stochastic: Bool) {
        let A = agent.actionSize
        normalise(o, into: nextObservation)
        agent.policy.infer(nextObservation, into: networkOutput, scratch: &scratch)
        if stochastic {
            for j in 0..<A { noise[j] = random.normal() }
            _ = TanhGaussianHead.sampleAction(
                networkOutput: networkOutput, actionSize: A, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
                noise: noise, into: a)
        } else {
            TanhGaussianHead.deterministicAction(networkOutput: networkOutput, actionSize: A, into: a)
        }
    }

    /// Mean undiscounted return of `episodes` deterministic (tanh μ) episodes of the current
    /// policy in `environment` (any environment of the task's sizes: the onboard simulator, the
    /// emulated plant). Real-time safe: does not allocate, lock or throw.
    public func evaluate<E: TaskEnvironment>(in environment: inout E, episodes: Int) -> Double {
        meanEpisodeReturn(in: &environment, episodes: episodes, observation: rawObservation, action: action) { o, a in
            act(observation: o, into: a, stochastic: false)
        }
    }

    // MARK: Files

    /// The agent as a checkpoint (AgentFile layout plus `extraMetadata`). Allocates.
    public func checkpoint(extraMetadata: [String: String] = [:]) -> SafeTensors {
        AgentFile.tensors(of: agent, algorithm: algorithm, extraMetadata: extraMetadata)
    }

    /// The deployable policy: the agent's policy network with this learner's normalisation
    /// (none when it stores raw observations) and `actionScale` (nil: unit). Allocates.
    public func policyFile(actionScale: [Float]? = nil, provenance: [String: String]) -> PolicyFile {
        PolicyFile(
            network: agent.policy.clone(), head: .tanhGaussian, logStdScale: agent.logStd[0], logStdBias: agent.logStd[1],
            observationMean: normalises ? mean : nil, observationStd: normalises ? inverseStd.map { 1 / $0 } : nil,
            actionScale: actionScale, provenance: provenance)
    }
}

/// An online learner: its simulator is a task's onboard simulator.
public typealias OnlineLearner<Task: SimulatedTask> = Learner<SimEnvironment<Task>>

/// Mean undiscounted return of `episodes` episodes of `policy` (raw observation → action) in
/// `environment`, through the caller's `observation` and `action` buffers (the environment's
/// sizes). Real-time safe when `policy` is: does not allocate, lock or throw.
public func meanEpisodeReturn<E: TaskEnvironment>(
    in environment: inout E, episodes: Int, observation o: UnsafeMutablePointer<Float>, action a: UnsafeMutablePointer<Float>,
    policy: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
) -> Double {
    var total = 0.0
    for _ in 0..<episodes {
        environment.reset(observation: o)
        while true {
            policy(o, a)
            let outcome = environment.step(action: a, observation: o)
            total += outcome.reward
            if outcome.terminated || outcome.truncated { break }
        }
    }
    return total / Double(max(episodes, 1))
}
