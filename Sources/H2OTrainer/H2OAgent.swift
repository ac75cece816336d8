import FixedNN
import Foundation

/// Everything one H2O+ (or baseline) learner owns: the networks, the target critics, logα,
/// the policy's log-std scale and offset, and one Adam optimiser per trained buffer with its
/// moments and step count. A checkpoint is exactly this (see `AgentFile`).
///
/// Networks (shared/spec/h2oplus.md): policy S→H→H→2A, Q1/Q2 (and Q3…QN of a larger
/// ensemble) and their targets (S+A)→H→H→1 (LayerNorm hidden layers with `criticLayernorm`),
/// V S→H→H→1, D_sa (S+A)→Hd→Hd→2 and D_sas (2S+A)→Hd→Hd→2, ReLU hidden layers; the
/// discriminators end in tanh (their logits are 2·tanh).
///
/// Thread contract: one thread at a time (the trainer's). Allocation: `init` allocates;
/// nothing else here does.
public struct H2OAgent: ~Copyable, @unchecked Sendable {
    /// Observation length S.
    public let observationSize: Int
    /// Action length A.
    public let actionSize: Int
    /// The configuration the agent was built with (sizes, learning rate).
    public let hyperparameters: Hyperparameters

    /// π's trunk: outputs μ (first A) and raw log-std inputs (last A).
    public var policy: MLP
    /// `[m, c]` of logσ = clamp(m·raw + c, −20, 2), trained with the policy.
    public var logStd: FloatBuffer
    /// Twin critics.
    public var q1: MLP
    public var q2: MLP
    /// Polyak targets of the critics.
    public var q1Target: MLP
    public var q2Target: MLP
    /// Critics 3…N of the ensemble (`Hyperparameters.criticEnsemble` − 2 of them; none by
    /// default), their Polyak targets and their optimisers: Q_{k+3} is `extraCritics[k]`.
    public var extraCritics: OwnedArray<MLP>
    public var extraCriticTargets: OwnedArray<MLP>
    public var extraCriticOptimizers: OwnedArray<Adam>
    /// State value, trained on real data only.
    public var value: MLP
    /// Discriminator on (s, a), output 2·tanh(logits).
    public var discriminatorSA: MLP
    /// Discriminator on (s, a, s'), output 2·tanh(logits).
    public var discriminatorSAS: MLP
    /// `[logα]`.
    public var logAlpha: FloatBuffer

    public var policyOptimizer: Adam
    public var logStdOptimizer: Adam
    public var q1Optimizer: Adam
    public var q2Optimizer: Adam
    public var valueOptimizer: Adam
    public var discriminatorSAOptimizer: Adam
    public var discriminatorSASOptimizer: Adam
    public var logAlphaOptimizer: Adam

    /// The shapes of every network for these sizes.
    public static func shapes(observationSize S: Int, actionSize A: Int, hyperparameters h: Hyperparameters)
        -> (policy: MLPShape, critic: MLPShape, value: MLPShape, discriminatorSA: MLPShape, discriminatorSAS: MLPShape)
    {
        let H = h.hiddenSize, D = h.discriminatorHiddenSize
        return (
            MLPShape(layerSizes: [S, H, H, 2 * A], hidden: .relu),
            MLPShape(layerSizes: [S + A, H, H, 1], hidden: .relu, layerNorm: h.criticLayernorm),
            MLPShape(layerSizes: [S, H, H, 1], hidden: .relu, layerNorm: h.criticLayernorm),
            MLPShape(layerSizes: [S + A, D, D, 2], hidden: .relu, output: .tanh),
            MLPShape(layerSizes: [2 * S + A, D, D, 2], hidden: .relu, output: .tanh)
        )
    }

