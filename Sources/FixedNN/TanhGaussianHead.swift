import Foundation

/// The H2O+/SAC policy head: a tanh-squashed Gaussian over `actionSize` actions.
///
/// For each row of a network output `[μ (actionSize) | raw (actionSize) | …]`:
///
///     s = m·raw + c,  logσ = clamp(s, −20, 2),  σ = e^logσ
///     u = μ + σ·ε   (ε supplied by the caller, N(0, 1))
///     a = tanh(u)
///     log π = Σ_j [ −ε_j²/2 − logσ_j − ½·log 2π − 2(log 2 − u_j − softplus(−2u_j)) ]
///
/// `m` (``logStdScale``) and `c` (``logStdBias``) are trainable scalars (H2O+ initialises them to 1
/// and −1). Gradients: clamp passes gradient only for `−20 ≤ s ≤ 2` (PyTorch's rule);
/// ∂logπ/∂u = 2a; ∂a/∂u = 1 − a²; ∂u/∂μ = 1; ∂u/∂logσ = σε; ∂logN/∂logσ = −1 (ε held fixed,
/// as in reparameterised sampling).
///
/// Batched use owns its outputs and the caches backward needs; the static single-sample
/// functions serve the control loop and rollouts.
/// Thread safety: one thread at a time. Allocation: `init` allocates; nothing else does.
public struct TanhGaussianHead: ~Copyable, @unchecked Sendable {
    /// Actions per row.
    public let actionSize: Int
    /// Rows it holds.
    public let maxBatch: Int
    let actionBuffer: FloatBuffer  // a, [maxBatch][actionSize]
    let logProbBuffer: FloatBuffer  // log π, [maxBatch]
    let preTanhBuffer: FloatBuffer  // u
    let sigmaNoiseBuffer: FloatBuffer  // σ·ε
    let passBuffer: FloatBuffer  // 1 where the clamp passes gradient, else 0
    let rawBuffer: FloatBuffer  // raw

    /// Lower clamp of logσ.
    public static let logStdMin: Float = -20
    /// Upper clamp of logσ.
    public static let logStdMax: Float = 2
    static let halfLog2Pi: Float = 0.918938533204672741780329736406
    static let log2: Float = 0.693147180559945309417232121458

    /// A head for `actionSize` actions and batches of up to `maxBatch` rows. Allocates.
    public init(actionSize: Int, maxBatch: Int) {
        precondition(
            actionSize >= 1 && maxBatch >= 1, "TanhGaussianHead needs actionSize ≥ 1 and maxBatch ≥ 1")
        self.actionSize = actionSize
        self.maxBatch = maxBatch
        actionBuffer = FloatBuffer(count: actionSize * maxBatch)
        logProbBuffer = FloatBuffer(count: maxBatch)
        preTanhBuffer = FloatBuffer(count: actionSize * maxBatch)
        sigmaNoiseBuffer = FloatBuffer(count: actionSize * maxBatch)
        passBuffer = FloatBuffer(count: actionSize * maxBatch)
        rawBuffer = FloatBuffer(count: actionSize * maxBatch)
    }

    /// Sampled actions `a`, `[maxBatch][actionSize]` packed; valid after `forward`.
    public var actions: UnsafePointer<Float> { UnsafePointer(actionBuffer.baseAddress) }
    /// log π(a|s) per row, `[maxBatch]`; valid after `forward`.
    public var logProbabilities: UnsafePointer<Float> { UnsafePointer(logProbBuffer.baseAddress) }
    /// Pre-tanh samples `u`, `[maxBatch][actionSize]` packed; valid after `forward`.
    public var preTanhActions: UnsafePointer<Float> { UnsafePointer(preTanhBuffer.baseAddress) }

