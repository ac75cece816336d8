import FixedNN

/// Every input of one training step: the RL batch, the discriminator batch and every random
/// quantity (standard normals). Filled by `sample(real:sim:using:)` during training, or
/// supplied explicitly (verify-step, golden and finite-difference tests) so the step is a
/// pure function of (agent, inputs).
///
/// Layout: the RL batch holds `realRows` "anchored" rows first, then `simRows` down-weighted
/// rows. For H2O+ and H2O these are B/2 real and B/2 sim transitions; SAC (sim only) puts B
/// sim transitions in the first part and IQL (real only) B real ones, with no second part.
/// The discriminator batch is `discriminatorRows` real and as many sim transitions.
/// Allocation: `init` allocates; `sample` does not.
public struct StepInputs: ~Copyable, @unchecked Sendable {
    /// Algorithm the inputs are laid out for.
    public let algorithm: Algorithm
    /// Observation length S.
    public let observationSize: Int
    /// Action length A.
    public let actionSize: Int
    /// Rows of the RL batch taken at full weight (real for H2O+/H2O/IQL, sim for SAC).
    public let realRows: Int
    /// Rows of the RL batch weighted by the discriminators (sim, H2O+/H2O only).
    public let simRows: Int
    /// Real (and, separately, sim) rows of the discriminator batch.
    public let discriminatorRows: Int
    /// H2O: noisy next-state copies per sim row.
    public let noisyCopies: Int

    /// RL batch, `realRows + simRows` rows.
    public var rl: TransitionBatch
    /// Discriminator batch, real part.
    public var discriminatorReal: TransitionBatch
    /// Discriminator batch, sim part.
    public var discriminatorSim: TransitionBatch
    /// ε of ã ~ π(·|s), `[rl rows][A]`.
    public var policyNoise: FloatBuffer
    /// ε of a' ~ π(·|s'), `[rl rows][A]`.
    public var nextPolicyNoise: FloatBuffer
    /// Discriminator input noise of the real part, `[discriminatorRows][2S+A]` in the order
    /// (s, a, s'); scaled by the hyperparameter `discriminatorNoiseStd` inside the step.
    public var discriminatorRealNoise: FloatBuffer
    /// Same for the sim part.
    public var discriminatorSimNoise: FloatBuffer
    /// H2O: noise of the K next-state copies, `[simRows][K][S]`; scaled per dimension by
    /// `cqlNextStateStdRatio × nextStateStd`.
    public var nextStateNoise: FloatBuffer
    /// H2O: σ_real, the real set's per-dimension observation std plus 1e-3 (the authors'
    /// epsilon), `[S]`; 1 until `sample` fills it.
    public var nextStateStd: FloatBuffer

    /// Inputs for `algorithm` with RL batch size `h.batchSize`. Allocates.
    public init(algorithm: Algorithm, observationSize S: Int, actionSize A: Int, hyperparameters h: Hyperparameters) {
        let B = h.batchSize
        let split = algorithm == .h2oPlus || algorithm == .h2o
        self.init(
            algorithm: algorithm, observationSize: S, actionSize: A, realRows: split ? B / 2 : B,
            simRows: split ? B - B / 2 : 0, discriminatorRows: split ? B : 0,
            noisyCopies: algorithm == .h2o ? h.cqlNoisyCopies : 0)
    }

    /// Inputs with explicit row counts (verify-step reads them from the batch file). Allocates.
    public init(
        algorithm: Algorithm, observationSize S: Int, actionSize A: Int, realRows: Int, simRows: Int,
        discriminatorRows: Int, noisyCopies: Int
    ) {
        precondition(realRows + simRows >= 1, "StepInputs needs at least one RL row")
        self.algorithm = algorithm
        observationSize = S
        actionSize = A
        self.realRows = realRows
        self.simRows = simRows
        self.discriminatorRows = discriminatorRows
        self.noisyCopies = noisyCopies
        let B = realRows + simRows
        rl = TransitionBatch(rows: B, observationSize: S, actionSize: A)
        discriminatorReal = TransitionBatch(rows: discriminatorRows, observationSize: S, actionSize: A)
        discriminatorSim = TransitionBatch(rows: discriminatorRows, observationSize: S, actionSize: A)
        policyNoise = FloatBuffer(count: B * A)
        nextPolicyNoise = FloatBuffer(count: B * A)
        discriminatorRealNoise = FloatBuffer(count: discriminatorRows * (2 * S + A))
        discriminatorSimNoise = FloatBuffer(count: discriminatorRows * (2 * S + A))
        nextStateNoise = FloatBuffer(count: simRows * noisyCopies * S)
        nextStateStd = FloatBuffer(count: S)
        nextStateStd.fill(1)
    }

    /// Rows of the RL batch.
    public var rows: Int { realRows + simRows }

    /// Draws a whole step's inputs: batches uniformly with replacement from `real` and `sim`
    /// (which of them each part reads depends on the algorithm), then every noise buffer.
    /// Draw order is fixed, so one seed reproduces a run. Preconditions: the buffers the
    /// algorithm reads are not empty. Real-time safe: does not allocate, lock or throw.
    public mutating func sample(real: borrowing ReplayBuffer, sim: borrowing ReplayBuffer, using random: inout TrainerRandom) {
        switch algorithm {
        case .h2oPlus, .h2o:
            if noisyCopies > 0 { real.observationStandardDeviation(into: nextStateStd.baseAddress, adding: 1e-3) }
            real.sample(realRows, using: &random, into: rl, row: 0)
            sim.sample(simRows, using: &random, into: rl, row: realRows)
            real.sample(discriminatorRows, using: &random, into: discriminatorReal, row: 0)
            sim.sample(discriminatorRows, using: &random, into: discriminatorSim, row: 0)
        case .sacSim:
            sim.sample(realRows, using: &random, into: rl, row: 0)
        case .iqlReal:
            real.sample(realRows, using: &random, into: rl, row: 0)
        }
        random.fillNormal(policyNoise.baseAddress, count: policyNoise.count)
        random.fillNormal(nextPolicyNoise.baseAddress, count: nextPolicyNoise.count)
        random.fillNormal(discriminatorRealNoise.baseAddress, count: discriminatorRealNoise.count)
        random.fillNormal(discriminatorSimNoise.baseAddress, count: discriminatorSimNoise.count)
        random.fillNormal(nextStateNoise.baseAddress, count: nextStateNoise.count)
    }
}
