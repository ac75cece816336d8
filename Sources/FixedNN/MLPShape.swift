/// The fixed architecture of a multilayer perceptron: layer widths and one activation per layer.
///
/// `layerSizes = [8, 256, 256, 4]` is an 8→256→256→4 network with three affine layers;
/// `activations[l]` follows layer `l`. Set-up value (holds arrays); kernels read the layer table
/// built from it by ``MLP``.
///
/// Parameter layout in the one contiguous buffer (`parameterCount` floats, 64-byte aligned):
/// for each layer `l` in order, its weight block then its bias `[outStride]`, where
/// `outStride = out` rounded up to a multiple of 16. The weight block holds W **transposed** and
/// cut into panels of 64 output columns: panel `p` covers outputs `64p ..< 64p + width`
/// (`width = min(64, outStride − 64p)`) and is stored `[in][width]`, so single-sample inference
/// streams each panel contiguously. Use ``weightIndex(layer:output:input:)`` rather than
/// computing offsets. Padding entries are zero and stay zero (their gradients are zero).
/// Files use PyTorch's `[out][in]`; see ``SafeTensors``.
///
/// With `layerNorm`, every hidden layer `l` (all but the last) normalises its affine output
/// before the activation: `y = act(γ ⊙ (z − mean z)/√(var z + ε) + β)` over the layer's
/// `out` columns (biased variance, ε = ``layerNormEpsilon``, PyTorch `nn.LayerNorm`), with a
/// learnable gain γ (init 1) and bias β (init 0). Those parameters sit **after** every layer's
/// weights and biases, so the weight/bias offsets are those of the same shape without
/// normalisation: for each hidden layer in order, γ `[outStride]` then β `[outStride]`
/// (``layerNormGainOffset(ofLayer:)``, ``layerNormBiasOffset(ofLayer:)``); padding stays zero.
public struct MLPShape: Sendable, Hashable, CustomStringConvertible {
    /// Widths from input to output; at least two entries, each ≥ 1.
    public let layerSizes: [Int]
    /// One activation per affine layer (`layerSizes.count − 1` entries).
    public let activations: [Activation]
    /// True when every hidden layer has a LayerNorm between its affine map and its activation.
    public let layerNorm: Bool

    /// ε of the LayerNorm variance (PyTorch's `nn.LayerNorm` default).
    public static let layerNormEpsilon: Float = 1e-5

    /// A network with `hidden` after every layer but the last and `output` after the last.
    public init(layerSizes: [Int], hidden: Activation, output: Activation = .identity, layerNorm: Bool = false) {
        precondition(layerSizes.count >= 2, "MLPShape needs at least input and output sizes")
        let acts = Array(repeating: hidden, count: layerSizes.count - 2) + [output]
        self.init(layerSizes: layerSizes, activations: acts, layerNorm: layerNorm)
    }

    /// A network with an explicit activation per layer.
    public init(layerSizes: [Int], activations: [Activation], layerNorm: Bool = false) {
        precondition(layerSizes.count >= 2, "MLPShape needs at least input and output sizes")
        precondition(layerSizes.allSatisfy { $0 >= 1 }, "MLPShape layer sizes must be ≥ 1")
        precondition(activations.count == layerSizes.count - 1, "MLPShape needs one activation per layer")
        self.layerSizes = layerSizes
        self.activations = activations
        self.layerNorm = layerNorm
    }

    /// True when layer `l` has a LayerNorm (a hidden layer of a `layerNorm` shape).
    public func hasLayerNorm(_ l: Int) -> Bool { layerNorm && l < layerCount - 1 }

    /// Offset (in floats) of hidden layer `l`'s LayerNorm gain γ `[outStride]`.
    public func layerNormGainOffset(ofLayer l: Int) -> Int {
        precondition(hasLayerNorm(l), "MLPShape.layerNormGainOffset: layer \(l) has no LayerNorm")
        var offset = weightOffset(ofLayer: layerCount)
        for k in 0..<l { offset += 2 * outputStride(ofLayer: k) }
        return offset
    }

    /// Offset (in floats) of hidden layer `l`'s LayerNorm bias β `[outStride]`.
    public func layerNormBiasOffset(ofLayer l: Int) -> Int {
        layerNormGainOffset(ofLayer: l) + outputStride(ofLayer: l)
    }

    /// Number of affine layers.
    public var layerCount: Int { layerSizes.count - 1 }
    /// Width of the input.
    public var inputSize: Int { layerSizes[0] }
    /// Width of the output.
    public var outputSize: Int { layerSizes[layerSizes.count - 1] }

    /// `n` rounded up to a multiple of 16 (the row stride of padded matrices).
    public static func stride(_ n: Int) -> Int { (n + 15) & ~15 }

    /// Row stride of layer `l`'s output.
    public func outputStride(ofLayer l: Int) -> Int { MLPShape.stride(layerSizes[l + 1]) }

