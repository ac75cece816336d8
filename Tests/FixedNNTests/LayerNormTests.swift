import Foundation
import TestSupport
import Testing

@testable import FixedNN

/// LayerNorm hidden layers (`MLPShape.layerNorm`): the batched forward and single-sample
/// inference against a Double reference, the backward pass against central differences of that
/// reference (h = 1e-6, relative error ≤ 1e-3), padding, Adam on γ and β, the safetensors names,
/// and a golden file computed by numpy (Tests/Fixtures/fixednn/make_layernorm_fixture.py).
@Suite("MLP LayerNorm")
struct LayerNormTests {
    /// A network of `shape` with γ and β drawn away from their 1/0 init (so their gradients and
    /// the gain's effect on dZ are exercised) and a last-layer bias of 0.3.
    func network(_ shape: MLPShape, seed: UInt64) -> MLP {
        var net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: seed)
        var rng = SeededRandom(seed: seed &+ 99)
        for l in 0..<shape.layerCount where shape.hasLayerNorm(l) {
            for o in 0..<shape.layerSizes[l + 1] {
                net.setLayerNormGain(layer: l, output: o, rng.nextFloat(in: 0.5, 1.5))
                net.setLayerNormBias(layer: l, output: o, rng.nextFloat(in: -0.3, 0.3))
            }
        }
        for o in 0..<shape.outputSize { net.setBias(layer: shape.layerCount - 1, output: o, 0.3) }
        return net
    }

    /// Runs forward and backward of loss Σ c ⊙ y on a random batch; compares outputs with the
    /// Double reference, and the gradients of up to `samples` weights per layer, every bias, γ,
    /// β and every input with central differences. Returns the failures as text (empty: pass).
    func check(_ shape: MLPShape, batch: Int, seed: UInt64, samples: Int = 40) -> [String] {
        let net = network(shape, seed: seed)
        var ws = MLPWorkspace(shape: shape, maxBatch: batch)
        let inputs = randomValues(batch * shape.inputSize, seed: seed + 1, scale: 1.5)
        let coeff = randomValues(batch * shape.outputSize, seed: seed + 2)
        for b in 0..<batch {
            for i in 0..<shape.inputSize { ws.input[b * ws.inputStride + i] = inputs[b * shape.inputSize + i] }
        }
        ws.forward(net, batch: batch)
        for b in 0..<batch {
            for k in 0..<shape.outputSize { ws.outputGradient[b * ws.outputStride + k] = coeff[b * shape.outputSize + k] }
        }
        var grad = net.makeGradient()
        ws.backward(net, batch: batch, accumulatingInto: &grad)
        var failures: [String] = []
        let ref = ReferenceMLP(net)
        let x = inputs.map(Double.init)
        for b in 0..<batch {
            let y = ref.forward(Array(x[(b * shape.inputSize)..<((b + 1) * shape.inputSize)]))
            for k in 0..<shape.outputSize {
                let got = Double(ws.output[b * ws.outputStride + k])
                if abs(got - y[k]) > 1e-4 * max(1, abs(y[k])) { failures.append("output[\(b)][\(k)] \(got) vs \(y[k])") }
            }
        }
        func loss(_ r: ReferenceMLP, _ x: [Double]) -> Double {
            var total = 0.0
            for b in 0..<batch {
                let y = r.forward(Array(x[(b * shape.inputSize)..<((b + 1) * shape.inputSize)]))
                for k in 0..<y.count { total += Double(coeff[b * shape.outputSize + k]) * y[k] }
            }
            return total
        }
        let h = 1e-6
        func numeric(_ nudge: (inout ReferenceMLP, Double) -> Void) -> Double {
            var plus = ref, minus = ref
            nudge(&plus, h)
            nudge(&minus, -h)
            return (loss(plus, x) - loss(minus, x)) / (2 * h)
        }
        func compare(_ name: String, _ analytic: Float, _ numeric: Double) {
            if !relativeErrorsOK([Double(analytic)], [numeric]) { failures.append("\(name): analytic \(analytic), numeric \(numeric)") }
        }
        var rng = SeededRandom(seed: seed &+ 7)
        for l in 0..<shape.layerCount {
            let (fanIn, fanOut) = (shape.layerSizes[l], shape.layerSizes[l + 1])
            for s in 0..<min(samples, fanIn * fanOut) {
                let flat = fanIn * fanOut <= samples ? s : Int(rng.next() % UInt64(fanIn * fanOut))
                let (o, i) = (flat / fanIn, flat % fanIn)
                compare(
                    "W\(l)[\(o)][\(i)]", grad[net.weightIndex(layer: l, output: o, input: i)],
                    numeric { $0.weights[l][o][i] += $1 })
            }
            for o in 0..<min(fanOut, samples) {
                compare("b\(l)[\(o)]", grad[net.biasIndex(layer: l, output: o)], numeric { $0.biases[l][o] += $1 })
                if shape.hasLayerNorm(l) {
                    compare("γ\(l)[\(o)]", grad[net.layerNormGainIndex(layer: l, output: o)], numeric { $0.normGains[l][o] += $1 })
                    compare("β\(l)[\(o)]", grad[net.layerNormBiasIndex(layer: l, output: o)], numeric { $0.normBiases[l][o] += $1 })
                }
            }
        }
        for b in 0..<batch {
            for i in 0..<shape.inputSize {
                var xp = x, xm = x
                xp[b * shape.inputSize + i] += h
                xm[b * shape.inputSize + i] -= h
                let n = (loss(ref, xp) - loss(ref, xm)) / (2 * h)
                compare("dX[\(b)][\(i)]", ws.inputGradient[b * ws.inputStride + i], n)
            }
        }
        // Padding of the parameter gradient stays zero: its sum of magnitudes equals the sum
        // over the logical entries.
        var logical = 0.0
        for l in 0..<shape.layerCount {
            for o in 0..<shape.layerSizes[l + 1] {
                for i in 0..<shape.layerSizes[l] { logical += Double(abs(grad[net.weightIndex(layer: l, output: o, input: i)])) }
                logical += Double(abs(grad[net.biasIndex(layer: l, output: o)]))
                if shape.hasLayerNorm(l) {
                    logical += Double(abs(grad[net.layerNormGainIndex(layer: l, output: o)]))
                    logical += Double(abs(grad[net.layerNormBiasIndex(layer: l, output: o)]))
                }
            }
        }
        let total = (0..<grad.count).reduce(0.0) { $0 + Double(abs(grad[$1])) }
        if abs(total - logical) > 1e-5 * max(total, 1) { failures.append("padding gradient \(total - logical)") }
        return failures
    }

    @Test("gradients match finite differences at awkward widths", arguments: [1, 63, 65, 100, 257])
    func awkwardWidths(_ width: Int) {
        let shape = MLPShape(layerSizes: [5, width, width, 2], hidden: .tanh, layerNorm: true)
        let failures = check(shape, batch: 3, seed: UInt64(width))
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test("gradients match finite differences at the presets' critic widths (ReLU)", arguments: [32, 64, 256])
    func presetWidths(_ width: Int) {
        // The critics' shape: (S + A) → H → H → 1 with S = 3, A = 1, ReLU.
        let shape = MLPShape(layerSizes: [4, width, width, 1], hidden: .relu, layerNorm: true)
        let failures = check(shape, batch: 4, seed: 3 + UInt64(width))
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test("the last layer has no LayerNorm; parameter counts and offsets keep the plain layout")
    func layout() {
        let plain = MLPShape(layerSizes: [4, 63, 65, 1], hidden: .relu)
        let normed = MLPShape(layerSizes: [4, 63, 65, 1], hidden: .relu, layerNorm: true)
        #expect(normed.hasLayerNorm(0) && normed.hasLayerNorm(1) && !normed.hasLayerNorm(2))
        #expect(!plain.hasLayerNorm(0))
        for l in 0..<3 {
            #expect(normed.weightOffset(ofLayer: l) == plain.weightOffset(ofLayer: l))
            #expect(normed.biasOffset(ofLayer: l) == plain.biasOffset(ofLayer: l))
        }
        #expect(normed.parameterCount == plain.parameterCount + 2 * 64 + 2 * 80)
        #expect(normed.logicalParameterCount == plain.logicalParameterCount + 2 * 63 + 2 * 65)
        #expect(normed != plain)
        // Fresh networks: γ = 1, β = 0, the same weight draws as without LayerNorm.
        let a = MLP(shape: plain, lastLayer: .xavierUniform(gain: 0.01), seed: 4)
        let b = MLP(shape: normed, lastLayer: .xavierUniform(gain: 0.01), seed: 4)
        #expect(b.layerNormGain(layer: 1, output: 64) == 1 && b.layerNormBias(layer: 0, output: 62) == 0)
        #expect(b.parameters[normed.layerNormGainOffset(ofLayer: 0) + 63] == 0)  // padding
        #expect(a.weight(layer: 1, output: 7, input: 9) == b.weight(layer: 1, output: 7, input: 9))
    }

    @Test("single-sample inference equals the batched forward pass", arguments: [1, 63, 65, 100, 257])
    func inferenceMatchesBatch(_ width: Int) {
        let shape = MLPShape(layerSizes: [6, width, width, 3], hidden: .relu, layerNorm: true)
        let net = network(shape, seed: 21 + UInt64(width))
        var ws = MLPWorkspace(shape: shape, maxBatch: 2)
        let x = randomValues(6, seed: 5)
        for i in 0..<6 { ws.input[i] = x[i] }
        ws.forward(net, batch: 1)
        var scratch = InferenceScratch(shape: shape)
        var out = [Float](repeating: 0, count: 3)
        x.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { net.infer(input, into: $0, scratch: &scratch) }
        }
        for k in 0..<3 { #expect(abs(out[k] - ws.output[k]) <= 1e-5 * max(1, abs(out[k]))) }
    }

    @Test("Adam moves γ and β and leaves their padding zero")
    func adamUpdatesNormParameters() {
        let shape = MLPShape(layerSizes: [3, 20, 20, 1], hidden: .relu, layerNorm: true)
        var net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 9)
        var adam = Adam(parameterCount: shape.parameterCount, learningRate: 1e-2)
        var ws = MLPWorkspace(shape: shape, maxBatch: 8)
        let x = randomValues(8 * 3, seed: 2)
        for r in 0..<8 {
            for i in 0..<3 { ws.input[r * ws.inputStride + i] = x[r * 3 + i] }
        }
        // Regress every row's output towards 1.
        var first: Float = 0, last: Float = 0
        for step in 0..<200 {
            ws.forward(net, batch: 8)
            var loss: Float = 0
            for r in 0..<8 {
                let e = ws.output[r * ws.outputStride] - 1
                loss += e * e / 8
                ws.outputGradient[r * ws.outputStride] = 2 * e / 8
            }
            if step == 0 { first = loss }
            last = loss
            var grad = net.makeGradient()
            ws.backward(net, batch: 8, accumulatingInto: &grad, inputGradient: false)
            adam.step(&net.parameters, gradient: grad)
        }
        #expect(last < 0.1 * first)
        #expect((0..<20).contains { net.layerNormGain(layer: 0, output: $0) != 1 })
        #expect((0..<20).contains { net.layerNormBias(layer: 1, output: $0) != 0 })
        let g0 = shape.layerNormGainOffset(ofLayer: 0), b1 = shape.layerNormBiasOffset(ofLayer: 1)
        #expect((20..<32).allSatisfy { net.parameters[g0 + $0] == 0 && net.parameters[b1 + $0] == 0 })
    }

    @Test("safetensors names <net>.<l>.norm.weight/bias; a plain shape rejects them; LayerNorm needs them")
    func safeTensorsRoundTrip() throws {
        let shape = MLPShape(layerSizes: [4, 33, 33, 1], hidden: .relu, layerNorm: true)
        let net = network(shape, seed: 17)
        var file = SafeTensors()
        file.insert(net, prefix: "q1")
        #expect(file.tensors["q1.0.norm.weight"]?.shape == [33])
        #expect(file.tensors["q1.1.norm.bias"]?.shape == [33])
        #expect(file.tensors["q1.2.norm.weight"] == nil)
        let back = try SafeTensors.decode(file.encode(), source: "round-trip").network(prefix: "q1", shape: shape)
        for k in 0..<shape.parameterCount { #expect(back.parameters[k] == net.parameters[k]) }
        let plain = MLPShape(layerSizes: [4, 33, 33, 1], hidden: .relu)
        #expect(throws: SafeTensorsError.self) { _ = try file.network(prefix: "q1", shape: plain) }
        var old = SafeTensors()
        old.insert(MLP(shape: plain, lastLayer: .uniformFanIn, seed: 1), prefix: "q1")
        #expect(throws: SafeTensorsError.self) { _ = try old.network(prefix: "q1", shape: shape) }
    }

    @Test("forward and gradients equal numpy's golden file (make_layernorm_fixture.py)")
    func numpyGolden() throws {
        let file = try SafeTensors.read(path: fixedNNFixturePath("layernorm_golden.safetensors"))
        for name in ["ln_relu", "ln_tanh"] {
            guard let sizesText = file.metadata["\(name).layer_sizes"],
                let sizes = try JSONSerialization.jsonObject(with: Data(sizesText.utf8)) as? [Int],
                let activation = file.metadata["\(name).activation"].flatMap(Activation.init(rawValue:))
            else {
                Issue.record("\(name): metadata missing")
                continue
            }
            let shape = MLPShape(layerSizes: sizes, hidden: activation, layerNorm: true)
            let net = try file.network(prefix: name, shape: shape)
            let inputs = try #require(file.tensors["\(name).inputs"])
            let batch = inputs.shape[0]
            var ws = MLPWorkspace(shape: shape, maxBatch: batch)
            let x = inputs.floats(), g = try #require(file.tensors["\(name).output_gradient"]).floats()
            let n = shape.inputSize, inStride = ws.inputStride
            for r in 0..<batch {
                for i in 0..<n { ws.input[r * inStride + i] = x[r * n + i] }
            }
            ws.forward(net, batch: batch)
            let expected = try #require(file.tensors["\(name).outputs"]).doubles()
            var worst = 0.0
            for r in 0..<batch {
                for k in 0..<shape.outputSize {
                    let e: Double = expected[r * shape.outputSize + k]
                    let got = Double(ws.output[r * ws.outputStride + k])
                    let relative: Double = abs(got - e) / max(1, abs(e))
                    worst = max(worst, relative)
                    ws.outputGradient[r * ws.outputStride + k] = g[r * shape.outputSize + k]
                }
            }
            #expect(worst <= 1e-5, "\(name) outputs: worst relative error \(worst)")
            var grad = net.makeGradient()
            ws.backward(net, batch: batch, accumulatingInto: &grad)
            var gradFile = SafeTensors()
            gradFile.insertLayered(grad, shape: shape, prefix: "grad")
            for (key, tensor) in gradFile.tensors {
                let want = try #require(file.tensors["\(name).\(key)"], "\(name).\(key) missing").doubles()
                let got = tensor.floats()
                let scale: Double = max(1e-3, want.map { abs($0) }.max() ?? 0)
                var err = 0.0
                for (a, b) in zip(got, want) { err = max(err, abs(Double(a) - b)) }
                #expect(err <= 1e-4 * scale, "\(name).\(key): worst error \(err) against scale \(scale)")
            }
            let dx = try #require(file.tensors["\(name).grad.input"]).doubles()
            var worstInput = 0.0
            let inputScale: Double = max(1e-3, dx.map { abs($0) }.max() ?? 0)
            for r in 0..<batch {
                for i in 0..<shape.inputSize {
                    let got = Double(ws.inputGradient[r * ws.inputStride + i])
                    let want: Double = dx[r * shape.inputSize + i]
                    worstInput = max(worstInput, abs(got - want))
                }
            }
            #expect(worstInput <= 1e-4 * inputScale, "\(name) input gradient: worst error \(worstInput)")
        }
    }
}
