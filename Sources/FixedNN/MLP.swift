import Foundation

/// How the last layer of an ``MLP`` is initialised (hidden layers always use PyTorch's
/// `nn.Linear` default, weight and bias ~ U(−1/√fan_in, 1/√fan_in)).
public enum LastLayerInitialization: Sendable, Hashable {
    /// The `nn.Linear` default, like the hidden layers (the H2O+ discriminators).
    case uniformFanIn
    /// Xavier-uniform weight, bound `gain·√(6/(fan_in + fan_out))`, zero bias (policy, Q and V
    /// with gain 0.01 in H2O+).
    case xavierUniform(gain: Float)
}

/// A multilayer perceptron with fixed sizes: its shape and its parameters in one contiguous,
/// aligned buffer (layout in ``MLPShape``).
///
/// Ownership: `~Copyable`; `parameters` is the only copy of the weights. Batched training runs
/// through an ``MLPWorkspace`` per batch (several workspaces may evaluate one network), single
/// samples through ``infer(_:into:scratch:)`` with an ``InferenceScratch``.
/// Thread safety: a network may be read (inference, forward, backward) by several threads at once
/// as long as none mutates it; mutation (Adam, copy, Polyak) needs exclusive access.
/// Allocation: `init` allocates; everything else is real-time safe unless stated.
public struct MLP: ~Copyable, @unchecked Sendable {
    /// The architecture.
    public let shape: MLPShape
    /// Weights and biases (layout in ``MLPShape``). Adam and Polyak act on this buffer directly.
    public var parameters: FloatBuffer
    @usableFromInline let layers: UnsafeMutablePointer<LayerGeometry>
    @usableFromInline let layerCount: Int
    @usableFromInline let maxStride: Int

    /// A network of `shape` with every parameter zero. Allocates.
    public init(shape: MLPShape) {
        self.shape = shape
        parameters = FloatBuffer(count: shape.parameterCount)
        layers = shape.makeLayerTable()
        layerCount = shape.layerCount
        maxStride = shape.maxStride
    }

    /// A network of `shape` initialised like PyTorch (see ``initialize(lastLayer:using:)``) from
    /// a generator seeded with `seed`. Allocates.
    public init(shape: MLPShape, lastLayer: LastLayerInitialization, seed: UInt64) {
        self.init(shape: shape)
        var rng = SeededRandom(seed: seed)
        initialize(lastLayer: lastLayer, using: &rng)
    }

    deinit { layers.deallocate() }

    /// Re-draws every parameter: hidden layers weight and bias ~ U(−1/√fan_in, 1/√fan_in)
    /// (PyTorch `nn.Linear` default); the last layer as `lastLayer` says; LayerNorm gains 1 and
    /// biases 0 (PyTorch `nn.LayerNorm`, no draws). Padding stays zero.
    /// Draw order: layer by layer, weights in PyTorch order (`[out][in]`, row-major), then biases.
    public mutating func initialize(
        lastLayer: LastLayerInitialization, using rng: inout some RandomNumberGenerator
    ) {
        parameters.fill(0)
        for l in 0..<layerCount {
            let fanIn = shape.layerSizes[l]
            let fanOut = shape.layerSizes[l + 1]
            let isLast = l == layerCount - 1
            var weightBound = 1 / Float(fanIn).squareRoot()
            var biasBound: Float = weightBound
            if isLast, case .xavierUniform(let gain) = lastLayer {
                weightBound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
                biasBound = 0
            }
            for o in 0..<fanOut {
                for i in 0..<fanIn {
                    setWeight(layer: l, output: o, input: i, uniform(weightBound, &rng))
                }
            }
            for o in 0..<fanOut {
                setBias(layer: l, output: o, biasBound == 0 ? 0 : uniform(biasBound, &rng))
            }
            if shape.hasLayerNorm(l) {
                for o in 0..<fanOut { setLayerNormGain(layer: l, output: o, 1) }
            }
        }
    }

    private func uniform(_ bound: Float, _ rng: inout some RandomNumberGenerator) -> Float {
        let u = Float(rng.next() >> 40) * 0x1p-24
        return (2 * u - 1) * bound
    }

