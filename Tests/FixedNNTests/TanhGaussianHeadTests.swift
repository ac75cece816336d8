import Foundation
import Testing

@testable import FixedNN

@Suite("Tanh-Gaussian policy head")
struct TanhGaussianHeadTests {
    /// Double reference: actions and log π for one row.
    static func reference(
        mu: [Double], raw: [Double], m: Double, c: Double, eps: [Double]
    ) -> (a: [Double], logProb: Double) {
        var a: [Double] = []
        var logProb = 0.0
        for j in 0..<mu.count {
            let logStd = min(max(m * raw[j] + c, -20), 2)
            let u = mu[j] + exp(logStd) * eps[j]
            a.append(tanh(u))
            let softplus = max(-2 * u, 0) + log1p(exp(-abs(-2 * u)))
            logProb +=
                -0.5 * eps[j] * eps[j] - logStd - 0.5 * log(2 * Double.pi) - 2 * (log(2) - u - softplus)
        }
        return (a, logProb)
    }

    @Test("log π matches the Gaussian density with the tanh change of variables")
    func logProbMatchesDefinition() {
        var head = TanhGaussianHead(actionSize: 2, maxBatch: 1)
        let out: [Float] = [0.3, -1.2, 0.4, -0.7]
        let noise: [Float] = [0.5, -1.5]
        let m: Float = 1, c: Float = -1
        head.forward(networkOutput: out, stride: 4, batch: 1, logStdScale: m, logStdBias: c, noise: noise)
        var expected = 0.0
        for j in 0..<2 {
            let sigma = exp(Double(m * out[2 + j] + c))
            let u = Double(out[j]) + sigma * Double(noise[j])
            let a = tanh(u)
            let gauss =
                -pow(u - Double(out[j]), 2) / (2 * sigma * sigma) - log(sigma) - 0.5 * log(2 * Double.pi)
            expected += gauss - log(1 - a * a)
            #expect(abs(Double(head.actions[j]) - a) <= 1e-6)
        }
        #expect(abs(Double(head.logProbabilities[0]) - expected) <= 1e-4)
        // Single-sample path agrees with the batched one.
        var action: [Float] = [0, 0]
        let lp = TanhGaussianHead.sampleAction(
            networkOutput: out, actionSize: 2, logStdScale: m, logStdBias: c, noise: noise, into: &action)
        #expect(abs(lp - head.logProbabilities[0]) <= 1e-6)
        #expect(action[0] == head.actions[0] && action[1] == head.actions[1])
        var det: [Float] = [0, 0]
        TanhGaussianHead.deterministicAction(networkOutput: out, actionSize: 2, into: &det)
        #expect(abs(det[0] - tanh(0.3)) <= 1e-7 && abs(det[1] - tanh(-1.2)) <= 1e-7)
    }

    @Test("gradients of a and log π with respect to μ, raw, m, c match finite differences, clamp included")
    func gradients() {
        let n = 3, batch = 4, stride = 8
        let m: Float = 1.3, c: Float = -0.8
        var out = randomValues(batch * stride, seed: 77, scale: 1.5)
        // Row 3 drives logσ beyond both clamp limits: zero gradient through raw there.
        out[3 * stride + n] = 40
        out[3 * stride + n + 1] = -40
        let noise = randomValues(batch * n, seed: 78, scale: 2)
        let gA = randomValues(batch * n, seed: 79)
        let gL = randomValues(batch, seed: 80)
        var head = TanhGaussianHead(actionSize: n, maxBatch: batch)
        head.forward(
            networkOutput: out, stride: stride, batch: batch, logStdScale: m, logStdBias: c, noise: noise)
        var grad = [Float](repeating: 9, count: batch * stride)
        var dm: Float = 0.25, dc: Float = -0.5  // accumulated into
        head.backward(
            actionGradient: gA, logProbabilityGradient: gL, batch: batch, logStdScale: m,
            networkOutputGradient: &grad, stride: stride, logStdScaleGradient: &dm, logStdBiasGradient: &dc)

        func loss(_ o: [Double], _ m: Double, _ c: Double) -> Double {
            var total = 0.0
            for r in 0..<batch {
                let (a, lp) = Self.reference(
                    mu: (0..<n).map { o[r * stride + $0] }, raw: (0..<n).map { o[r * stride + n + $0] }, m: m,
                    c: c,
                    eps: (0..<n).map { Double(noise[r * n + $0]) })
                for j in 0..<n { total += Double(gA[r * n + j]) * a[j] }
                total += Double(gL[r]) * lp
            }
            return total
        }
        let o = out.map(Double.init)
        let h = 1e-6
        var analytic: [Double] = []
        var numeric: [Double] = []
        for r in 0..<batch {
            for k in 0..<(2 * n) {
                var p = o, q = o
                p[r * stride + k] += h
                q[r * stride + k] -= h
                analytic.append(Double(grad[r * stride + k]))
                numeric.append((loss(p, Double(m), Double(c)) - loss(q, Double(m), Double(c))) / (2 * h))
            }
            // Columns beyond 2·actionSize are untouched.
            #expect(grad[r * stride + 2 * n] == 9 && grad[r * stride + 7] == 9)
        }
        analytic.append(Double(dm - 0.25))
        numeric.append((loss(o, Double(m) + h, Double(c)) - loss(o, Double(m) - h, Double(c))) / (2 * h))
        analytic.append(Double(dc + 0.5))
        numeric.append((loss(o, Double(m), Double(c) + h) - loss(o, Double(m), Double(c) - h)) / (2 * h))
        #expect(relativeErrorsOK(analytic, numeric))
        #expect(grad[3 * stride + n] == 0 && grad[3 * stride + n + 1] == 0)
    }
}
