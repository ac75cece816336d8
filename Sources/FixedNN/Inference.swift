// Everything the `@_noAllocation` entry point calls lives in this file: in debug (per-file)
// builds the checker cannot see bodies defined in other files of the module and rejects them.

/// Single-sample inference: one GEMV per layer, W stored `[in][outStride]`, `x[i]` broadcast and
/// FMA'd into several SIMD16 accumulators (performance-notes.md, trap 6).
extension MLP {
    /// Evaluates the network on one input of `shape.inputSize` floats and writes
    /// `shape.outputSize` floats to `output`.
    ///
    /// `scratch` must be at least `shape.maxStride` wide (``InferenceScratch/init(shape:)``).
    /// `input` and `output` need no alignment and may be the caller's own storage.
    /// Real-time safe: does not allocate, lock or throw.
    @_noAllocation
    public func infer(
        _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
        scratch: inout InferenceScratch
    ) {
        precondition(scratch.capacity >= maxStride, "InferenceScratch narrower than the network")
        run(input, into: output, ping: scratch.ping.baseAddress, pong: scratch.pong.baseAddress)
    }

    /// The layer loop behind `infer`: `ping` and `pong` are two rows of at least `maxStride` floats.
    @inline(__always)
    func run(
        _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
        ping: UnsafeMutablePointer<Float>, pong: UnsafeMutablePointer<Float>
    ) {
        let params = UnsafePointer(parameters.baseAddress)
        var source = input
        var target = ping
        var spare = pong
        for l in 0..<layerCount {
            let g = layers[l]
            let normalizes = g.normOffset >= 0
            denseSingle(
                source, g.inputs, params + g.weightOffset, params + g.biasOffset, target, g.outputStride,
                normalizes ? .identity : g.activation)
            if normalizes {
                _ = layerNormRow(
                    target, columns: g.outputs, stride: g.outputStride, gain: params + g.normOffset,
                    bias: params + g.normOffset + g.outputStride, normalized: nil, g.activation)
            }
            source = UnsafePointer(target)
            swap(&target, &spare)
        }
        // An element loop: `update(from:count:)` is generic over element types that may need
        // releasing, which `@_noAllocation` rejects.
        for k in 0..<layers[layerCount - 1].outputs { output[k] = source[k] }
    }

    /// Evaluates the network on `input` (exactly `shape.inputSize` floats) into `output`
    /// (exactly `shape.outputSize` floats). Real-time safe: does not allocate, lock or throw.
    @inlinable
    public func infer(
        _ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
        scratch: inout InferenceScratch
    ) {
        precondition(
            input.count == layers[0].inputs, "MLP.infer: input count differs from the network's input size")
        precondition(
            output.count == layers[layerCount - 1].outputs,
            "MLP.infer: output count differs from the network's output size")
        infer(input.baseAddress!, into: output.baseAddress!, scratch: &scratch)
    }
}

extension DeterministicPolicy {
    /// Writes the deterministic action (`commandGain · tanh(μ)`, in [−1, 1], `actionSize`
    /// values) for one observation (`observationSize` values). Real-time safe: does not allocate, lock or throw.
    @_noAllocation
    public func act(observation: UnsafePointer<Float>, action: UnsafeMutablePointer<Float>) {
        let x = normalized.baseAddress
        let mu = mean.baseAddress
        let inv = inverseStd.baseAddress
        for i in 0..<observationSize { x[i] = (observation[i] - mu[i]) * inv[i] }
        network.run(
            UnsafePointer(x), into: output.baseAddress, ping: ping.baseAddress, pong: pong.baseAddress)
        let y = output.baseAddress
        let g = gain.baseAddress
        for j in 0..<actionSize {
            action[j] = VectorMath.tanh(SIMD16<Float>(repeating: y[j]))[0] * g[j]
        }
    }
}

