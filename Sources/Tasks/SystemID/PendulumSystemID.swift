import Control

#if canImport(Glibc)
import Glibc
#endif

/// System identification of the pendulum's onboard-simulator parameters from a logged
/// excitation on a real (or emulated) robot (`robotctl calibrate --sysid`). The host's ticks
/// may jitter: windows holding irregular sample spacings (late host ticks) are left out of the
/// fit and of the error. On the emulator under heavy machine load this kept every parameter
/// within 10 %.
///
/// Input: joint angle θ (rad, calibrated) and the torque command u (N·m, after the
/// safety filter) at every control tick.
///
/// Model (the simulator's, `PendulumParameters`): I θ̈ = (m g l / 2) sin θ + k u(t − d) − b θ̇ − c sgn θ̇.
/// Dividing by I gives a regression that is linear in (α, βk, βb, βc) with α = m g l/(2I),
/// β = 1/I. θ̇ and θ̈ come from central differences of θ; the equation and its regressors are
/// all passed through the same triangular low-pass (two moving averages), which keeps the
/// equation exact while averaging out encoder quantisation. The latency d is the integer
/// number of ticks (0...maxLatency) with the smallest residual. Mass, length and gravity are
/// taken as known (the robot's geometry), so the fit gives the inertia I, the actuator gain k,
/// the viscous damping b, the Coulomb friction c and d.
///
/// The one-step prediction error is the RMS, over held-out ticks (the last `heldOutFraction`
/// of the log, not used by the fit), of the difference between the measured change of θ̇ in
/// one tick and the change the simulator's model predicts, both through the same low-pass
/// (rad/s per tick).
public enum PendulumSystemID {
    /// Fit settings.
    public struct Options: Sendable {
        /// Largest latency tried, ticks.
        public var maxLatencyTicks = 4
        /// Length of each of the two moving averages of the low-pass, ticks (the filter spans
        /// 2·length − 1 ticks).
        public var filterLength = 15
        /// Share of the log (at its end) held out for the prediction error.
        public var heldOutFraction = 0.3
        public init() {}
    }

    /// What the fit found.
    public struct Fit: Sendable, Equatable {
        /// The nominal parameters with inertia, actuator gain, damping, Coulomb friction and
        /// latency replaced by the fitted values.
        public var parameters: PendulumParameters
        /// Fitted values by gap-parameter name ("inertia", "actuator_gain", "damping",
        /// "coulomb", "latency_ticks").
        public var values: [String: Double]
        /// Standard errors by the same names (latency: 0, it is chosen, not estimated).
        public var standardErrors: [String: Double]
        /// Held-out one-step prediction RMS error (rad/s per tick) with the nominal and the
        /// fitted parameters.
        public var heldOutErrorBefore: Double
        public var heldOutErrorAfter: Double
        /// Residual RMS of the fit for each latency tried (index = ticks).
        public var residualByLatency: [Double]
        /// Ticks used for the fit and held out.
        public var fitTicks: Int
        public var heldOutTicks: Int

        /// The calibration file's `system_identification` object.
        public var systemIdentification: SystemIdentification {
            SystemIdentification(
                parameters: values, standardErrors: standardErrors, heldOutErrorBefore: heldOutErrorBefore,
                heldOutErrorAfter: heldOutErrorAfter)
        }
    }

