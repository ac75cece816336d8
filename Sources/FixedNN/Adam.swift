internal import CFixedNN

/// Adam (Kingma & Ba) exactly as PyTorch's `torch.optim.Adam` computes it (no weight decay,
/// no amsgrad):
///
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// One optimiser per parameter buffer; it owns the moments `m`, `v` and the step count `t`.
/// Thread safety: one thread at a time. Allocation: `init` allocates; `step` never does.
public struct Adam: ~Copyable, @unchecked Sendable {
    /// Learning rate.
    public var learningRate: Float
    /// Decay of the first moment.
    public var beta1: Float
    /// Decay of the second moment.
    public var beta2: Float
    /// Added to the denominator.
    public var epsilon: Float
    /// Steps taken so far (PyTorch's `state['step']`).
    public var stepCount: Int
    /// First moment, laid out like the parameters.
    public var firstMoment: FloatBuffer
    /// Second moment, laid out like the parameters.
    public var secondMoment: FloatBuffer

    /// An optimiser for `parameterCount` parameters with zero moments (PyTorch defaults except
    /// the learning rate, which H2O+ sets to 3e-4). Allocates.
    public init(
        parameterCount: Int, learningRate: Float = 3e-4, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        stepCount = 0
        firstMoment = FloatBuffer(count: parameterCount)
        secondMoment = FloatBuffer(count: parameterCount)
    }

    /// One update of `parameters` with `gradient` (same count). The gradient is not cleared.
    /// Real-time safe: does not allocate, lock or throw.
    public mutating func step(_ parameters: inout FloatBuffer, gradient: borrowing FloatBuffer) {
        precondition(
            parameters.count == firstMoment.count && gradient.count == firstMoment.count,
            "Adam.step: parameter, gradient and moment counts differ")
        stepCount += 1
        let t = Float(stepCount)
        let correction1 = 1 - pow(beta1, t)
        let correction2 = 1 - pow(beta2, t)
        let stepSize = learningRate / correction1
        let inverseRootCorrection2 = 1 / correction2.squareRoot()
        let p = parameters.baseAddress
        let g = UnsafePointer(gradient.baseAddress)
        let m = firstMoment.baseAddress
        let v = secondMoment.baseAddress
        let b1 = beta1, b2 = beta2, eps = epsilon
        let n = firstMoment.count
        var i = 0
        while i + 16 <= n {
            let gv = SIMD16<Float>.load(g + i)
            let mv = SIMD16<Float>.load(m + i) * b1 + gv * (1 - b1)
            let vv = SIMD16<Float>.load(v + i) * b2 + (gv * gv) * (1 - b2)
            mv.store(m + i)
            vv.store(v + i)
            let denominator = cfixednn_sqrt16(vv) * inverseRootCorrection2 + eps
            (SIMD16<Float>.load(p + i) - stepSize * mv / denominator).store(p + i)
            i += 16
        }
        while i < n {
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            p[i] -= stepSize * m[i] / (v[i].squareRoot() * inverseRootCorrection2 + eps)
            i += 1
        }
    }

    /// Zeroes the moments and the step count.
    public mutating func reset() {
        firstMoment.fill(0)
        secondMoment.fill(0)
        stepCount = 0
    }
}

/// `x^y` for the bias corrections, without Foundation (exp/log by repeated squaring on integer t).
@inline(__always)
private func pow(_ base: Float, _ exponent: Float) -> Float {
    var result: Double = 1
    var b = Double(base)
    var e = Int(exponent)
    while e > 0 {
        if e & 1 == 1 { result *= b }
        b *= b
        e >>= 1
    }
    return Float(result)
}