/// `y[0..<stride] = act(b + Σ_i x[i]·W[i][·])` for one sample; `stride` is a multiple of 16 and
/// `w` is the layer's panelled weight block (``MLPShape``): each panel of 64 output columns is
/// `[inputs][64]`, streamed contiguously.
@inline(__always)
func denseSingle(
    _ x: UnsafePointer<Float>, _ inputs: Int, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ stride: Int, _ activation: Activation
) {
    var j = 0
    var panel = w
    // Full panels of 64 outputs: four independent SIMD16 accumulator chains.
    while j + 64 <= stride {
        var a0 = SIMD16<Float>.load(b + j)
        var a1 = SIMD16<Float>.load(b + j + 16)
        var a2 = SIMD16<Float>.load(b + j + 32)
        var a3 = SIMD16<Float>.load(b + j + 48)
        var wp = panel
        for i in 0..<inputs {
            let xi = SIMD16<Float>(repeating: x[i])
            a0 = a0.addingProduct(xi, SIMD16<Float>.load(wp))
            a1 = a1.addingProduct(xi, SIMD16<Float>.load(wp + 16))
            a2 = a2.addingProduct(xi, SIMD16<Float>.load(wp + 32))
            a3 = a3.addingProduct(xi, SIMD16<Float>.load(wp + 48))
            wp += 64
        }
        activate(a0, activation).store(y + j)
        activate(a1, activation).store(y + j + 16)
        activate(a2, activation).store(y + j + 32)
        activate(a3, activation).store(y + j + 48)
        j += 64
        panel += 64 * inputs
    }
    // The last, narrower panel (16, 32 or 48 columns, rows of `width`): one 16-column slice at a
    // time, the reduction split over four interleaved accumulators.
    let width = stride - j
    var column = 0
    while column < width {
        var a0 = SIMD16<Float>.load(b + j + column)
        var a1 = SIMD16<Float>.zero
        var a2 = SIMD16<Float>.zero
        var a3 = SIMD16<Float>.zero
        var wp = panel + column
        var i = 0
        while i + 4 <= inputs {
            a0 = a0.addingProduct(SIMD16<Float>(repeating: x[i]), SIMD16<Float>.load(wp))
            a1 = a1.addingProduct(SIMD16<Float>(repeating: x[i + 1]), SIMD16<Float>.load(wp + width))
            a2 = a2.addingProduct(SIMD16<Float>(repeating: x[i + 2]), SIMD16<Float>.load(wp + 2 * width))
            a3 = a3.addingProduct(SIMD16<Float>(repeating: x[i + 3]), SIMD16<Float>.load(wp + 3 * width))
            wp += 4 * width
            i += 4
        }
        while i < inputs {
            a0 = a0.addingProduct(SIMD16<Float>(repeating: x[i]), SIMD16<Float>.load(wp))
            wp += width
            i += 1
        }
        activate((a0 + a1) + (a2 + a3), activation).store(y + j + column)
        column += 16
    }
}

/// LayerNorm then the activation, in place on one row `z` of `stride` floats whose columns
/// `columns..<stride` are zero: `z ← act(γ ⊙ (z − mean)·r + β)` with mean and biased variance
/// over the first `columns` entries and `r = 1/√(var + ε)`. Writes x̂ = (z − mean)·r (padding
/// zero) to `normalized` when given (the backward pass needs it) and returns `r`. Padding stays
/// zero (γ and β are zero there). Real-time safe: does not allocate, lock or throw.
@inline(__always)
func layerNormRow(
    _ z: UnsafeMutablePointer<Float>, columns n: Int, stride: Int, gain: UnsafePointer<Float>,
    bias: UnsafePointer<Float>, normalized: UnsafeMutablePointer<Float>?, _ activation: Activation
) -> Float {
    var sum = SIMD16<Float>.zero
    var j = 0
    while j < stride {
        sum += SIMD16<Float>.load(z + j)
        j += 16
    }
    let inverseCount = 1 / Float(n)
    let mean = sum.sum() * inverseCount
    var squares = SIMD16<Float>.zero
    j = 0
    while j < stride {
        let d = paddingMasked(SIMD16<Float>.load(z + j) - mean, from: n - j)
        squares = squares.addingProduct(d, d)
        j += 16
    }
    // ε = 1e-5 = MLPShape.layerNormEpsilon, written out: the `@_noAllocation` checker rejects
    // reading a static of another file, and calls to `squareRoot`, in debug builds.
    let r = inverseSquareRoot(squares.sum() * inverseCount + 1e-5)
    j = 0
    while j < stride {
        let xHat = paddingMasked((SIMD16<Float>.load(z + j) - mean) * r, from: n - j)
        if let normalized { xHat.store(normalized + j) }
        activate(SIMD16<Float>.load(bias + j).addingProduct(xHat, SIMD16<Float>.load(gain + j)), activation)
            .store(z + j)
        j += 16
    }
    return r
}

/// 1/√v for v > 0 in plain arithmetic (the `@_noAllocation` checker rejects `squareRoot()` in
/// debug builds): the exponent-halving first guess, then four Newton steps r ← r·(1.5 − ½v·r²),
/// which leave a relative error of a few ulp (the guess is within 3.5 %; each step squares the
/// error).
@inline(__always)
func inverseSquareRoot(_ v: Float) -> Float {
    var r = Float(bitPattern: 0x5f37_59df &- (v.bitPattern >> 1))
    let half = 0.5 * v
    r = r * (1.5 - half * r * r)
    r = r * (1.5 - half * r * r)
    r = r * (1.5 - half * r * r)
    r = r * (1.5 - half * r * r)
    return r
}

