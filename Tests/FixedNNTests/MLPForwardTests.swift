import Foundation
import TestSupport
import Testing

@testable import FixedNN

@Suite("MLP forward pass and initialisation")
struct MLPForwardTests {
    @Test("single-sample inference matches the Double reference", arguments: Activation.allCases)
    func singleMatchesReference(_ activation: Activation) {
        let shape = MLPShape(layerSizes: [8, 64, 64, 4], hidden: activation, output: .tanh)
        let net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 21)
        let ref = ReferenceMLP(net)
        var scratch = InferenceScratch(shape: shape)
        var out = [Float](repeating: 0, count: 4)
        for trial in 0..<10 {
            let x = randomValues(8, seed: UInt64(100 + trial), scale: 2)
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { op in net.infer(xp, into: op, scratch: &scratch) }
            }
            let expected = ref.forward(x.map(Double.init))
            for k in 0..<4 { #expect(abs(Double(out[k]) - expected[k]) <= 1e-5) }
        }
    }

    @Test("batched forward equals single-sample forward for odd batch sizes and widths")
    func batchedEqualsSingle() {
        for sizes in [[8, 64, 64, 4], [3, 37, 1], [11, 256, 17, 6]] {
            let shape = MLPShape(layerSizes: sizes, hidden: .relu, output: .tanh)
            let net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 4)
            let batch = 37
            var ws = MLPWorkspace(shape: shape, maxBatch: 40)
            let x = randomValues(batch * shape.inputSize, seed: 9)
            for b in 0..<batch {
                for i in 0..<shape.inputSize { ws.input[b * ws.inputStride + i] = x[b * shape.inputSize + i] }
            }
            ws.forward(net, batch: batch)
            var scratch = InferenceScratch(shape: shape)
            var out = [Float](repeating: 0, count: shape.outputSize)
            for b in 0..<batch {
                x.withUnsafeBufferPointer { xp in
                    out.withUnsafeMutableBufferPointer { op in
                        net.infer(
                            xp.baseAddress! + b * shape.inputSize, into: op.baseAddress!, scratch: &scratch)
                    }
                }
                for k in 0..<shape.outputSize {
                    #expect(abs(out[k] - ws.output[b * ws.outputStride + k]) <= 1e-5)
                }
            }
        }
    }

    @Test("10,000 single-sample inferences allocate nothing")
    func inferenceAllocatesNothing() {
        let shape = MLPShape(layerSizes: [8, 256, 256, 4], hidden: .tanh, output: .tanh)
        let net = MLP(shape: shape, lastLayer: .xavierUniform(gain: 0.01), seed: 1)
        var scratch = InferenceScratch(shape: shape)
        let input = UnsafeMutablePointer<Float>.allocate(capacity: 8)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: 4)
        defer { input.deallocate(); output.deallocate() }
        for i in 0..<8 { input[i] = Float(i) * 0.1 }
        var checksum: Float = 0
        let count = allocationsOnThisThread {
            for k in 0..<10_000 {
                input[k & 7] += 1e-4
                net.infer(input, into: output, scratch: &scratch)
                checksum += output[0]
            }
        }
        #expect(count == 0)
        #expect(checksum.isFinite)
    }

    @Test("batched forward, backward and Adam allocate nothing after set-up")
    func trainingAllocatesNothing() {
        let shape = MLPShape(layerSizes: [4, 32, 32, 1], hidden: .relu)
        var net = MLP(shape: shape, lastLayer: .xavierUniform(gain: 0.01), seed: 2)
        var ws = MLPWorkspace(shape: shape, maxBatch: 32)
        var grad = net.makeGradient()
        var adam = Adam(parameterCount: shape.parameterCount)
        var head = TanhGaussianHead(actionSize: 2, maxBatch: 32)
        let noise = FloatBuffer(count: 64)
        let targets = FloatBuffer(count: 32)
        func trainingStep() {
            ws.forward(net, batch: 32)
            _ = Loss.meanSquaredError(
                predictions: ws.output, predictionStride: ws.outputStride, targets: targets.baseAddress,
                count: 32,
                gradient: ws.outputGradient, gradientStride: ws.outputStride)
            grad.fill(0)
            ws.backward(net, batch: 32, accumulatingInto: &grad)
            adam.step(&net.parameters, gradient: grad)
            head.forward(
                networkOutput: ws.input, stride: ws.inputStride, batch: 32, logStdScale: 1, logStdBias: -1,
                noise: noise.baseAddress)
        }
        // One warm-up step first: unoptimised (debug) builds instantiate generic runtime
        // metadata on first use, once per process; release builds need no warm-up.
        trainingStep()
        let count = allocationsOnThisThread {
            for _ in 0..<100 { trainingStep() }
        }
        #expect(count == 0)
    }

    @Test("initialisation follows PyTorch's bounds, keeps padding zero and is reproducible from the seed")
    func initialisation() {
        let shape = MLPShape(layerSizes: [3, 40, 2], hidden: .relu)
        let net = MLP(shape: shape, lastLayer: .xavierUniform(gain: 0.5), seed: 7)
        let same = MLP(shape: shape, lastLayer: .xavierUniform(gain: 0.5), seed: 7)
        let other = MLP(shape: shape, lastLayer: .xavierUniform(gain: 0.5), seed: 8)
        #expect(net.parameters.array == same.parameters.array)
        #expect(net.parameters.array != other.parameters.array)
        let hiddenBound = 1 / Float(3).squareRoot()
        var maxHidden: Float = 0
        for o in 0..<40 {
            for i in 0..<3 { maxHidden = max(maxHidden, abs(net.weight(layer: 0, output: o, input: i))) }
            maxHidden = max(maxHidden, abs(net.bias(layer: 0, output: o)))
        }
        #expect(maxHidden <= hiddenBound && maxHidden > 0.8 * hiddenBound)
        let xavier = 0.5 * (6 / Float(42)).squareRoot()
        var maxLast: Float = 0
        for o in 0..<2 {
            for i in 0..<40 { maxLast = max(maxLast, abs(net.weight(layer: 1, output: o, input: i))) }
            #expect(net.bias(layer: 1, output: o) == 0)
        }
        #expect(maxLast <= xavier && maxLast > 0.8 * xavier)
        // Everything outside the logical parameters is zero.
        var logicalSum: Float = 0
        for l in 0..<2 {
            for o in 0..<shape.layerSizes[l + 1] {
                for i in 0..<shape.layerSizes[l] {
                    logicalSum += abs(net.weight(layer: l, output: o, input: i))
                }
                logicalSum += abs(net.bias(layer: l, output: o))
            }
        }
        let total = net.parameters.array.reduce(0) { $0 + abs($1) }
        #expect(abs(total - logicalSum) <= 1e-4)
    }

    @Test("vectorised tanh and exp match Foundation to float precision")
    func vectorMath() {
        var worstTanh: Float = 0
        var worstExp: Float = 0
        var x: Float = -20
        while x < 20 {
            var v = SIMD16<Float>()
            for lane in 0..<16 { v[lane] = x + Float(lane) * 0.0007 }
            let t = VectorMath.tanh(v)
            let e = VectorMath.exp(v)
            for lane in 0..<16 {
                let reference = Foundation.tanh(Double(v[lane]))
                worstTanh = max(
                    worstTanh, Float(abs(Double(t[lane]) - reference) / max(abs(reference), 1e-3)))
                #expect(abs(t[lane]) <= 1)
                let ref = Foundation.exp(v[lane])
                worstExp = max(worstExp, abs(e[lane] - ref) / ref)
            }
            x += 0.0113
        }
        // Near zero the relative error stays small too (tanh x ≈ x).
        for k in 1..<2000 {
            let v = Float(k) * 1e-6
            let t = VectorMath.tanh(SIMD16(repeating: v))[0]
            worstTanh = max(
                worstTanh, Float(abs(Double(t) - Foundation.tanh(Double(v))) / Foundation.tanh(Double(v))))
        }
        #expect(worstTanh <= 5e-7)  // relative (absolute below 1e-3)
        #expect(worstExp <= 3e-7)
        #expect(VectorMath.tanh(SIMD16(repeating: .nan))[0].isNaN)
        #expect(VectorMath.tanh(SIMD16(repeating: 1e30))[0] == 1)
        #expect(VectorMath.tanh(SIMD16(repeating: -1e30))[0] == -1)
    }
}
