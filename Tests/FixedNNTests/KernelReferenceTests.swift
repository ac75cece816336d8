import Foundation
import Testing

@testable import FixedNN

/// Every FixedNN kernel at awkward sizes against a naive loop in Double.
///
/// Sizes 1, 5, 63, 64, 65, 127, 255, 257 sit on both sides of the kernels' 6/4/2/1-row blocks,
/// 16-column strips, 8 × 8 transpose tiles and 64-column weight panels. Tolerances: a GEMM
/// element is held to 1e-5 × Σ|a·b| of its own terms (plus 1e-30), which float32 meets with
/// room and a wrong index or a dropped term misses; a network's outputs and gradients to
/// 1e-4 × the largest magnitude of that tensor; Adam's p, m and v to 1e-5 × theirs.
let awkwardSizes = [1, 5, 63, 64, 65, 127, 255, 257]

/// (rows, columns, depth) cases for the GEMM: every size in every position.
let gemmCases: [(m: Int, n: Int, k: Int)] =
    awkwardSizes.indices.map { i in
        (awkwardSizes[i], awkwardSizes[(i + 3) % 8], awkwardSizes[(i + 5) % 8])
    } + awkwardSizes.map { ($0, $0, $0) }

@Suite("FixedNN kernels against naive loops at awkward sizes")
struct KernelReferenceTests {
    @Test("gemmAccumulate C += A·B and C = A·B, A plain or transposed", arguments: gemmCases.indices)
    func gemm(_ index: Int) {
        let (m, nLogical, k) = gemmCases[index]
        let n = MLPShape.stride(nLogical)  // the kernels' column counts are padded to 16
        for transposedA in [false, true] {
            for overwrite in [false, true] {
                // A(r, kk) = a[r·aRow + kk·aCol]; plain: [m][k] with row stride k + 3; transposed: [k][m].
                let aRow = transposedA ? 1 : k + 3
                let aCol = transposedA ? m + 1 : 1
                let aCount = transposedA ? k * (m + 1) : m * (k + 3)
                let a = randomValues(aCount, seed: UInt64(index * 4 + 1))
                let ldb = n + 16
                let b = randomValues(k * ldb, seed: UInt64(index * 4 + 2))
                let ldc = n + 32
                let c0 = randomValues(m * ldc, seed: UInt64(index * 4 + 3))
                var c = c0
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            gemmAccumulate(
                                m: m, n: n, k: k, a: ap.baseAddress!, aRow: aRow, aCol: aCol,
                                b: bp.baseAddress!,
                                ldb: ldb, c: cp.baseAddress!, ldc: ldc, overwrite: overwrite)
                        }
                    }
                }
                var worst = 0.0
                var untouched = true
                for r in 0..<m {
                    for j in 0..<ldc {
                        if j >= n {
                            untouched = untouched && c[r * ldc + j] == c0[r * ldc + j]
                            continue
                        }
                        var sum = overwrite ? 0 : Double(c0[r * ldc + j])
                        var magnitude = abs(sum)
                        for kk in 0..<k {
                            let term = Double(a[r * aRow + kk * aCol]) * Double(b[kk * ldb + j])
                            sum += term
                            magnitude += abs(term)
                        }
                        worst = max(worst, abs(Double(c[r * ldc + j]) - sum) / (magnitude + 1e-30))
                    }
                }
                #expect(
                    worst <= 1e-5,
                    "m \(m) n \(n) k \(k) transposed \(transposedA) overwrite \(overwrite): relative error \(worst)"
                )
                #expect(untouched, "m \(m) n \(n) k \(k): columns past n were written")
            }
        }
    }

    @Test("transposePanels writes Wᵀ [outStride][inStride] with zero padding", arguments: awkwardSizes)
    func transpose(_ inputs: Int) {
        for outputs in awkwardSizes {
            let shape = MLPShape(layerSizes: [inputs, outputs], hidden: .identity)
            var net = MLP(shape: shape)
            let values = randomValues(inputs * outputs, seed: UInt64(inputs * 1000 + outputs))
            for o in 0..<outputs {
                for i in 0..<inputs { net.setWeight(layer: 0, output: o, input: i, values[o * inputs + i]) }
            }
            let stride = shape.outputStride(ofLayer: 0), inputStride = MLPShape.stride(inputs)
            var t = [Float](repeating: .nan, count: stride * inputStride)
            t.withUnsafeMutableBufferPointer { tp in
                transposePanels(
                    UnsafePointer(net.parameters.baseAddress + shape.weightOffset(ofLayer: 0)),
                    inputs: inputs,
                    stride: stride, into: tp.baseAddress!, inputStride: inputStride)
            }
            var wrong = 0
            for o in 0..<stride {
                for i in 0..<inputStride {
                    let want: Float = (o < outputs && i < inputs) ? values[o * inputs + i] : 0
                    if t[o * inputStride + i].bitPattern != want.bitPattern { wrong += 1 }
                }
            }
            #expect(wrong == 0, "in \(inputs) out \(outputs): \(wrong) wrong entries")
        }
    }

    /// Networks: every awkward size as input, hidden and output width, and as the batch.
    static let networks: [(sizes: [Int], batch: Int, activations: [Activation])] = awkwardSizes.indices.map {
        i in
        let s = awkwardSizes
        let acts: [[Activation]] = [
            [.relu, .tanh, .identity], [.tanh, .relu, .tanh], [.relu, .relu, .identity],
        ]
        return ([s[i], s[(i + 3) % 8], s[(i + 5) % 8], s[(i + 1) % 8]], s[(i + 6) % 8], acts[i % 3])
    }

    @Test(
        "batched forward, single-sample inference, backward (parameters and input) and backwardInputOnly match a naive network",
        arguments: networks.indices)
    func network(_ index: Int) {
        let (sizes, batch, acts) = Self.networks[index]
        let shape = MLPShape(layerSizes: sizes, activations: acts)
        var net = MLP(shape: shape)
        let L = shape.layerCount
        var weights: [[Double]] = [], biases: [[Double]] = []  // [l][o·in + i], [l][o]
        for l in 0..<L {
            let fanIn = sizes[l], fanOut = sizes[l + 1]
            let w = randomValues(
                fanIn * fanOut, seed: UInt64(index * 10 + l), scale: 2 / Float(fanIn).squareRoot())
            let b = randomValues(fanOut, seed: UInt64(index * 10 + l + 5), scale: 0.1)
            for o in 0..<fanOut {
                for i in 0..<fanIn { net.setWeight(layer: l, output: o, input: i, w[o * fanIn + i]) }
                net.setBias(layer: l, output: o, b[o])
            }
            weights.append(w.map(Double.init))
            biases.append(b.map(Double.init))
        }
        let x = randomValues(batch * sizes[0], seed: UInt64(index + 900))
        let dy = randomValues(batch * sizes[L], seed: UInt64(index + 901))

        // Naive forward, keeping every layer's output.
        var hs: [[Double]] = [x.map(Double.init)]  // [layer][r·width + j]
        for l in 0..<L {
            let fanIn = sizes[l], fanOut = sizes[l + 1]
            var y = [Double](repeating: 0, count: batch * fanOut)
            for r in 0..<batch {
                for o in 0..<fanOut {
                    var z = biases[l][o]
                    for i in 0..<fanIn { z += weights[l][o * fanIn + i] * hs[l][r * fanIn + i] }
                    switch acts[l] {
                    case .identity: y[r * fanOut + o] = z
                    case .relu: y[r * fanOut + o] = max(z, 0)
                    case .tanh: y[r * fanOut + o] = Foundation.tanh(z)
                    }
                }
            }
            hs.append(y)
        }
        // Naive backward: dW[l][o·in + i] = Σ_r dZ[r][o]·h[r][i], db = Σ_r dZ, dX = dZ·W.
        var upstream = dy.map(Double.init)
        var dW: [[Double]] = Array(repeating: [], count: L), dB: [[Double]] = Array(repeating: [], count: L)
        for l in stride(from: L - 1, through: 0, by: -1) {
            let fanIn = sizes[l], fanOut = sizes[l + 1]
            var dz = upstream
            for r in 0..<batch {
                for o in 0..<fanOut {
                    let y = hs[l + 1][r * fanOut + o]
                    switch acts[l] {
                    case .identity: break
                    case .relu: if y <= 0 { dz[r * fanOut + o] = 0 }
                    case .tanh: dz[r * fanOut + o] *= 1 - y * y
                    }
                }
            }
            var w = [Double](repeating: 0, count: fanIn * fanOut), b = [Double](repeating: 0, count: fanOut)
            var dx = [Double](repeating: 0, count: batch * fanIn)
            for r in 0..<batch {
                for o in 0..<fanOut {
                    let d = dz[r * fanOut + o]
                    b[o] += d
                    for i in 0..<fanIn {
                        w[o * fanIn + i] += d * hs[l][r * fanIn + i]
                        dx[r * fanIn + i] += d * weights[l][o * fanIn + i]
                    }
                }
            }
            dW[l] = w
            dB[l] = b
            upstream = dx
        }

        func check(
            _ name: String, _ got: [Float], _ want: [Double],
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            let scale = want.map(abs).max() ?? 0
            var worst = 0.0, at = -1
            for (j, (g, w)) in zip(got, want).enumerated() where abs(Double(g) - w) > worst {
                worst = abs(Double(g) - w)
                at = j
            }
            #expect(got.count == want.count, sourceLocation: sourceLocation)
            #expect(
                worst <= 1e-4 * scale + 1e-30,
                "\(shape) batch \(batch) \(name)[\(at)]: error \(worst), scale \(scale)",
                sourceLocation: sourceLocation)
        }

        // Batched forward.
        var ws = MLPWorkspace(shape: shape, maxBatch: batch)
        for r in 0..<batch {
            for i in 0..<sizes[0] { ws.input[r * ws.inputStride + i] = x[r * sizes[0] + i] }
        }
        ws.forward(net, batch: batch)
        for l in 0..<L {
            let out = ws.layerOutput(l), width = sizes[l + 1], stride = MLPShape.stride(width)
            check(
                "forward layer \(l)", (0..<(batch * width)).map { out[($0 / width) * stride + $0 % width] },
                hs[l + 1])
        }
        // Single-sample inference.
        var scratch = InferenceScratch(shape: shape)
        var single = [Float](repeating: 0, count: batch * sizes[L])
        for r in 0..<batch {
            x.withUnsafeBufferPointer { xp in
                single.withUnsafeMutableBufferPointer { yp in
                    net.infer(
                        xp.baseAddress! + r * sizes[0], into: yp.baseAddress! + r * sizes[L],
                        scratch: &scratch)
                }
            }
        }
        check("infer", single, hs[L])

        // Backward: adds into a pre-filled gradient buffer.
        let outStride = ws.outputStride
        for r in 0..<batch {
            for j in 0..<outStride {
                ws.outputGradient[r * outStride + j] = j < sizes[L] ? dy[r * sizes[L] + j] : 0
            }
        }
        var gradient = net.makeGradient()
        let prefill = randomValues(gradient.count, seed: UInt64(index + 77))
        for i in 0..<gradient.count { gradient[i] = prefill[i] }
        ws.backward(net, batch: batch, accumulatingInto: &gradient, inputGradient: true)
        for l in 0..<L {
            let fanIn = sizes[l], fanOut = sizes[l + 1]
            var gw = [Float](), want = [Double]()
            for o in 0..<fanOut {
                for i in 0..<fanIn {
                    let index = shape.weightIndex(layer: l, output: o, input: i)
                    gw.append(gradient[index] - prefill[index])
                    want.append(dW[l][o * fanIn + i])
                }
            }
            check("dW layer \(l)", gw, want)
            check(
                "db layer \(l)",
                (0..<fanOut).map {
                    gradient[shape.biasIndex(layer: l, output: $0)]
                        - prefill[shape.biasIndex(layer: l, output: $0)]
                },
                dB[l])
        }
        let inStride = ws.inputStride
        let dx = (0..<(batch * sizes[0])).map { ws.inputGradient[($0 / sizes[0]) * inStride + $0 % sizes[0]] }
        check("dX", dx, upstream)

        // backwardInputOnly: the same input gradient, no parameter gradient.
        var inputOnly = MLPWorkspace(shape: shape, maxBatch: batch)
        for r in 0..<batch {
            for i in 0..<sizes[0] { inputOnly.input[r * inputOnly.inputStride + i] = x[r * sizes[0] + i] }
            for j in 0..<outStride {
                inputOnly.outputGradient[r * outStride + j] = ws.outputGradient[r * outStride + j]
            }
        }
        inputOnly.forward(net, batch: batch)
        inputOnly.backwardInputOnly(net, batch: batch)
        let dxOnly = (0..<(batch * sizes[0])).map {
            inputOnly.inputGradient[($0 / sizes[0]) * inStride + $0 % sizes[0]]
        }
        #expect(
            dxOnly.map(\.bitPattern) == dx.map(\.bitPattern),
            "\(shape) batch \(batch): backwardInputOnly differs")
    }

    @Test(
        "Adam matches the PyTorch formula in Double over three steps, SIMD body and scalar tail",
        arguments: awkwardSizes)
    func adam(_ n: Int) {
        var optimizer = Adam(parameterCount: n, learningRate: 1e-2)
        var parameters = FloatBuffer(count: n)
        var gradient = FloatBuffer(count: n)
        let p0 = randomValues(n, seed: UInt64(n))
        for i in 0..<n { parameters[i] = p0[i] }
        var p = p0.map(Double.init), m = [Double](repeating: 0, count: n), v = m
        // The optimiser's Float constants, widened: Float(0.999) alone moves 1 − β2 by 1.3e-5.
        let (b1, b2, eps, lr) = (
            Double(Float(0.9)), Double(Float(0.999)), Double(Float(1e-8)), Double(Float(1e-2))
        )
        for t in 1...3 {
            let g = randomValues(n, seed: UInt64(n * 10 + t), scale: 0.5)
            for i in 0..<n { gradient[i] = g[i] }
            optimizer.step(&parameters, gradient: gradient)
            for i in 0..<n {
                let gi = Double(g[i])
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                let mHat = m[i] / (1 - Foundation.pow(b1, Double(t)))
                let vHat = v[i] / (1 - Foundation.pow(b2, Double(t)))
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
            // Each of p, m, v to 1e-5 of its largest magnitude (entries near zero are differences).
            func error(_ got: (Int) -> Float, _ want: [Double]) -> Double {
                let scale = want.map(abs).max() ?? 1
                return (0..<n).map { abs(Double(got($0)) - want[$0]) }.max()! / scale
            }
            let worst = max(
                error({ parameters[$0] }, p), error({ optimizer.firstMoment[$0] }, m),
                error({ optimizer.secondMoment[$0] }, v))
            #expect(worst <= 1e-5, "n \(n) step \(t): error \(worst) of the largest magnitude")
            #expect(optimizer.stepCount == t)
        }
    }
}