/// `v` with lanes `valid..<16` set to zero (`valid ≥ 16` keeps every lane).
@inline(__always)
func paddingMasked(_ v: SIMD16<Float>, from valid: Int) -> SIMD16<Float> {
    if valid >= 16 { return v }
    let lanes = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    return v.replacing(with: 0, where: lanes .>= Float(valid))
}

/// The activation applied to 16 lanes.
@inline(__always)
func activate(_ v: SIMD16<Float>, _ activation: Activation) -> SIMD16<Float> {
    switch activation {
    case .identity: return v
    case .relu: return v.replacing(with: 0, where: v .< 0)
    case .tanh: return VectorMath.tanh(v)
    }
}

extension SIMD16 where Scalar == Float {
    /// Loads 16 floats from `p` (no alignment requirement).
    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Loads 16 floats from `p` (no alignment requirement).
    @inlinable @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Stores the 16 lanes at `p` (no alignment requirement).
    @inlinable @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: SIMD16<Float>.self)
    }
}

/// Vectorised elementary functions for the kernels (pure `+ − × ÷` and bit operations, which the
/// compiler turns into packed instructions; `Foundation`'s scalar `tanhf` is ~20× slower per
/// element). Accuracy is tested against `Foundation` over dense grids.
public enum VectorMath {
    /// `e^x` for 16 lanes, Cephes `expf` method: `x = n·ln2 + r`, degree-6 polynomial for `e^r`,
    /// `2^n` built in the exponent bits. Relative error ≤ 2 ulp for x in [−87, 88]; inputs are
    /// clamped to that range (so `exp(±∞)` gives `e^±87…88`, never NaN for finite input).
    @inlinable @inline(__always)
    public static func exp(_ input: SIMD16<Float>) -> SIMD16<Float> {
        var x = input.replacing(with: 88.3762626647949, where: input .> 88.3762626647949)
        x.replace(with: -87.3365447504, where: x .< -87.3365447504)
        // n = round(x·log2 e) via the 1.5·2^23 trick (pure adds, vectorises).
        let magic = SIMD16<Float>(repeating: 12582912)
        let t = x * 1.44269504088896341 + magic
        let n = t - magic
        var r = x.addingProduct(n, SIMD16<Float>(repeating: -0.693359375))
        r = r.addingProduct(n, SIMD16<Float>(repeating: 2.12194440e-4))
        var p = SIMD16<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = (p * r) * r + r + 1
        let ni = unsafeBitCast(t, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD16<Float>.self)
        return p * scale
    }

    /// `tanh(x)` for 16 lanes: a [13/6] rational minimax approximation `x·P(x²)/Q(x²)` on
    /// |x| ≤ 7.905 (the coefficients Eigen uses for float tanh), exactly ±1 beyond, so the result
    /// never exceeds ±1. One division, eleven multiply-adds, four blends; absolute and relative
    /// error ≤ 4e-7 (tested against Foundation). NaN in gives NaN out.
    @inlinable @inline(__always)
    public static func tanh(_ input: SIMD16<Float>) -> SIMD16<Float> {
        let bound: Float = 7.90531110763549805
        var x = input.replacing(with: bound, where: input .> bound)
        x.replace(with: -bound, where: x .< -bound)
        let z = x * x
        var p = SIMD16<Float>(repeating: -2.76076847742355e-16)
        p = SIMD16(repeating: 2.00018790482477e-13).addingProduct(p, z)
        p = SIMD16(repeating: -8.60467152213735e-11).addingProduct(p, z)
        p = SIMD16(repeating: 5.12229709037114e-08).addingProduct(p, z)
        p = SIMD16(repeating: 1.48572235717979e-05).addingProduct(p, z)
        p = SIMD16(repeating: 6.37261928875436e-04).addingProduct(p, z)
        p = SIMD16(repeating: 4.89352455891786e-03).addingProduct(p, z)
        var q = SIMD16<Float>(repeating: 1.19825839466702e-06)
        q = SIMD16(repeating: 1.18534705686654e-04).addingProduct(q, z)
        q = SIMD16(repeating: 2.26843463243900e-03).addingProduct(q, z)
        q = SIMD16(repeating: 4.89352518554385e-03).addingProduct(q, z)
        var r = (p * x) / q
        // Beyond the bound tanh is within 3e-7 of ±1: saturate exactly.
        r.replace(with: 1, where: input .> bound)
        r.replace(with: -1, where: input .< -bound)
        return r
    }
}
