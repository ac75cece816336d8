import Testing

@testable import FixedNN

/// Finite-difference checks of the batched backward pass: analytic Float gradients against
/// central differences of a Double reference (h = 1e-6), relative error ≤ 1e-3.
@Suite("MLP backward pass")
struct MLPGradientTests {
    /// Loss = Σ_b Σ_k c[b][k]·y[b][k] with fixed coefficients c; returns analytic gradients
    /// (parameters in PyTorch order, inputs) and numeric ones.
    func check(_ shape: MLPShape, batch: Int, seed: UInt64) -> Bool {
        var net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: seed)
        // Larger last-layer weights so every layer's gradient is well above rounding.
        for o in 0..<shape.outputSize { net.setBias(layer: shape.layerCount - 1, output: o, 0.3) }
        var ws = MLPWorkspace(shape: shape, maxBatch: batch)
        let inputs = randomValues(batch * shape.inputSize, seed: seed + 1, scale: 1.5)
        let coeff = randomValues(batch * shape.outputSize, seed: seed + 2)
        for b in 0..<batch {
            for i in 0..<shape.inputSize {
                ws.input[b * ws.inputStride + i] = inputs[b * shape.inputSize + i]
            }
        }
        ws.forward(net, batch: batch)
        for b in 0..<batch {
            for k in 0..<shape.outputSize {
                ws.outputGradient[b * ws.outputStride + k] = coeff[b * shape.outputSize + k]
            }
        }
        var grad = net.makeGradient()
        ws.backward(net, batch: batch, accumulatingInto: &grad)

        var ref = ReferenceMLP(net)
        func loss(_ r: ReferenceMLP, _ x: [Double]) -> Double {
            var total = 0.0
            for b in 0..<batch {
                let y = r.forward(Array(x[(b * shape.inputSize)..<((b + 1) * shape.inputSize)]))
                for k in 0..<y.count { total += Double(coeff[b * shape.outputSize + k]) * y[k] }
            }
            return total
        }
        let x = inputs.map(Double.init)
        let h = 1e-6
        var analytic: [Double] = []
        var numeric: [Double] = []
        for l in 0..<shape.layerCount {
            for o in 0..<shape.layerSizes[l + 1] {
                for i in 0..<shape.layerSizes[l] {
                    analytic.append(Double(grad[net.weightIndex(layer: l, output: o, input: i)]))
                    let w = ref.weights[l][o][i]
                    ref.weights[l][o][i] = w + h
                    let plus = loss(ref, x)
                    ref.weights[l][o][i] = w - h
                    let minus = loss(ref, x)
                    ref.weights[l][o][i] = w
                    numeric.append((plus - minus) / (2 * h))
                }
                analytic.append(Double(grad[net.biasIndex(layer: l, output: o)]))
                let bv = ref.biases[l][o]
                ref.biases[l][o] = bv + h
                let plus = loss(ref, x)
                ref.biases[l][o] = bv - h
                let minus = loss(ref, x)
                ref.biases[l][o] = bv
                numeric.append((plus - minus) / (2 * h))
            }
        }
        for b in 0..<batch {
            for i in 0..<shape.inputSize {
                analytic.append(Double(ws.inputGradient[b * ws.inputStride + i]))
                var xp = x
                xp[b * shape.inputSize + i] += h
                var xm = x
                xm[b * shape.inputSize + i] -= h
                numeric.append((loss(ref, xp) - loss(ref, xm)) / (2 * h))
            }
        }
        // Padding entries of the gradient stay zero.
        var logical = 0.0
        for k in 0..<grad.count { logical += Double(abs(grad[k])) }
        let sumAnalyticParams = analytic.prefix(shape.logicalParameterCount).reduce(0) { $0 + abs($1) }
        let paddingClean = abs(logical - sumAnalyticParams) <= 1e-4 * max(logical, 1)
        return paddingClean && relativeErrorsOK(analytic, numeric)
    }

    @Test("gradients match finite differences for every activation", arguments: Activation.allCases)
    func everyActivation(_ activation: Activation) {
        let shape = MLPShape(layerSizes: [3, 7, 5, 2], hidden: activation, output: activation)
        #expect(check(shape, batch: 5, seed: 11))
    }

    @Test("gradients match finite differences for mixed activations, deep and wide layers")
    func mixed() {
        let shape = MLPShape(layerSizes: [5, 20, 33, 17, 3], activations: [.relu, .tanh, .identity, .tanh])
        #expect(check(shape, batch: 6, seed: 5))
        let wide = MLPShape(layerSizes: [2, 70, 1], hidden: .relu, output: .identity)
        #expect(check(wide, batch: 9, seed: 8))
    }

    @Test("backward adds into the gradient buffer instead of overwriting it")
    func accumulates() {
        let shape = MLPShape(layerSizes: [4, 16, 3], hidden: .tanh)
        let net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 3)
        var ws = MLPWorkspace(shape: shape, maxBatch: 4)
        for k in 0..<(4 * ws.inputStride) { ws.input[k] = Float(k % 7) * 0.1 - 0.3 }
        ws.forward(net, batch: 4)
        for k in 0..<(4 * ws.outputStride) { ws.outputGradient[k] = k % ws.outputStride < 3 ? 0.5 : 0 }
        var once = net.makeGradient()
        ws.backward(net, batch: 4, accumulatingInto: &once)
        var twice = net.makeGradient()
        ws.backward(net, batch: 4, accumulatingInto: &twice)
        ws.backward(net, batch: 4, accumulatingInto: &twice)
        for k in 0..<once.count { #expect(abs(twice[k] - 2 * once[k]) <= 1e-6 * max(1, abs(once[k]))) }
    }
}