    /// Index in `parameters` of the weight from `input` to `output` in layer `layer`
    /// (PyTorch `<net>.<layer>.weight[output][input]`).
    public func weightIndex(layer: Int, output: Int, input: Int) -> Int {
        shape.weightIndex(layer: layer, output: output, input: input)
    }

    /// Index in `parameters` of the bias of `output` in layer `layer`.
    public func biasIndex(layer: Int, output: Int) -> Int {
        shape.biasIndex(layer: layer, output: output)
    }

    /// The weight from `input` to `output` in layer `layer` (PyTorch `weight[output][input]`).
    public func weight(layer: Int, output: Int, input: Int) -> Float {
        parameters[weightIndex(layer: layer, output: output, input: input)]
    }

    /// Sets the weight from `input` to `output` in layer `layer`.
    public mutating func setWeight(layer: Int, output: Int, input: Int, _ value: Float) {
        parameters[weightIndex(layer: layer, output: output, input: input)] = value
    }

    /// The bias of `output` in layer `layer`.
    public func bias(layer: Int, output: Int) -> Float { parameters[biasIndex(layer: layer, output: output)] }

    /// Sets the bias of `output` in layer `layer`.
    public mutating func setBias(layer: Int, output: Int, _ value: Float) {
        parameters[biasIndex(layer: layer, output: output)] = value
    }

    /// Index in `parameters` of the LayerNorm gain γ of `output` in hidden layer `layer`
    /// (PyTorch `nn.LayerNorm.weight[output]`).
    public func layerNormGainIndex(layer: Int, output: Int) -> Int {
        precondition(output >= 0 && output < shape.layerSizes[layer + 1], "MLP.layerNormGainIndex: output out of range")
        return shape.layerNormGainOffset(ofLayer: layer) + output
    }

    /// Index in `parameters` of the LayerNorm bias β of `output` in hidden layer `layer`
    /// (PyTorch `nn.LayerNorm.bias[output]`).
    public func layerNormBiasIndex(layer: Int, output: Int) -> Int {
        precondition(output >= 0 && output < shape.layerSizes[layer + 1], "MLP.layerNormBiasIndex: output out of range")
        return shape.layerNormBiasOffset(ofLayer: layer) + output
    }

    /// The LayerNorm gain γ of `output` in hidden layer `layer`.
    public func layerNormGain(layer: Int, output: Int) -> Float {
        parameters[layerNormGainIndex(layer: layer, output: output)]
    }

    /// Sets the LayerNorm gain γ of `output` in hidden layer `layer`.
    public mutating func setLayerNormGain(layer: Int, output: Int, _ value: Float) {
        parameters[layerNormGainIndex(layer: layer, output: output)] = value
    }

    /// The LayerNorm bias β of `output` in hidden layer `layer`.
    public func layerNormBias(layer: Int, output: Int) -> Float {
        parameters[layerNormBiasIndex(layer: layer, output: output)]
    }

    /// Sets the LayerNorm bias β of `output` in hidden layer `layer`.
    public mutating func setLayerNormBias(layer: Int, output: Int, _ value: Float) {
        parameters[layerNormBiasIndex(layer: layer, output: output)] = value
    }

    /// Copies every parameter of `other` (same shape). Real-time safe: does not allocate, lock or throw.
    public mutating func copyParameters(from other: borrowing MLP) {
        precondition(other.shape == shape, "MLP.copyParameters: shapes differ")
        parameters.copy(from: other.parameters)
    }

    /// Polyak averaging `self ← (1 − rate)·self + rate·other` (target networks).
    /// Real-time safe: does not allocate, lock or throw.
    public mutating func polyakUpdate(toward other: borrowing MLP, rate: Float) {
        precondition(other.shape == shape, "MLP.polyakUpdate: shapes differ")
        parameters.polyakUpdate(toward: other.parameters, rate: rate)
    }

    /// A zeroed gradient buffer laid out like `parameters`. Allocates.
    public func makeGradient() -> FloatBuffer { FloatBuffer(count: shape.parameterCount) }

    /// A network with the same shape and parameters. Allocates.
    public func clone() -> MLP {
        var copy = MLP(shape: shape)
        copy.copyParameters(from: self)
        return copy
    }
}
