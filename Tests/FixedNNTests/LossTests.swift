import Foundation
import Testing

@testable import FixedNN

@Suite("Loss helpers")
struct LossTests {
    typealias LossFunction = (_ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>?) -> Float

    /// Central differences in Double of a Double re-implementation against the Float gradient.
    func check(
        count n: Int, stride: Int, predictions: [Float], float: LossFunction, double: ([Double]) -> Double
    ) -> Bool {
        var grad = [Float](repeating: 0, count: predictions.count)
        let value = predictions.withUnsafeBufferPointer { p in
            grad.withUnsafeMutableBufferPointer { g in float(p.baseAddress!, g.baseAddress!) }
        }
        let x = predictions.map(Double.init)
        guard abs(Double(value) - double(x)) <= 1e-5 * max(1, abs(double(x))) else { return false }
        var analytic: [Double] = []
        var numeric: [Double] = []
        let h = 1e-6
        for k in 0..<predictions.count {
            var p = x, q = x
            p[k] += h
            q[k] -= h
            analytic.append(Double(grad[k]))
            numeric.append((double(p) - double(q)) / (2 * h))
        }
        return relativeErrorsOK(analytic, numeric)
    }

    let n = 7
    let stride = 2

    @Test("mean squared error: value (no ½) and gradient")
    func mse() {
        let p = randomValues(n * stride, seed: 1, scale: 3)
        let y = randomValues(n, seed: 2, scale: 3)
        #expect(
            check(
                count: n, stride: stride, predictions: p,
                float: { pp, g in
                    Loss.meanSquaredError(
                        predictions: pp, predictionStride: stride, targets: y, count: n, gradient: g,
                        gradientStride: stride)
                },
                double: { x in (0..<n).reduce(0) { $0 + pow(x[$1 * stride] - Double(y[$1]), 2) } / Double(n) }
            ))
        let one: [Float] = [3]
        let value = Loss.meanSquaredError(
            predictions: one, predictionStride: 1, targets: [1], count: 1, gradient: nil, gradientStride: 1)
        #expect(value == 4)
    }

    @Test("weighted mean squared error: value and gradient")
    func weightedMSE() {
        let p = randomValues(n * stride, seed: 3, scale: 3)
        let y = randomValues(n, seed: 4, scale: 3)
        let w = randomValues(n, seed: 5).map { abs($0) }
        #expect(
            check(
                count: n, stride: stride, predictions: p,
                float: { pp, g in
                    Loss.weightedMeanSquaredError(
                        predictions: pp, predictionStride: stride, targets: y, weights: w, count: n,
                        gradient: g, gradientStride: stride)
                },
                double: { x in
                    (0..<n).reduce(0) { $0 + Double(w[$1]) * pow(x[$1 * stride] - Double(y[$1]), 2) }
                        / Double(n)
                }))
    }

    @Test(
        "two-class softmax cross-entropy: value and gradient for both labels, stable at large logits",
        arguments: [0, 1])
    func crossEntropy(_ label: Int) {
        let stride = 3
        let p = randomValues(n * stride, seed: 6, scale: 4)
        func reference(_ x: [Double]) -> Double {
            (0..<n).reduce(0) { acc, i in
                let l0 = x[i * stride], l1 = x[i * stride + 1]
                let mx = max(l0, l1)
                let lse = mx + log(exp(l0 - mx) + exp(l1 - mx))
                return acc + lse - (label == 0 ? l0 : l1)
            } / Double(n)
        }
        #expect(
            check(
                count: n, stride: stride, predictions: p,
                float: { pp, g in
                    Loss.softmaxCrossEntropy2(
                        logits: pp, logitStride: stride, count: n, label: label, gradient: g,
                        gradientStride: stride)
                }, double: reference))
        let extreme: [Float] = [500, -500]
        var g: [Float] = [0, 0]
        let v = Loss.softmaxCrossEntropy2(
            logits: extreme, logitStride: 2, count: 1, label: 1, gradient: &g, gradientStride: 2)
        #expect(abs(v - 1000) <= 1e-3 && abs(g[0] - 1) <= 1e-6 && abs(g[1] + 1) <= 1e-6)
    }

    @Test("expectile loss: value and gradient on both sides of zero error", arguments: [Float(0.5), 0.9])
    func expectile(_ tau: Float) {
        let p = randomValues(n * stride, seed: 7, scale: 3)
        let y = randomValues(n, seed: 8, scale: 3)
        #expect(
            check(
                count: n, stride: stride, predictions: p,
                float: { pp, g in
                    Loss.expectile(
                        predictions: pp, predictionStride: stride, targets: y, count: n, tau: tau,
                        gradient: g, gradientStride: stride)
                },
                double: { x in
                    (0..<n).reduce(0) { acc, i in
                        let e = Double(y[i]) - x[i * stride]
                        return acc + abs(Double(tau) - (e < 0 ? 1 : 0)) * e * e
                    } / Double(n)
                }))
    }

    @Test("accumulate adds and scale multiplies the gradient")
    func accumulateAndScale() {
        let p: [Float] = [2, 5]
        var g: [Float] = [1, 1]
        _ = Loss.meanSquaredError(
            predictions: p, predictionStride: 1, targets: [1, 1], count: 2, gradient: &g,
            gradientStride: 1, scale: 0.5, accumulate: true)
        let expected: [Float] = [1.5, 3]  // 1 + 0.5·2(p − y)/2
        #expect(g == expected)
    }
}
