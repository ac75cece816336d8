#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A logged excitation run of the pendulum: what system identification fits.
public struct PendulumExcitationLog: Sendable {
    /// Control period, s.
    public var dt: Double
    /// Measured joint angle at each tick, rad (calibrated: 0 upright, continuous).
    public var positions: [Double]
    /// Torque commanded at each tick (after reading `positions[k]`), N·m.
    public var commands: [Double]

    public init(dt: Double, positions: [Double], commands: [Double]) {
        self.dt = dt
        self.positions = positions
        self.commands = commands
    }
}

/// One identified parameter with its fit standard error.
public struct IdentifiedParameter: Sendable, Equatable {
    /// The onboard simulator's parameter name (`PendulumParameters`), e.g. "inertia".
    public var name: String
    public var value: Double
    /// Standard error of the fit (Newey–West, delta method for derived parameters).
    public var standardError: Double
    public var unit: String
}

/// What `PendulumSystemID.fit` found.
public struct PendulumSystemIDResult: Sendable {
    /// The nominal parameters with the identified ones written in.
    public var fitted: PendulumParameters
    /// The latency chosen by the search, ticks.
    public var latencyTicks: Int
    /// Residual sum of squares of each latency candidate 0...maxLatency (training windows).
    public var latencyResiduals: [Double]
    /// inertia, damping, coulomb, actuator_gain, with standard errors.
    public var parameters: [IdentifiedParameter]
    /// Held-out RMS error of the window-averaged acceleration the model predicts (triangular
    /// window of ±n ticks), rad/s²:
    /// nominal model, then fitted model.
    public var heldOutAccelerationError: (before: Double, after: Double)
    /// Held-out RMS error of one-tick velocity predictions from smoothed states, rad/s:
    /// nominal model, then fitted model.
    public var heldOutOneStepError: (before: Double, after: Double)
    /// Windows used for the fit and for the held-out evaluation.
    public var trainingWindows: Int
    public var heldOutWindows: Int

    /// The parameter named `name`.
    public func parameter(_ name: String) -> IdentifiedParameter? {
        parameters.first { $0.name == name }
    }
}

/// System identification of the onboard pendulum simulator from logged excitation data
/// (for `robotctl calibrate --sysid`).
///
/// The simulator's discrete model, θ_{j+1} − 2θ_j + θ_{j−1} = dt² f_j with
/// f_j = α sin θ_j + βk u_{j−L} − βb θ̇_j − βc sgn θ̇_j (θ̇_j = (θ_j − θ_{j−1})/dt),
/// summed with triangular weights over ±n ticks gives exactly
/// (θ_{k+n} − 2θ_k + θ_{k−n}) / dt² = Σ_j (n − |j − k|) f_j,
/// which is linear in (α, βk, βb, βc) and averages encoder quantisation over 2n ticks.
/// Linear least squares gives the four coefficients for each latency L in 0...maxLatency; the
/// L with the smallest residual wins. With the gravity torque m g l/2 known from the
/// configured mass, length and gravity (a scale, a ruler): I = m g (l/2)/α, k = βk I,
/// b = βb I, c = βc I.
public enum PendulumSystemID {
    /// Fits `log`. `nominal` supplies mass, length, gravity (taken as known), the limits and
    /// time step, and is the "before" model of the held-out comparison. The last
    /// `1 − trainFraction` of the log is held out.
    public static func fit(
        _ log: PendulumExcitationLog, nominal: PendulumParameters, window n: Int = 8,
        maxLatency: Int = 4, trainFraction: Double = 0.7
    ) throws(SimError) -> PendulumSystemIDResult {
        let count = log.positions.count
        guard log.commands.count >= count - 1, count > 8 * n + 20 else {
            throw SimError(
                "system identification: \(count) positions and \(log.commands.count) commands; log at least \(8 * n + 20) ticks with one command per tick"
            )
        }
        guard (0...maxSimLatencyTicks).contains(maxLatency), n >= 1 else {
            throw SimError(
                "system identification: window must be ≥ 1 and maxLatency in 0...\(maxSimLatencyTicks)")
        }
        let dt = log.dt
        let theta = log.positions
        let split = Int(Double(count) * trainFraction)
        // Sign of a smoothed velocity for the Coulomb term (central difference over ±3 ticks).
        let smooth = smoothedVelocity(theta, dt: dt, half: 3)
        let first = n + maxLatency + 4
        let last = count - n - 4
        let trainRange = first..<(split - n)
        let testRange = (split + n)..<last
        guard trainRange.count > 40, testRange.count > 20 else {
            throw SimError(
                "system identification: the log is too short to split into fit and held-out parts; log longer"
            )
        }
        let lag = 2 * n
        var fits: [LeastSquaresFit] = []
        var residuals: [Double] = []
        for latency in 0...maxLatency {
            let (x, y) = windows(
                theta, log.commands, smooth, dt: dt, n: n, latency: latency, range: trainRange)
            let f = try LeastSquaresFit.fit(x: x, y: y, parameters: 4, lag: lag)
            fits.append(f)
            residuals.append(f.residualSumOfSquares)
        }
        let latency = residuals.indices.min { residuals[$0] < residuals[$1] }!
        let f = fits[latency]
        let c = f.coefficients
        let gravityTorque = nominal.mass * nominal.gravity * 0.5 * nominal.length
        let inertia = gravityTorque / c[0]
        func se(_ gradient: [Double]) -> Double {
            var v = 0.0
            for i in 0..<4 { for j in 0..<4 { v += gradient[i] * f.covariance[i * 4 + j] * gradient[j] } }
            return v.squareRoot()
        }
        let a2 = c[0] * c[0]
        let parameters = [
            IdentifiedParameter(
                name: "inertia", value: inertia, standardError: se([-gravityTorque / a2, 0, 0, 0]),
                unit: "kg*m^2"),
            IdentifiedParameter(
                name: "actuator_gain", value: c[1] * inertia,
                standardError: se([-c[1] * gravityTorque / a2, inertia, 0, 0]), unit: "1"),
            IdentifiedParameter(
                name: "damping", value: c[2] * inertia,
                standardError: se([-c[2] * gravityTorque / a2, 0, inertia, 0]), unit: "N*m*s/rad"),
            IdentifiedParameter(
                name: "coulomb", value: c[3] * inertia,
                standardError: se([-c[3] * gravityTorque / a2, 0, 0, inertia]), unit: "N*m"),
        ]
        var fitted = nominal
        fitted.inertia = inertia
        fitted.actuatorGain = max(0, c[1] * inertia)
        fitted.damping = max(0, c[2] * inertia)
        fitted.coulomb = max(0, c[3] * inertia)
        fitted.latencyTicks = latency

        let before = coefficients(of: nominal)
        let accelBefore = windowError(
            theta, log.commands, smooth, dt: dt, n: n, latency: nominal.latencyTicks, coefficients: before,
            range: testRange)
        let accelAfter = windowError(
            theta, log.commands, smooth, dt: dt, n: n, latency: latency, coefficients: c, range: testRange)
        let velocity = smoothedVelocity(theta, dt: dt, half: 4)
        let oneBefore = oneStepError(theta, velocity, log.commands, parameters: nominal, range: testRange)
        let oneAfter = oneStepError(theta, velocity, log.commands, parameters: fitted, range: testRange)
        return PendulumSystemIDResult(
            fitted: fitted, latencyTicks: latency, latencyResiduals: residuals, parameters: parameters,
            heldOutAccelerationError: (accelBefore, accelAfter), heldOutOneStepError: (oneBefore, oneAfter),
            trainingWindows: trainRange.count, heldOutWindows: testRange.count)
    }