@Test("two half-batch backward passes summed with FloatBuffer.add equal one full-batch pass")
func dataParallelGradients() {
    let shape = MLPShape(layerSizes: [6, 48, 48, 3], hidden: .relu, output: .identity)
    let net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 12)
    let batch = 20
    let x = randomValues(batch * 6, seed: 13)
    let g = randomValues(batch * 3, seed: 14)
    func gradient(rows: Range<Int>) -> FloatBuffer {
        var ws = MLPWorkspace(shape: shape, maxBatch: batch)
        for (r, row) in rows.enumerated() {
            for i in 0..<6 { ws.input[r * ws.inputStride + i] = x[row * 6 + i] }
        }
        ws.forward(net, batch: rows.count)
        for (r, row) in rows.enumerated() {
            for k in 0..<3 { ws.outputGradient[r * ws.outputStride + k] = g[row * 3 + k] }
        }
        var grad = net.makeGradient()
        ws.backward(net, batch: rows.count, accumulatingInto: &grad, inputGradient: false)
        return grad
    }
    let full = gradient(rows: 0..<batch)
    var first = gradient(rows: 0..<7)
    let second = gradient(rows: 7..<batch)
    first.add(second)
    var worst: Float = 0
    for k in 0..<full.count { worst = max(worst, abs(first[k] - full[k]) / max(1, abs(full[k]))) }
    #expect(worst <= 1e-5)
    first.scale(by: 0.5)
    #expect(abs(first[5] - 0.5 * (full[5])) <= 1e-5 * max(1, abs(full[5])))
}

@Test("backwardInputOnly gives backward's input gradient bit for bit, for batch sizes hitting every row block")
func inputOnlyBackward() {
    // Widths cross the 64-column panels and the 8-wide transpose tiles; batches 1…13 cover the
    // 6-, 4-, 2- and 1-row micro-kernels.
    let shape = MLPShape(layerSizes: [7, 80, 37, 2], hidden: .relu, output: .tanh)
    let net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 31)
    for batch in [1, 2, 3, 5, 6, 7, 11, 13] {
        let x = randomValues(batch * 7, seed: UInt64(40 + batch))
        let g = randomValues(batch * 2, seed: UInt64(60 + batch))
        var full = MLPWorkspace(shape: shape, maxBatch: batch)
        var only = MLPWorkspace(shape: shape, maxBatch: batch)
        for r in 0..<batch {
            for i in 0..<7 {
                full.input[r * full.inputStride + i] = x[r * 7 + i]
                only.input[r * only.inputStride + i] = x[r * 7 + i]
            }
        }
        full.forward(net, batch: batch)
        only.forward(net, batch: batch)
        for r in 0..<batch {
            for k in 0..<2 {
                full.outputGradient[r * full.outputStride + k] = g[r * 2 + k]
                only.outputGradient[r * only.outputStride + k] = g[r * 2 + k]
            }
        }
        var grad = net.makeGradient()
        full.backward(net, batch: batch, accumulatingInto: &grad, inputGradient: true)
        only.backwardInputOnly(net, batch: batch)
        var identical = true
        for r in 0..<batch {
            for i in 0..<full.inputStride where full.inputGradient[r * full.inputStride + i] != only.inputGradient[r * only.inputStride + i] {
                identical = false
            }
        }
        #expect(identical, "batch \(batch)")
        #expect(grad.array.contains { $0 != 0 })
    }
}