    /// A freshly initialised agent: hidden layers U(±1/√fan_in); the last layer of π, Q and V
    /// Xavier-uniform with gain 0.01 and zero bias; discriminators uniform everywhere; targets
    /// copies of the critics; m = 1, c = −1, logα = 0 (by default). Every draw derives from
    /// `seed`. Allocates.
    public init(observationSize: Int, actionSize: Int, hyperparameters h: Hyperparameters, seed: UInt64) {
        precondition(observationSize >= 1 && actionSize >= 1, "H2OAgent sizes must be ≥ 1")
        self.observationSize = observationSize
        self.actionSize = actionSize
        hyperparameters = h
        let s = Self.shapes(observationSize: observationSize, actionSize: actionSize, hyperparameters: h)
        var seeds = TrainerRandom(seed: seed)
        let small = LastLayerInitialization.xavierUniform(gain: 0.01)
        policy = MLP(shape: s.policy, lastLayer: small, seed: seeds.next())
        q1 = MLP(shape: s.critic, lastLayer: small, seed: seeds.next())
        q2 = MLP(shape: s.critic, lastLayer: small, seed: seeds.next())
        q1Target = q1.clone()
        q2Target = q2.clone()
        value = MLP(shape: s.value, lastLayer: small, seed: seeds.next())
        discriminatorSA = MLP(shape: s.discriminatorSA, lastLayer: .uniformFanIn, seed: seeds.next())
        discriminatorSAS = MLP(shape: s.discriminatorSAS, lastLayer: .uniformFanIn, seed: seeds.next())
        logStd = FloatBuffer([Float(h.logStdMultiplierInit), Float(h.logStdOffsetInit)])
        logAlpha = FloatBuffer([Float(h.initialLogAlpha)])
        func adam(_ n: Int) -> Adam {
            Adam(
                parameterCount: n, learningRate: Float(h.learningRate), beta1: Float(h.adamBeta1),
                beta2: Float(h.adamBeta2), epsilon: Float(h.adamEpsilon))
        }
        policyOptimizer = adam(s.policy.parameterCount)
        logStdOptimizer = adam(2)
        q1Optimizer = adam(s.critic.parameterCount)
        q2Optimizer = adam(s.critic.parameterCount)
        valueOptimizer = adam(s.value.parameterCount)
        discriminatorSAOptimizer = adam(s.discriminatorSA.parameterCount)
        discriminatorSASOptimizer = adam(s.discriminatorSAS.parameterCount)
        logAlphaOptimizer = adam(1)
        // Critics 3…N draw their seeds after every other network, so N = 2 draws exactly what
        // it always did.
        let extra = h.criticEnsemble - 2
        let extraSeeds = (0..<Swift.max(extra, 0)).map { _ in seeds.next() }
        let critics = OwnedArray(count: extra) { MLP(shape: s.critic, lastLayer: small, seed: extraSeeds[$0]) }
        extraCriticTargets = OwnedArray(count: extra) { critics[$0].clone() }
        extraCritics = critics
        extraCriticOptimizers = OwnedArray(count: extra) { _ in adam(s.critic.parameterCount) }
    }

    /// N, the number of Q critics.
    public var criticCount: Int { 2 + extraCritics.count }

    /// α = exp(logα).
    public var alpha: Float { Foundation.exp(logAlpha[0]) }

    /// Updates taken (the policy optimiser's step count).
    public var updateCount: Int { policyOptimizer.stepCount }

    /// True when every parameter, target and optimiser moment is finite.
    public var allFinite: Bool {
        policy.parameters.allFinite && logStd.allFinite && q1.parameters.allFinite && q2.parameters.allFinite
            && q1Target.parameters.allFinite && q2Target.parameters.allFinite && value.parameters.allFinite
            && discriminatorSA.parameters.allFinite && discriminatorSAS.parameters.allFinite && logAlpha.allFinite
            && (0..<extraCritics.count).allSatisfy {
                extraCritics[$0].parameters.allFinite && extraCriticTargets[$0].parameters.allFinite
            }
    }
}

/// A fixed number of owned, non-copyable values in one allocation (the extra critics, their
/// workspaces): `init` allocates; the subscript reads and writes in place without copying or
/// allocating. Thread contract: as the owner's.
public struct OwnedArray<Element: ~Copyable>: ~Copyable, @unchecked Sendable {
    /// Number of elements.
    public let count: Int
    let base: UnsafeMutablePointer<Element>

    /// `count` elements, element `i` made by `make(i)`. Allocates.
    public init(count: Int, _ make: (Int) -> Element) {
        precondition(count >= 0, "OwnedArray count must be ≥ 0")
        self.count = count
        base = .allocate(capacity: Swift.max(count, 1))
        for i in 0..<count { (base + i).initialize(to: make(i)) }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    /// Element `i` in place.
    public subscript(i: Int) -> Element {
        unsafeAddress {
            precondition(i >= 0 && i < count, "OwnedArray index out of range")
            return UnsafePointer(base + i)
        }
        unsafeMutableAddress {
            precondition(i >= 0 && i < count, "OwnedArray index out of range")
            return base + i
        }
    }
}