    /// A fit failure: what is wrong with the log and what to do.
    public struct FitError: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ d: String) { description = "system identification: " + d }
    }

    /// Fits the model to `theta` and `torque` (one value per tick, period `dt`), starting
    /// from `nominal` (its mass, length and gravity are kept). `time` (seconds, the robot's
    /// measurement time of each sample), when given, marks irregular ticks: every filter
    /// window holding a spacing more than 25 % off `dt` (50 %, 100 % if that leaves too little
    /// data) is left out of the fit and of the error.
    public static func fit(
        theta: [Double], torque: [Double], dt: Double, nominal: PendulumParameters, time: [Double]? = nil,
        options: Options = Options()
    ) throws(FitError) -> Fit {
        let n = theta.count
        let span = 2 * options.filterLength - 1
        guard torque.count == n else { throw FitError("\(theta.count) angles but \(torque.count) torques") }
        guard n >= 20 * span + options.maxLatencyTicks + 2 else {
            throw FitError("only \(n) ticks logged, at least \(20 * span + options.maxLatencyTicks + 2) are needed; excite longer (--sysid-seconds)")
        }
        guard theta.allSatisfy(\.isFinite), torque.allSatisfy(\.isFinite) else {
            throw FitError("the log holds non-finite values; check the encoder")
        }
        // Raw signals on ticks 1...n-2.
        var acc = [Double](repeating: 0, count: n)
        var vel = [Double](repeating: 0, count: n)
        for k in 1..<(n - 1) {
            acc[k] = (theta[k + 1] - 2 * theta[k] + theta[k - 1]) / (dt * dt)
            vel[k] = (theta[k + 1] - theta[k - 1]) / (2 * dt)
        }
        let sinTheta = theta.map { sin($0) }
        let smoothVel = lowPass(vel, options.filterLength)
        let sgn = smoothVel.map { $0 > 0 ? 1.0 : ($0 < 0 ? -1.0 : 0.0) }
        // Filtered signals, valid where the whole filter window lies in 1...n-2 (and past the latency).
        let fAcc = lowPass(acc, options.filterLength)
        let fSin = lowPass(sinTheta, options.filterLength)
        let fVel = lowPass(vel, options.filterLength)
        let fSgn = lowPass(sgn, options.filterLength)
        let fTorque = (0...options.maxLatencyTicks).map { d in
            lowPass((0..<n).map { $0 >= d ? torque[$0 - d] : 0 }, options.filterLength)
        }
        let half = options.filterLength - 1
        let first = 1 + half + options.maxLatencyTicks
        let last = n - 2 - half
        let heldOutStart = first + Int(Double(last - first) * (1 - options.heldOutFraction))
        // Irregular samples (host jitter, late ticks) break the fixed-spacing differences: a
        // filtered sample is used only if its whole window (plus the latency shift) is
        // regular. The tolerance widens (25 %, 50 %, 100 % of dt) until enough data is left.
        func rows(tolerance: Double) -> (fit: [Int], heldOut: [Int]) {
            var badBefore = [Int](repeating: 0, count: n + 1)
            for k in 0..<n {
                var bad = false
                if let time, time.count == n, k > 0 { bad = !(abs(time[k] - time[k - 1] - dt) <= tolerance * dt) }
                badBefore[k + 1] = badBefore[k] + (bad ? 1 : 0)
            }
            func regular(_ k: Int) -> Bool {
                let lo = max(0, k - half - 1 - options.maxLatencyTicks), hi = min(n, k + half + 2)
                return badBefore[hi] - badBefore[lo] == 0
            }
            return ((first..<(heldOutStart - span)).filter(regular), (heldOutStart..<(last + 1)).filter(regular))
        }
        var selected = rows(tolerance: 0.25)
        for tolerance in [0.5, 1.0] where selected.fit.count < (heldOutStart - span - first) / 3 {
            selected = rows(tolerance: tolerance)
        }
        let fitRange = selected.fit
        let heldOutRange = selected.heldOut
        guard fitRange.count > 10 * span, heldOutRange.count > 2 * span else {
            throw FitError("the log is too short (or has too many late ticks) to fit and hold data out; excite longer")
        }

        var best: (d: Int, coefficients: [Double], covariance: [[Double]], rss: Double)?
        var residualByLatency: [Double] = []
        for d in 0...options.maxLatencyTicks {
            var xtx = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 4)
            var xty = [Double](repeating: 0, count: 4)
            for k in fitRange {
                let x = [fSin[k], fTorque[d][k], fVel[k], fSgn[k]]
                for i in 0..<4 {
                    xty[i] += x[i] * fAcc[k]
                    for j in 0..<4 { xtx[i][j] += x[i] * x[j] }
                }
            }
            guard let inverse = invert(xtx) else {
                throw FitError("the excitation does not separate gravity, torque, damping and friction (singular regression); excite with larger, more varied torques")
            }
            let c = (0..<4).map { i in (0..<4).reduce(0) { $0 + inverse[i][$1] * xty[$1] } }
            var rss = 0.0
            for k in fitRange {
                let e = fAcc[k] - (c[0] * fSin[k] + c[1] * fTorque[d][k] + c[2] * fVel[k] + c[3] * fSgn[k])
                rss += e * e
            }
            residualByLatency.append((rss / Double(fitRange.count)).squareRoot())
            if best == nil || rss < best!.rss { best = (d, c, inverse, rss) }
        }
        let b = best!
        let alpha = b.coefficients[0]
        guard alpha > 0, b.coefficients[1] > 0 else {
            throw FitError("the fit gives a non-physical model (gravity term \(alpha), torque term \(b.coefficients[1])); check the encoder direction and zero (run the interactive steps), then excite again")
        }
        let gravityTorque = nominal.mass * nominal.gravity * nominal.length / 2
        let inertia = gravityTorque / alpha
        let gain = b.coefficients[1] * inertia
        let damping = max(0, -b.coefficients[2] * inertia)
        let coulomb = max(0, -b.coefficients[3] * inertia)
        // Standard errors: residual variance, inflated by the filter span (neighbouring
        // filtered residuals are correlated), propagated to the physical parameters.
        let dof = Double(max(1, fitRange.count - 4))
        let sigma2 = b.rss / dof * Double(span)
        let se = (0..<4).map { (sigma2 * max(0, b.covariance[$0][$0])).squareRoot() }
        let seInertia = inertia * se[0] / alpha
        func product(_ coefficient: Double, _ seCoefficient: Double) -> Double {
            ((seCoefficient * inertia) * (seCoefficient * inertia) + (coefficient * seInertia) * (coefficient * seInertia)).squareRoot()
        }
        var fitted = nominal
        fitted.inertia = inertia
        fitted.actuatorGain = gain
        fitted.damping = damping
        fitted.coulomb = coulomb
        fitted.latencyTicks = b.d

        func predictionError(_ p: PendulumParameters) -> Double {
            let a = p.gravityCoefficient, beta = p.inverseInertia
            let d = min(p.latencyTicks, options.maxLatencyTicks)
            var sum = 0.0
            for k in heldOutRange {
                let predicted = a * fSin[k] + beta * (p.actuatorGain * fTorque[d][k] - p.damping * fVel[k] - p.coulomb * fSgn[k])
                let e = (fAcc[k] - predicted) * dt
                sum += e * e
            }
            return (sum / Double(heldOutRange.count)).squareRoot()
        }
        return Fit(
            parameters: fitted,
            values: ["inertia": inertia, "actuator_gain": gain, "damping": damping, "coulomb": coulomb, "latency_ticks": Double(b.d)],
            standardErrors: [
                "inertia": seInertia, "actuator_gain": product(b.coefficients[1], se[1]),
                "damping": product(b.coefficients[2], se[2]), "coulomb": product(b.coefficients[3], se[3]), "latency_ticks": 0,
            ],
            heldOutErrorBefore: predictionError(nominal), heldOutErrorAfter: predictionError(fitted),
            residualByLatency: residualByLatency, fitTicks: fitRange.count, heldOutTicks: heldOutRange.count)
    }

    /// Two centred moving averages of length `m` (a triangular filter of 2m − 1 taps).
    /// Values within m − 1 of either end are left unfiltered (callers do not use them).
    static func lowPass(_ x: [Double], _ m: Int) -> [Double] {
        movingAverage(movingAverage(x, m), m)
    }

    private static func movingAverage(_ x: [Double], _ m: Int) -> [Double] {
        let n = x.count
        var out = x
        guard n > m else { return out }
        let left = (m - 1) / 2, right = m - 1 - left
        var sum = 0.0
        for i in 0..<m { sum += x[i] }
        // Window [k - left, k + right].
        var k = left
        while true {
            out[k] = sum / Double(m)
            if k + right + 1 >= n { break }
            sum += x[k + right + 1] - x[k - left]
            k += 1
        }
        return out
    }

    /// Inverse of a small symmetric matrix by Gauss–Jordan with partial pivoting; nil if singular.
    static func invert(_ a: [[Double]]) -> [[Double]]? {
        let n = a.count
        var m = a
        var inv = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        let scale = (0..<n).map { abs(a[$0][$0]) }.max() ?? 1
        for col in 0..<n {
            var pivot = col
            for r in col..<n where abs(m[r][col]) > abs(m[pivot][col]) { pivot = r }
            guard abs(m[pivot][col]) > 1e-12 * max(scale, 1e-300) else { return nil }
            m.swapAt(col, pivot)
            inv.swapAt(col, pivot)
            let p = m[col][col]
            for j in 0..<n {
                m[col][j] /= p
                inv[col][j] /= p
            }
            for r in 0..<n where r != col {
                let f = m[r][col]
                if f == 0 { continue }
                for j in 0..<n {
                    m[r][j] -= f * m[col][j]
                    inv[r][j] -= f * inv[col][j]
                }
            }
        }
        return inv
    }
}