    /// (α, βk, βb, βc) of a parameter set.
    static func coefficients(of p: PendulumParameters) -> [Double] {
        let beta = p.inverseInertia
        return [p.gravityCoefficient, beta * p.actuatorGain, beta * p.damping, beta * p.coulomb]
    }

    /// Central-difference velocity over ±half ticks (one-sided at the ends).
    static func smoothedVelocity(_ theta: [Double], dt: Double, half: Int) -> [Double] {
        let n = theta.count
        return (0..<n).map { k in
            let lo = max(0, k - half)
            let hi = min(n - 1, k + half)
            return hi == lo ? 0 : (theta[hi] - theta[lo]) / (Double(hi - lo) * dt)
        }
    }

    static func clip(_ u: Double, _ p: PendulumParameters) -> Double {
        min(max(u, -p.maxTorque), p.maxTorque)
    }

    /// Regressor rows and targets of the windows centred in `range`.
    static func windows(
        _ theta: [Double], _ u: [Double], _ smooth: [Double], dt: Double, n: Int, latency: Int,
        range: Range<Int>
    ) -> (x: [Double], y: [Double]) {
        var x: [Double] = []
        var y: [Double] = []
        x.reserveCapacity(range.count * 4)
        y.reserveCapacity(range.count)
        for k in range {
            // Divided by n² (the weights' sum) so rows are in rad/s², an average acceleration.
            let norm = 1 / Double(n * n)
            y.append((theta[k + n] - 2 * theta[k] + theta[k - n]) / (dt * dt) * norm)
            var row = (0.0, 0.0, 0.0, 0.0)
            for j in (k - n + 1)...(k + n - 1) {
                let w = Double(n - abs(j - k))
                let speed = (theta[j] - theta[j - 1]) / dt
                let s = smooth[j]
                row.0 += w * sin(theta[j])
                row.1 += w * u[j - latency]
                row.2 -= w * speed
                row.3 -= w * (s > 0 ? 1 : (s < 0 ? -1 : 0))
            }
            x += [row.0 * norm, row.1 * norm, row.2 * norm, row.3 * norm]
        }
        return (x, y)
    }

    /// RMS of measured minus predicted windowed acceleration over `range`.
    static func windowError(
        _ theta: [Double], _ u: [Double], _ smooth: [Double], dt: Double, n: Int, latency: Int,
        coefficients c: [Double], range: Range<Int>
    ) -> Double {
        let (x, y) = windows(theta, u, smooth, dt: dt, n: n, latency: latency, range: range)
        var sum = 0.0
        for r in 0..<y.count {
            var prediction = 0.0
            for i in 0..<4 { prediction += x[r * 4 + i] * c[i] }
            sum += (y[r] - prediction) * (y[r] - prediction)
        }
        return (sum / Double(max(1, y.count))).squareRoot()
    }

    /// RMS error of the simulator's one-tick velocity prediction from smoothed states.
    static func oneStepError(
        _ theta: [Double], _ velocity: [Double], _ u: [Double], parameters p: PendulumParameters,
        range: Range<Int>
    ) -> Double {
        let alpha = p.gravityCoefficient
        let beta = p.inverseInertia
        var sum = 0.0
        for k in range {
            var th = theta[k]
            var w = velocity[k]
            let command = k - p.latencyTicks >= 0 ? clip(u[k - p.latencyTicks], p) : 0
            PendulumDynamics.step(
                theta: &th, thetaDot: &w, torque: command, gravityCoefficient: alpha, inverseInertia: beta,
                parameters: p)
            let e = w - velocity[k + 1]
            sum += e * e
        }
        return (sum / Double(range.count)).squareRoot()
    }
}
