import Foundation

@testable import FixedNN

/// A plain Double re-implementation of an MLP's forward pass, for finite-difference checks and
/// comparisons. Reads the parameters through the PyTorch-order accessors.
struct ReferenceMLP {
    var sizes: [Int]
    var activations: [Activation]
    var weights: [[[Double]]]  // [layer][out][in]
    var biases: [[Double]]  // [layer][out]
    /// LayerNorm gain γ and bias β per layer (empty for a layer without LayerNorm).
    var normGains: [[Double]]
    var normBiases: [[Double]]

    init(_ net: borrowing MLP) {
        sizes = net.shape.layerSizes
        activations = net.shape.activations
        weights = []
        biases = []
        normGains = []
        normBiases = []
        for l in 0..<net.shape.layerCount {
            weights.append(
                (0..<sizes[l + 1]).map { o in
                    (0..<sizes[l]).map { i in Double(net.weight(layer: l, output: o, input: i)) }
                })
            biases.append((0..<sizes[l + 1]).map { o in Double(net.bias(layer: l, output: o)) })
            let normed = net.shape.hasLayerNorm(l)
            normGains.append(normed ? (0..<sizes[l + 1]).map { Double(net.layerNormGain(layer: l, output: $0)) } : [])
            normBiases.append(normed ? (0..<sizes[l + 1]).map { Double(net.layerNormBias(layer: l, output: $0)) } : [])
        }
    }

    func forward(_ x: [Double]) -> [Double] {
        var h = x
        for l in 0..<weights.count {
            var y = biases[l]
            for o in 0..<y.count {
                for i in 0..<h.count { y[o] += weights[l][o][i] * h[i] }
            }
            if !normGains[l].isEmpty {
                // PyTorch nn.LayerNorm: biased variance, ε inside the square root.
                let n = Double(y.count)
                let mean = y.reduce(0, +) / n
                let variance = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
                let r = 1 / (variance + Double(MLPShape.layerNormEpsilon)).squareRoot()
                for o in 0..<y.count { y[o] = normGains[l][o] * (y[o] - mean) * r + normBiases[l][o] }
            }
            for o in 0..<y.count {
                switch activations[l] {
                case .identity: break
                case .relu: y[o] = max(y[o], 0)
                case .tanh: y[o] = Foundation.tanh(y[o])
                }
            }
            h = y
        }
        return h
    }
}

/// |analytic − numeric| ≤ tolerance·max(|numeric|, floor), element-wise.
func relativeErrorsOK(
    _ analytic: [Double], _ numeric: [Double], tolerance: Double = 1e-3, floor: Double = 1e-2
)
    -> Bool
{
    guard analytic.count == numeric.count else { return false }
    for (a, n) in zip(analytic, numeric) where abs(a - n) > tolerance * max(abs(n), floor) { return false }
    return true
}

/// Deterministic pseudo-random values in [-1, 1).
func randomValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<count).map { _ in rng.nextFloat(in: -scale, scale) }
}
