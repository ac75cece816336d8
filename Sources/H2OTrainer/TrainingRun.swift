import FixedNN
import Foundation
import Tasks

/// Epochs and checkpoints around a ``Learner`` (`robotctl train`, the gap benchmark): per
/// epoch, K steps of the stochastic policy in the onboard simulator into the sim FIFO, then M
/// updates on real + sim batches; every N epochs the deterministic policy is evaluated in the
/// evaluation environment; after every epoch a metrics row (and, by the caller, a checkpoint).
///
/// Thread contract: one thread drives a run. `runEpoch` allocates only for its metrics row.
public final class TrainingRun<SimEnv: TaskEnvironment, EvalEnv: TaskEnvironment> {
    /// The learner the epochs drive.
    public let learner: Learner<SimEnv>
    var evalEnvironment: EvalEnv
    /// Epochs completed (restored from a checkpoint on resume).
    public private(set) var epoch = 0
    /// Sum of the losses since the last epoch report.
    var lossSums = [Double](repeating: 0, count: StepLosses.names.count)
    var lossCount = 0

    /// A run of `algorithm` on `real` (moved in) with a sim FIFO of `simBufferRatio × real`
    /// capacity. `agent` nil starts fresh from `hyperparameters.seed`. `stepThreads` 2 runs each
    /// update on two threads (bit-identical results). Allocates; throws one-line errors for a
    /// real set that does not fit and for bad hyperparameters.
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
        let simCapacity = max(h.batchSize, h.simBufferRatio * max(real.capacity, 1))
        learner = try Learner(
            algorithm: algorithm, hyperparameters: h, agent: agent, real: real, simCapacity: simCapacity,
            simEnvironment: simEnvironment, random: TrainerRandom(seed: h.seed &+ UInt64(startEpoch) &* 0x9E37_79B9),
            stepThreads: stepThreads)
        self.evalEnvironment = evalEnvironment
        epoch = startEpoch
    }

    /// The hyperparameters of the run (the schedule K, M, N and the step's).
    public var hyperparameters: Hyperparameters { learner.hyperparameters }

    /// Fills the sim FIFO with `count` steps before the first update (so sampling never sees
    /// an empty buffer).
    public func warmUp(simSteps count: Int) { learner.collect(max(count, 1)) }

    /// Mean return of `episodes` deterministic episodes in the evaluation environment.
    public func evaluate(episodes: Int) -> Double { learner.evaluate(in: &evalEnvironment, episodes: episodes) }

    /// One update counted in this epoch's metrics. Throws `nonFiniteLoss` (naming the update
    /// and the loss) when a loss is NaN or infinite; the agent is then not to be saved.
    @discardableResult
    public func update() throws(TrainerError) -> StepLosses {
        let losses = learner.update()
        if let bad = losses.firstNonFinite {
            throw .nonFiniteLoss(step: learner.agent.updateCount, loss: bad.name, value: bad.value)
        }
        for i in 0..<StepLosses.names.count { lossSums[i] += Double(losses.value(at: i)) }
        lossCount += 1
        return losses
    }

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
        learner.collect(h.simStepsPerEpoch)
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
            epoch: epoch, updates: learner.agent.updateCount, simTransitions: learner.sim.appended, means: means,
            evalReturn: evalReturn, updatesPerSecond: Double(h.updatesPerEpoch) / max(seconds, 1e-9))
    }

    /// The agent as a checkpoint (AgentFile layout plus `h2o.epoch`).
    public func checkpoint() -> SafeTensors { learner.checkpoint(extraMetadata: ["h2o.epoch": String(epoch)]) }
}
