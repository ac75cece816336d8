/// Every hyperparameter of H2O+ and its baselines, one documented field each (CleanRL style).
///
/// Defaults are the `mujoco` preset, the authors' code defaults (shared/spec/h2oplus.md);
/// `robot` is their real-robot script. Stored as JSON in checkpoints and in the metrics
/// directory so every run records its configuration.
public struct Hyperparameters: Codable, Sendable, Equatable {
    // MARK: Sizes
    /// Hidden width of the policy, the critics and V (two hidden layers each).
    public var hiddenSize: Int = 256
    /// Hidden width of both discriminators (two hidden layers each).
    public var discriminatorHiddenSize: Int = 256
    /// LayerNorm in the critics (every Q of the ensemble, their targets, and V): each hidden
    /// layer normalised after its affine map and before its ReLU, with learnable gain and bias
    /// (as RLPD, Ball et al. 2023). Off: the authors' networks.
    public var criticLayernorm: Bool = false
    /// Number N ≥ 2 of Q critics, each with its Polyak target. Every target, the actor's loss
    /// and V's regression target use the minimum over **all** N (N = 2: clipped double Q, the
    /// authors' networks), not REDQ's random pair: deterministic, so a step stays a pure function
    /// of (agent, inputs) and needs no extra random stream, and more pessimistic as N grows,
    /// which works against the over-estimation that precedes a Q collapse.
    public var criticEnsemble: Int = 2
    /// RL batch B: B/2 real and B/2 sim transitions per step; the discriminators see B + B.
    public var batchSize: Int = 256

    // MARK: The H2O+ objective
    /// Discount γ per control tick. Choose it for the task's time scale (200 Hz ticks are
    /// 10× shorter than Gymnasium's 20 Hz Pendulum).
    public var gamma: Double = 0.99
    /// λ, the weight of the V-anchored exploit target in the mixed Bellman target.
    public var exploitCoefficient: Double = 0.5
    /// τe, the expectile of the value regression on real data.
    public var expectile: Double = 0.5
    /// ρ, the Polyak rate of the target critics, applied every step.
    public var polyak: Double = 5e-3
    /// Standard deviation of the Gaussian noise added to every discriminator input component.
    public var discriminatorNoiseStd: Double = 0.1
    /// Lower clip of the sim importance weight (the upper clip is 1: sim is only down-weighted).
    public var simWeightMin: Double = 1e-5
    /// Upper clip of the sim importance weight.
    public var simWeightMax: Double = 1
    /// Initial logα (α = 1).
    public var initialLogAlpha: Double = 0
    /// Target entropy H̄; nil means −A (the action size).
    public var targetEntropy: Double? = nil
    /// Initial value of the trainable scale m in logσ = m·raw + c.
    public var logStdMultiplierInit: Double = 1
    /// Initial value of the trainable offset c in logσ = m·raw + c.
    public var logStdOffsetInit: Double = -1

    // MARK: Optimiser (one Adam per network and one for logα)
    /// Adam learning rate for every network and for logα.
    public var learningRate: Double = 3e-4
    /// Adam β1.
    public var adamBeta1: Double = 0.9
    /// Adam β2.
    public var adamBeta2: Double = 0.999
    /// Adam ε (added outside the square root, as PyTorch does).
    public var adamEpsilon: Double = 1e-8

    // MARK: Replay and loop
    /// Sim FIFO capacity as a multiple of the real set's size.
    public var simBufferRatio: Int = 10
    /// Sim steps collected with the stochastic policy per epoch (K).
    public var simStepsPerEpoch: Int = 1000
    /// Updates per epoch (M).
    public var updatesPerEpoch: Int = 1000
    /// On the robot (`OnlineTrainer`): validate the policy and publish it every this many
    /// updates (P).
    public var publishEveryUpdates: Int = 1000
    /// Evaluate the deterministic policy every this many epochs (N).
    public var evaluateEveryEpochs: Int = 10
    /// Deterministic episodes per evaluation.
    public var evaluationEpisodes: Int = 5
    /// The one seed every random draw derives from.
    public var seed: UInt64 = 1

    // MARK: Baselines
    /// H2O: weight β of the CQL-style penalty.
    public var cqlWeight: Double = 0.01
    /// H2O: number K of noisy next-state copies in the importance estimate.
    public var cqlNoisyCopies: Int = 10
    /// H2O: scale of the next-state noise relative to the real data's per-dimension standard
    /// deviation, s'_k = s' + ratio·σ_real ⊙ ε (the authors' `s_prime_std_ratio`).
    public var cqlNextStateStdRatio: Double = 1
    /// IQL: τ of its expectile value regression (Kostrikov et al.'s MuJoCo default; H2O+ uses
    /// `expectile`).
    public var iqlExpectile: Double = 0.7
    /// IQL: inverse temperature β of advantage-weighted regression, exp(β·(Q − V)).
    public var iqlTemperature: Double = 3
    /// IQL: upper clip of the AWR weight.
    public var iqlMaxWeight: Double = 100