    /// Samples actions for rows `0..<batch` of `networkOutput` (row stride `stride`, at least
    /// `2·actionSize` columns) with noise `noise` (`[batch][actionSize]` packed) and caches what
    /// `backward` needs. Real-time safe: does not allocate, lock or throw.
    public mutating func forward(
        networkOutput: UnsafePointer<Float>, stride: Int, batch: Int, logStdScale m: Float,
        logStdBias c: Float,
        noise: UnsafePointer<Float>
    ) {
        precondition(batch >= 0 && batch <= maxBatch, "TanhGaussianHead.forward: batch exceeds maxBatch")
        precondition(
            stride >= 2 * actionSize, "TanhGaussianHead.forward: network output narrower than 2·actionSize")
        let n = actionSize
        for r in 0..<batch {
            let row = networkOutput + r * stride
            var logProb: Float = 0
            for j in 0..<n {
                let k = r * n + j
                let raw = row[n + j]
                let s = m * raw + c
                let logStd = Swift.min(Swift.max(s, Self.logStdMin), Self.logStdMax)
                let eps = noise[k]
                let sigmaEps = Foundation.exp(logStd) * eps
                let u = row[j] + sigmaEps
                let a = Foundation.tanh(u)
                logProb += -0.5 * eps * eps - logStd - Self.halfLog2Pi - Self.tanhCorrection(u)
                actionBuffer.baseAddress[k] = a
                preTanhBuffer.baseAddress[k] = u
                sigmaNoiseBuffer.baseAddress[k] = sigmaEps
                passBuffer.baseAddress[k] = (s >= Self.logStdMin && s <= Self.logStdMax) ? 1 : 0
                rawBuffer.baseAddress[k] = raw
            }
            logProbBuffer.baseAddress[r] = logProb
        }
    }

    /// Back-propagates dLoss/da (`actionGradient`, `[batch][actionSize]` packed, or nil for
    /// zero) and dLoss/dlogπ (`logProbabilityGradient`, `[batch]`, or nil for zero) through the
    /// last `forward`. **Writes** dLoss/dμ and dLoss/draw into columns `0..<2·actionSize` of
    /// `networkOutputGradient` (row stride `stride`; other columns untouched) and **adds**
    /// dLoss/dm, dLoss/dc into `logStdScaleGradient`, `logStdBiasGradient`.
    /// Real-time safe: does not allocate, lock or throw.
    public func backward(
        actionGradient: UnsafePointer<Float>?, logProbabilityGradient: UnsafePointer<Float>?, batch: Int,
        logStdScale m: Float, networkOutputGradient: UnsafeMutablePointer<Float>, stride: Int,
        logStdScaleGradient: inout Float, logStdBiasGradient: inout Float
    ) {
        precondition(batch >= 0 && batch <= maxBatch, "TanhGaussianHead.backward: batch exceeds maxBatch")
        precondition(
            stride >= 2 * actionSize, "TanhGaussianHead.backward: gradient rows narrower than 2·actionSize")
        let n = actionSize
        var dm: Float = 0
        var dc: Float = 0
        for r in 0..<batch {
            let gLogProb = logProbabilityGradient?[r] ?? 0
            let row = networkOutputGradient + r * stride
            for j in 0..<n {
                let k = r * n + j
                let a = actionBuffer.baseAddress[k]
                let gA = actionGradient?[k] ?? 0
                let gU = gA * (1 - a * a) + gLogProb * 2 * a
                let gLogStd = gU * sigmaNoiseBuffer.baseAddress[k] - gLogProb
                let gS = gLogStd * passBuffer.baseAddress[k]
                row[j] = gU
                row[n + j] = gS * m
                dm += gS * rawBuffer.baseAddress[k]
                dc += gS
            }
        }
        logStdScaleGradient += dm
        logStdBiasGradient += dc
    }

    /// `2(log 2 − u − softplus(−2u))` = log(1/(1 − tanh²u)) computed stably.
    @inline(__always)
    static func tanhCorrection(_ u: Float) -> Float {
        let x = -2 * u
        let softplus = Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x)))
        return 2 * (log2 - u - softplus)
    }

    /// The deterministic action `tanh(μ)` for one network output row (first `actionSize`
    /// entries). Real-time safe: does not allocate, lock or throw.
    public static func deterministicAction(
        networkOutput: UnsafePointer<Float>, actionSize: Int, into action: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<actionSize { action[j] = Foundation.tanh(networkOutput[j]) }
    }

    /// One stochastic action `tanh(μ + σ·ε)` for one network output row; returns log π.
    /// Real-time safe: does not allocate, lock or throw.
    public static func sampleAction(
        networkOutput: UnsafePointer<Float>, actionSize n: Int, logStdScale m: Float, logStdBias c: Float,
        noise: UnsafePointer<Float>, into action: UnsafeMutablePointer<Float>
    ) -> Float {
        var logProb: Float = 0
        for j in 0..<n {
            let logStd = Swift.min(Swift.max(m * networkOutput[n + j] + c, logStdMin), logStdMax)
            let u = networkOutput[j] + Foundation.exp(logStd) * noise[j]
            action[j] = Foundation.tanh(u)
            logProb += -0.5 * noise[j] * noise[j] - logStd - halfLog2Pi - tanhCorrection(u)
        }
        return logProb
    }
}