    /// Width of the weight panels (output columns per panel).
    public static let panelWidth = 64

    /// Index in the parameter buffer of the weight from `input` to `output` in layer `l`
    /// (PyTorch `<net>.<l>.weight[output][input]`).
    public func weightIndex(layer l: Int, output: Int, input: Int) -> Int {
        precondition(l >= 0 && l < layerCount, "MLPShape.weightIndex: layer out of range")
        precondition(
            output >= 0 && output < layerSizes[l + 1] && input >= 0 && input < layerSizes[l],
            "MLPShape.weightIndex: index out of range")
        let panel = output / MLPShape.panelWidth
        let width = Swift.min(MLPShape.panelWidth, outputStride(ofLayer: l) - panel * MLPShape.panelWidth)
        return weightOffset(ofLayer: l) + panel * MLPShape.panelWidth * layerSizes[l] + input * width
            + output % MLPShape.panelWidth
    }

    /// Index in the parameter buffer of the bias of `output` in layer `l`.
    public func biasIndex(layer l: Int, output: Int) -> Int {
        precondition(
            l >= 0 && l < layerCount && output >= 0 && output < layerSizes[l + 1],
            "MLPShape.biasIndex: index out of range")
        return biasOffset(ofLayer: l) + output
    }

    /// Offset (in floats) of layer `l`'s weight block (`in × outStride` floats, panels of 64
    /// output columns) in the parameter buffer.
    public func weightOffset(ofLayer l: Int) -> Int {
        var offset = 0
        for k in 0..<l { offset += (layerSizes[k] + 1) * MLPShape.stride(layerSizes[k + 1]) }
        return offset
    }

    /// Offset (in floats) of layer `l`'s bias `[outStride]` in the parameter buffer.
    public func biasOffset(ofLayer l: Int) -> Int {
        weightOffset(ofLayer: l) + layerSizes[l] * outputStride(ofLayer: l)
    }

    /// Floats in the parameter buffer, padding included.
    public var parameterCount: Int {
        (0..<layerCount).reduce(weightOffset(ofLayer: layerCount)) {
            $0 + (hasLayerNorm($1) ? 2 * outputStride(ofLayer: $1) : 0)
        }
    }

    /// Trainable scalars (weights, biases and LayerNorm gains and biases, padding excluded), as
    /// PyTorch counts them.
    public var logicalParameterCount: Int {
        (0..<layerCount).reduce(0) {
            $0 + (layerSizes[$1] + 1) * layerSizes[$1 + 1] + (hasLayerNorm($1) ? 2 * layerSizes[$1 + 1] : 0)
        }
    }

    /// Widest padded activation row (scratch size for single-sample inference).
    public var maxStride: Int { layerSizes.map(MLPShape.stride).max() ?? 16 }

    /// Multiply-adds of one single-sample forward pass (for FLOP accounting: FLOPs = 2×).
    public var multiplyAddsPerSample: Int {
        (0..<layerCount).reduce(0) { $0 + layerSizes[$1] * layerSizes[$1 + 1] }
    }

    /// `"8→256→256→4 (tanh,tanh,identity)"`.
    public var description: String {
        layerSizes.map(String.init).joined(separator: "→") + " ("
            + activations.map(\.rawValue).joined(separator: ",") + (layerNorm ? "; layernorm" : "") + ")"
    }
}

/// One layer's geometry as the kernels read it (plain integers, no arrays).
@usableFromInline
struct LayerGeometry: Sendable {
    @usableFromInline var inputs: Int
    @usableFromInline var outputs: Int
    @usableFromInline var inputStride: Int
    @usableFromInline var outputStride: Int
    @usableFromInline var weightOffset: Int
    @usableFromInline var biasOffset: Int
    @usableFromInline var activation: Activation
    /// Offset of the LayerNorm gain γ (β follows at `+ outputStride`); −1 without LayerNorm.
    @usableFromInline var normOffset: Int
}

extension MLPShape {
    /// Allocates and fills the kernels' layer table (caller deallocates).
    func makeLayerTable() -> UnsafeMutablePointer<LayerGeometry> {
        let table = UnsafeMutablePointer<LayerGeometry>.allocate(capacity: layerCount)
        for l in 0..<layerCount {
            table.advanced(by: l).initialize(
                to: LayerGeometry(
                    inputs: layerSizes[l], outputs: layerSizes[l + 1],
                    inputStride: MLPShape.stride(layerSizes[l]), outputStride: outputStride(ofLayer: l),
                    weightOffset: weightOffset(ofLayer: l), biasOffset: biasOffset(ofLayer: l),
                    activation: activations[l], normOffset: hasLayerNorm(l) ? layerNormGainOffset(ofLayer: l) : -1))
        }
        return table
    }
}