    /// The authors' code defaults (hidden 256, batch 256, λ 0.5, τe 0.5).
    public static let mujoco = Hyperparameters()

    /// The authors' real-robot script (hidden 32, batch 32, λ 0.1, τe 0.9).
    public static let robot: Hyperparameters = {
        var h = Hyperparameters()
        h.hiddenSize = 32
        h.batchSize = 32
        h.exploitCoefficient = 0.1
        h.expectile = 0.9
        return h
    }()

    /// A preset by name (`mujoco` or `robot`), nil for an unknown name.
    public static func preset(named name: String) -> Hyperparameters? {
        switch name {
        case "mujoco": .mujoco
        case "robot": .robot
        default: nil
        }
    }

    /// The preset names, for help texts.
    public static let presetNames = ["mujoco", "robot"]

    /// H̄ for an action size.
    public func resolvedTargetEntropy(actionSize: Int) -> Double { targetEntropy ?? -Double(actionSize) }

    /// Creates the `mujoco` defaults.
    public init() {}

    /// Checks ranges; the message names the field and the allowed range.
    public func validate() throws(TrainerError) {
        func check(_ ok: Bool, _ message: String) throws(TrainerError) {
            if !ok { throw TrainerError.invalidHyperparameter(message) }
        }
        try check(hiddenSize >= 1, "hiddenSize must be ≥ 1 (got \(hiddenSize))")
        try check(discriminatorHiddenSize >= 1, "discriminatorHiddenSize must be ≥ 1 (got \(discriminatorHiddenSize))")
        try check(criticEnsemble >= 2 && criticEnsemble <= 16, "criticEnsemble must be in 2...16 (got \(criticEnsemble))")
        try check(batchSize >= 2 && batchSize % 2 == 0, "batchSize must be even and ≥ 2 (got \(batchSize))")
        try check(gamma >= 0 && gamma <= 1, "gamma must be in [0, 1] (got \(gamma))")
        try check(exploitCoefficient >= 0 && exploitCoefficient <= 1, "exploitCoefficient must be in [0, 1] (got \(exploitCoefficient))")
        try check(expectile > 0 && expectile < 1, "expectile must be in (0, 1) (got \(expectile))")
        try check(polyak > 0 && polyak <= 1, "polyak must be in (0, 1] (got \(polyak))")
        try check(discriminatorNoiseStd >= 0, "discriminatorNoiseStd must be ≥ 0 (got \(discriminatorNoiseStd))")
        try check(simWeightMin > 0 && simWeightMin <= simWeightMax, "simWeightMin must be in (0, simWeightMax]")
        try check(learningRate > 0, "learningRate must be > 0 (got \(learningRate))")
        try check(adamBeta1 >= 0 && adamBeta1 < 1 && adamBeta2 >= 0 && adamBeta2 < 1, "Adam betas must be in [0, 1)")
        try check(simBufferRatio >= 1, "simBufferRatio must be ≥ 1 (got \(simBufferRatio))")
        try check(simStepsPerEpoch >= 0 && updatesPerEpoch >= 1, "simStepsPerEpoch ≥ 0 and updatesPerEpoch ≥ 1")
        try check(publishEveryUpdates >= 1, "publishEveryUpdates must be ≥ 1 (got \(publishEveryUpdates))")
        try check(evaluateEveryEpochs >= 1 && evaluationEpisodes >= 1, "evaluateEveryEpochs and evaluationEpisodes must be ≥ 1")
        try check(cqlNoisyCopies >= 1, "cqlNoisyCopies must be ≥ 1 (got \(cqlNoisyCopies))")
        try check(cqlNextStateStdRatio >= 0, "cqlNextStateStdRatio must be ≥ 0 (got \(cqlNextStateStdRatio))")
        try check(iqlExpectile > 0 && iqlExpectile < 1, "iqlExpectile must be in (0, 1) (got \(iqlExpectile))")
    }
}

/// The algorithms the trainer runs on the same networks, buffers and code paths.
public enum Algorithm: String, Codable, Sendable, CaseIterable {
    /// H2O+: V-anchored mixed target, discriminator-weighted sim samples (the default).
    case h2oPlus = "h2o+"
    /// H2O: CQL-style penalty with discriminator importance weights, no V.
    case h2o
    /// SAC on sim data only.
    case sacSim = "sac-sim"
    /// IQL on real data only: expectile V, AWR policy extraction.
    case iqlReal = "iql-real"
}
