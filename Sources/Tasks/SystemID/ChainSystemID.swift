#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A logged excitation of an N-joint robot at the control rate: the fit's input, a plain struct
/// of arrays so it can come from a recorded dataset as well as from a simulator.
public struct ChainSysIDLog: Sendable, Equatable {
    /// Control period, s.
    public var dt: Double
    /// Calibrated joint positions (rad or m), joint-major: `positions[joint][tick]`.
    public var positions: [[Double]]
    /// Torque/force commands after the safety filter (N·m or N), joint-major; a passive
    /// joint's row is all zeros (or empty).
    public var commands: [[Double]]
    /// The robot's measurement time of each sample, s (nil: every tick exactly `dt` apart).
    /// Rows whose filter window holds an irregular spacing (a late host tick) are left out.
    public var time: [Double]?

    public init(dt: Double, positions: [[Double]], commands: [[Double]], time: [Double]? = nil) {
        self.dt = dt
        self.positions = positions
        self.commands = commands
        self.time = time
    }
}

/// System identification of a planar chain's onboard-simulator parameters from a logged
/// excitation: the manipulator equation is linear in the per-link base parameters
/// (m, m·c, I + m·c², see `ChainRegressor`), the per-joint viscous and Coulomb friction and the
/// per-actuator gain k:
///
///   Y(q, q̇, q̈)·π + b⊙q̇ + c⊙sgn(q̇) − diag(u(t − d))·k = 0.
///
/// Signals: q̇ and q̈ are centred differences of the logged positions; every column and the
/// torque pass through the same triangular low-pass (two centred moving averages), which keeps
/// the linear equation exact where it is linear (q̈ enters Y linearly) while averaging encoder
/// quantisation; the velocity inside Y and in sgn is the difference through a lighter low-pass
/// (`velocityFilterLength`), so that velocity reversals keep their timing.
///
/// Scale: the equation is homogeneous — scaling every mass, inertia, friction and gain by the
/// same λ changes no motion, and gravity does not fix λ (its torque scales with m·c too). One
/// value must be known in absolute units: the `Anchor`. The default anchors the first moment
/// m·c of the last link that has one at the robot file's value (a weighed link with a known
/// balance point); gains then come out absolute, and "gain ratio to nominal" is the fitted
/// gain over the file's gain. Anchoring a gain instead (a motor of known torque constant)
/// gives absolute masses.
///
/// Unidentifiable combinations (a base link's mass, a link mass that acts only like a point
/// mass at the parent's tip, parameters of a joint the excitation did not move): the solution
/// is the nominal value plus a step in the identifiable subspace only (the limit of a small
/// ridge toward the robot file's values); the subspace comes from the eigen-decomposition of the
/// column-scaled normal matrix (the SVD of the weighted, scaled Y), and the dropped directions
/// are reported in words.
///
/// Timing: the centred second difference at tick k spans ticks k − 1 and k, so the torque in
/// its row is the mean of the commands of those ticks, d ticks earlier; without that half-tick
/// the latencies d and d + 1 fit alike. (The one-step prediction compares low-passed
/// velocities a tick apart, centred on tick k: there the command of tick k − d acts.)
///
/// Latency: the integer actuation delay d in 0...maxLatencyTicks whose fit has the smallest
/// weighted residual, as the pendulum fit chooses (the held-out one-step error of each is
/// reported too; it is dominated by sensor noise and separates latencies less sharply). Rows are weighted per joint by the inverse residual RMS of a first pass.
///
/// The one-step prediction error: over held-out ticks (the last `heldOutFraction` of the log,
/// not used by the fit), start the chain at the logged position and low-passed velocity, apply
/// the equally low-passed k·u(t − d) for one control tick with the simulator's integrator and sub-steps
/// (`ChainSimulator`'s physics), and compare the velocity with the low-passed one logged a tick
/// later (RMS over ticks and joints, rad/s or m/s).
public enum ChainSystemID {
    /// The one value known in absolute units (see the type's description).
    public enum Anchor: Sendable, Equatable {
        /// Link `joint`'s first moment m·c, kg·m.
        case firstMoment(joint: Int, value: Double)
        /// Link `joint`'s mass, kg (only where it is identifiable, e.g. a cart).
        case mass(joint: Int, value: Double)
        /// Joint `joint`'s actuator gain.
        case gain(joint: Int, value: Double)
    }

    public enum CoulombModel: String, Sendable, Equatable, CaseIterable {
        case torque
        case simulatorStep = "simulator_step"
    }

    /// When a command acts within the tick it was sent for.
    public enum CommandTiming: String, Sendable, Equatable, CaseIterable {
        /// Held from its tick to the next (a real or emulated robot, a sub-stepped simulator):
        /// the second difference at tick k sees the mean of the commands of ticks k − 1 − d and k − d.
        case heldThroughTick = "held"
        /// Applied in one step at its tick (a simulator integrating once per control tick with
        /// semi-implicit Euler): the second difference at tick k sees the command of tick k − d.
        case stepAtTick = "step"
    }

    public struct Options: Sendable {
        public var maxLatencyTicks = 4
        public var commandTiming = CommandTiming.heldThroughTick
        /// Each moving average's length, ticks (the low-pass spans 2·length − 1).
        public var filterLength = 80
        /// Moving-average length of the velocity inside Y (Coriolis and centripetal terms) and
        /// in sgn(q̇) for Coulomb friction: light, so that reversals keep their timing.
        public var velocityFilterLength = 10
        /// Moving-average length of the velocity the held-out one-step error compares (light,
        /// enough to average quantisation; the commands pass through the same filter).
        public var predictionFilterLength = 20
        /// How Coulomb friction acts: as a torque c·sgn(q̇) (a real joint), or as the onboard
        /// simulator's stick–slip step (q̇ⱼ moves toward 0 by c·(M⁻¹)ⱼⱼ·dt, i.e. the force
        /// M·eⱼ·(M⁻¹)ⱼⱼ·c·sgn q̇ⱼ; M from a first fit). They agree for one joint.
        public var coulombModel = CoulombModel.torque
        public var heldOutFraction = 0.3
        /// Directions whose scaled eigenvalue is below this fraction of the largest are
        /// unidentifiable (singular value ratio √tolerance).
        public var identifiabilityTolerance = 1e-8
        /// nil: the first moment of the last link that has one, at the robot file's value.
        public var anchor: Anchor?
        public init() {}
    }

    /// What the fit found.
    public struct Fit: Sendable {
        /// `<joint>.<mass|com|inertia|viscous|coulomb|gain>` and `latency_ticks`, SI units
        /// (FileTaskParameters names).
        public var values: [String: Double]
        public var standardErrors: [String: Double]
        /// Names of `values` the data determine on their own (not along an unidentifiable
        /// direction). `latency_ticks` is always listed.
        public var identifiable: Set<String>
        /// The unidentifiable combinations, one line each (kept at the robot file's values).
        public var unidentifiable: [String]
        /// The anchor used, in words.
        public var anchorDescription: String
        /// The robot file with the fitted values (what the simulator should use).
        public var robot: RobotSpec
        public var latencyTicks: Int
        /// Held-out one-step error with the robot file's values and with the fit, and the
        /// fitted model's held-out error for each latency tried.
        public var heldOutErrorBefore: Double
        public var heldOutErrorAfter: Double
        public var errorByLatency: [Double]
        /// The fit's weighted residual for each latency tried (the smallest picks the latency).
        public var residualByLatency: [Double]
        /// Per base parameter: the data determine it on its own.
        public var baseIdentifiable: [Bool]
        /// The raw base-parameter vector (m, h, J per link; b; c; gains) and its names.
        public var baseParameters: [Double]
        public var baseNames: [String]
        public var fitTicks: Int
        public var heldOutTicks: Int
    }

    public struct FitError: Error, CustomStringConvertible, Equatable, Sendable {
        public let description: String
        init(_ d: String) { description = "system identification: " + d }
    }

    /// Fits `log` for `robot` (its geometry, gravity, sensing rate and nominal values).
    public static func fit(log: ChainSysIDLog, robot: RobotSpec, options: Options = Options()) throws(FitError) -> Fit {
        let nj = robot.joints.count
        let chain: PlanarChain
        do { chain = try robot.chain() } catch { throw FitError(error.description) }
        guard log.positions.count == nj else {
            throw FitError("the log has \(log.positions.count) joints, \(robot.source) has \(nj); log every joint in the robot file's order")
        }
        let n = log.positions[0].count
        let m = options.filterLength
        let margin = 2 * m + options.maxLatencyTicks + 2
        guard log.dt > 0, log.dt.isFinite else { throw FitError("control period \(log.dt) s must be positive") }
        guard n >= 40 * margin else {
            throw FitError("only \(n) ticks logged, at least \(40 * margin) are needed; excite longer (--sysid-seconds)")
        }
        let actuated = robot.joints.indices.filter { robot.joints[$0].actuator != nil }
        for j in actuated where robot.joints[j].actuator!.mode != .torque {
            throw FitError("joint '\(robot.joints[j].name)' is in \(robot.joints[j].actuator!.mode.rawValue) mode; the fit needs torque commands (set the actuator to torque mode for the excitation)")
        }
        var commands = [[Double]](repeating: [Double](repeating: 0, count: n), count: nj)
        for j in 0..<nj {
            guard log.positions[j].count == n else { throw FitError("joint \(j) has \(log.positions[j].count) positions, joint 0 has \(n); log every joint at every tick") }
            guard log.positions[j].allSatisfy(\.isFinite) else { throw FitError("joint '\(robot.joints[j].name)' has non-finite positions; check the encoder") }
            if j < log.commands.count, !log.commands[j].isEmpty {
                guard log.commands[j].count == n, log.commands[j].allSatisfy(\.isFinite) else {
                    throw FitError("joint '\(robot.joints[j].name)' needs \(n) finite commands, has \(log.commands[j].count)")
                }
                commands[j] = log.commands[j]
            }
        }
        let dt = log.dt
        // Centred differences, then the smoothed velocity for the non-linear terms.
        var acc = [[Double]](repeating: [Double](repeating: 0, count: n), count: nj)
        var vel = acc
        for j in 0..<nj {
            let q = log.positions[j]
            for k in 1..<(n - 1) {
                acc[j][k] = (q[k + 1] - 2 * q[k] + q[k - 1]) / (dt * dt)
                vel[j][k] = (q[k + 1] - q[k - 1]) / (2 * dt)
            }
        }
        let smoothVel = vel.map { triangular($0, options.velocityFilterLength) }

        // Layout: m,h,J per link; viscous per joint; Coulomb per joint; gain per actuated joint.
        let pi3 = 3 * nj
        let p = pi3 + 2 * nj + actuated.count
        var names: [String] = []
        for j in robot.joints { names += ["\(j.name).m", "\(j.name).m·c", "\(j.name).I+m·c²"] }
        names += robot.joints.map { "\($0.name).viscous" } + robot.joints.map { "\($0.name).coulomb" }
        names += actuated.map { "\(robot.joints[$0].name).gain" }
        var nominal = ChainRegressor.parameters(of: chain)
        nominal += robot.joints.map(\.body.viscous) + robot.joints.map(\.body.coulomb)
        nominal += actuated.map { robot.joints[$0].actuator!.gain }

        // Filtered columns of every row (joint r), without the gain columns (per latency below).
        // `stepModel`: the simulator's Coulomb step, with M and diag(M⁻¹) from a previous fit.
        let reg = ChainRegressor(chain: chain)
        func buildColumns(stepModel: (chain: PlanarChain, pi: [Double])?) -> [[[Double]]] {
            var columns = [[[Double]]](
                repeating: [[Double]](repeating: [Double](repeating: 0, count: n), count: pi3 + 2 * nj), count: nj)
            var y = [Double](repeating: 0, count: nj * pi3), y0 = y
            for k in 1..<(n - 1) {
                var q = JointVector(repeating: 0), qd = JointVector(repeating: 0), qdd = JointVector(repeating: 0)
                for j in 0..<nj {
                    q[j] = log.positions[j][k]
                    qd[j] = smoothVel[j][k]
                    qdd[j] = acc[j][k]
                }
                y.withUnsafeMutableBufferPointer { reg.regressor(q: q, qd: qd, qdd: qdd, into: $0) }
                for r in 0..<nj {
                    for c in 0..<pi3 { columns[r][c][k] = y[r * pi3 + c] }
                    columns[r][pi3 + r][k] = vel[r][k]
                }
                let zero = JointVector(repeating: 0)
                if let model = stepModel {
                    // Column of c_j: M·e_j·(M⁻¹)_jj·sgn q̇_j, M·e_j = Y(q, 0, e_j)π − Y(q, 0, 0)π.
                    let inverse = model.chain.inverseInertiaDiagonal(q: q)
                    y0.withUnsafeMutableBufferPointer { reg.regressor(q: q, qd: zero, qdd: zero, into: $0) }
                    for j in 0..<nj {
                        let sign = smoothVel[j][k] > 0 ? 1.0 : (smoothVel[j][k] < 0 ? -1.0 : 0.0)
                        guard sign != 0 else { continue }
                        var e = zero
                        e[j] = 1
                        y.withUnsafeMutableBufferPointer { reg.regressor(q: q, qd: zero, qdd: e, into: $0) }
                        for r in 0..<nj {
                            var mrj = 0.0
                            for c in 0..<pi3 { mrj += (y[r * pi3 + c] - y0[r * pi3 + c]) * model.pi[c] }
                            columns[r][pi3 + nj + j][k] = mrj * inverse[j] * sign
                        }
                    }
                } else {
                    for r in 0..<nj { columns[r][pi3 + nj + r][k] = smoothVel[r][k] > 0 ? 1 : (smoothVel[r][k] < 0 ? -1 : 0) }
                }
            }
            for r in 0..<nj {
                for c in 0..<(pi3 + 2 * nj) where columns[r][c].contains(where: { $0 != 0 }) {
                    columns[r][c] = triangular(columns[r][c], m)
                }
            }
            return columns
        }
        let filteredVel = vel.map { triangular($0, options.predictionFilterLength) }
        let filteredCommands = commands.map { triangular($0, options.predictionFilterLength) }
        let first = margin, last = n - margin
        let heldOutStart = first + Int(Double(last - first) * (1 - options.heldOutFraction))
        // Irregular samples (host jitter, late ticks) break the fixed-spacing differences: a row
        // is used only if its whole window (filter, difference and latency shift) is regular.
        // The tolerance widens (25 %, 50 %, 100 % of dt) until a third of the rows are left.
        func rows(tolerance: Double) -> (fit: [Int], heldOut: [Int]) {
            guard let time = log.time, time.count == n else { return (Array(first..<heldOutStart), Array(heldOutStart..<(last - 1))) }
            var badBefore = [Int](repeating: 0, count: n + 1)
            for k in 0..<n {
                let bad = k > 0 && !(abs(time[k] - time[k - 1] - dt) <= tolerance * dt)
                badBefore[k + 1] = badBefore[k] + (bad ? 1 : 0)
            }
            let span = max(m, options.predictionFilterLength, options.velocityFilterLength)
            func regular(_ k: Int) -> Bool {
                let lo = max(0, k - span - options.maxLatencyTicks - 2), hi = min(n, k + span + 2)
                return badBefore[hi] == badBefore[lo]
            }
            return ((first..<heldOutStart).filter(regular), (heldOutStart..<(last - 1)).filter(regular))
        }
        var selected = rows(tolerance: 0.25)
        for tolerance in [0.5, 1.0] where selected.fit.count < (heldOutStart - first) / 3 { selected = rows(tolerance: tolerance) }
        let fitRange = selected.fit, heldOutRange = selected.heldOut
        guard fitRange.count >= 10 * (2 * m - 1), heldOutRange.count >= 2 * (2 * m - 1) else {
            throw FitError("too many late ticks (\(n - fitRange.count - heldOutRange.count) of \(n) samples unusable) to fit and hold data out; excite again on a less loaded machine, or longer")
        }

        // The anchor: index into the parameter vector and its value.
        let anchorIndex: Int, anchorValue: Double, anchorText: String
        switch options.anchor ?? defaultAnchor(chain) {
        case .firstMoment(let j, let v):
            guard (0..<nj).contains(j) else { throw FitError("anchor joint \(j) is not one of the \(nj) joints") }
            (anchorIndex, anchorValue) = (3 * j + 1, v)
            anchorText = "\(robot.joints[j].name) first moment m·c = \(v) kg·m"
        case .mass(let j, let v):
            guard (0..<nj).contains(j) else { throw FitError("anchor joint \(j) is not one of the \(nj) joints") }
            (anchorIndex, anchorValue) = (3 * j, v)
            anchorText = "\(robot.joints[j].name) mass = \(v) kg"
        case .gain(let j, let v):
            guard let a = actuated.firstIndex(of: j) else { throw FitError("anchor joint \(j) has no actuator; anchor an actuated joint's gain") }
            (anchorIndex, anchorValue) = (pi3 + 2 * nj + a, v)
            anchorText = "\(robot.joints[j].name) gain = \(v)"
        }
        guard anchorValue.isFinite, anchorValue > 0 else { throw FitError("the anchor value \(anchorValue) must be positive") }

        var best: Solution?
        var errorByLatency: [Double] = [], residualByLatency: [Double] = []
        var stepModel: (chain: PlanarChain, pi: [Double])?
        for round in 0..<(options.coulombModel == .simulatorStep ? 2 : 1) {
        if round == 1, let b = best, let r = try? resolve(b.theta, robot: robot, actuated: actuated, latency: b.latency),
            let c = try? r.chain()
        {
            stepModel = (c, ChainRegressor.parameters(of: c))
        }
        let columns = buildColumns(stepModel: stepModel)
        best = nil
        errorByLatency = []
        residualByLatency = []
        var referenceWeights: [Double]?
        for d in 0...options.maxLatencyTicks {
            let gainColumns = actuated.map { j in
                triangular(
                    (0..<n).map { k in
                        guard k >= d + 1 else { return 0 }
                        return options.commandTiming == .stepAtTick ? -commands[j][k - d] : -0.5 * (commands[j][k - d] + commands[j][k - d - 1])
                    }, m)
            }
            func row(_ r: Int, _ k: Int, _ out: inout [Double]) {
                for c in 0..<(pi3 + 2 * nj) { out[c] = columns[r][c][k] }
                for (a, j) in actuated.enumerated() { out[pi3 + 2 * nj + a] = j == r ? gainColumns[a][k] : 0 }
            }
            var weights = [Double](repeating: 1, count: nj)
            var solution: Solution?
            for _ in 0..<2 {
                var normal = [Double](repeating: 0, count: p * p)
                var x = [Double](repeating: 0, count: p)
                for k in fitRange {
                    for r in 0..<nj {
                        row(r, k, &x)
                        let w = weights[r]
                        for a in 0..<p where x[a] != 0 {
                            let xa = w * x[a]
                            for b in a..<p { normal[a * p + b] += xa * x[b] }
                        }
                    }
                }
                for a in 0..<p { for b in 0..<a { normal[a * p + b] = normal[b * p + a] } }
                let s = solve(
                    normal: normal, p: p, anchor: anchorIndex, anchorValue: anchorValue, nominal: nominal,
                    tolerance: options.identifiabilityTolerance)
                // Per-joint residual RMS for the weights of the second pass.
                var sum = [Double](repeating: 0, count: nj)
                for k in fitRange {
                    for r in 0..<nj {
                        row(r, k, &x)
                        var e = 0.0
                        for a in 0..<p { e += x[a] * s.theta[a] }
                        sum[r] += e * e
                    }
                }
                solution = s
                solution!.rss = zip(sum, weights).reduce(0) { $0 + $1.0 * $1.1 }
                let rms = sum.map { ($0 / Double(fitRange.count)).squareRoot() }
                let scale = rms.max() ?? 1
                weights = rms.map { 1 / max($0, 1e-6 * max(scale, 1e-300)) / max($0, 1e-6 * max(scale, 1e-300)) }
                if referenceWeights == nil { referenceWeights = weights }
                solution!.residual = zip(sum, referenceWeights!).reduce(0) { $0 + $1.0 * $1.1 }
            }
            var s = solution!
            s.latency = d
            if let candidate = try? resolve(s.theta, robot: robot, actuated: actuated, latency: d) {
                s.error = predictionError(
                    candidate, positions: log.positions, velocity: filteredVel, commands: filteredCommands, range: heldOutRange,
                    dt: dt)
            }
            errorByLatency.append(s.error)
            residualByLatency.append(s.residual)
            if best == nil || s.residual < best!.residual { best = s }
        }
        }
        let b = best!
        for (a, j) in actuated.enumerated() where !b.determined[pi3 + 2 * nj + a] || b.rank <= 1 {
            throw FitError(
                "the log does not determine \(robot.joints[j].name).gain (the robot barely moved or its torque stayed near 0); excite with larger, more varied torques (ChainExcitation)")
        }
        let fitted = try resolve(b.theta, robot: robot, actuated: actuated, latency: b.latency)
        let before = predictionError(
            robot, positions: log.positions, velocity: filteredVel, commands: filteredCommands, range: heldOutRange, dt: dt)

        // Standard errors: weighted residual variance, inflated by the filter span (neighbouring
        // filtered residuals are correlated).
        let rows = Double(fitRange.count * nj)
        let sigma2 = b.rss / max(1, rows - Double(b.rank)) * Double(2 * m - 1)
        let se = (0..<p).map { (sigma2 * max(0, b.covariance[$0 * p + $0])).squareRoot() }
        var values: [String: Double] = ["latency_ticks": Double(b.latency)]
        var errors: [String: Double] = ["latency_ticks": 0]
        var identifiable: Set<String> = ["latency_ticks"]
        for (j, joint) in robot.joints.enumerated() {
            let mass = b.theta[3 * j], h = b.theta[3 * j + 1]
            let fj = fitted.joints[j].body
            let name = joint.name
            values["\(name).mass"] = fj.mass
            values["\(name).com"] = fj.com
            values["\(name).inertia"] = fj.inertia
            values["\(name).viscous"] = fj.viscous
            values["\(name).coulomb"] = fj.coulomb
            let sm = se[3 * j], sh = se[3 * j + 1], sJ = se[3 * j + 2]
            errors["\(name).mass"] = sm
            if mass > 0 {
                errors["\(name).com"] = ((sh / mass) * (sh / mass) + (h * sm / (mass * mass)) * (h * sm / (mass * mass))).squareRoot()
                let a = 2 * h / mass * sh, c = h * h / (mass * mass) * sm
                errors["\(name).inertia"] = (sJ * sJ + a * a + c * c).squareRoot()
            } else {
                errors["\(name).com"] = .infinity
                errors["\(name).inertia"] = sJ
            }
            errors["\(name).viscous"] = se[pi3 + j]
            errors["\(name).coulomb"] = se[pi3 + nj + j]
            if b.determined[3 * j] { identifiable.insert("\(name).mass") }
            if b.determined[3 * j], b.determined[3 * j + 1] { identifiable.insert("\(name).com") }
            if b.determined[3 * j], b.determined[3 * j + 1], b.determined[3 * j + 2] { identifiable.insert("\(name).inertia") }
            if b.determined[pi3 + j] { identifiable.insert("\(name).viscous") }
            if b.determined[pi3 + nj + j] { identifiable.insert("\(name).coulomb") }
        }
        for (a, j) in actuated.enumerated() {
            let name = robot.joints[j].name
            values["\(name).gain"] = b.theta[pi3 + 2 * nj + a]
            errors["\(name).gain"] = se[pi3 + 2 * nj + a]
            if b.determined[pi3 + 2 * nj + a] { identifiable.insert("\(name).gain") }
        }
        let unidentifiable = b.nullDirections.map { v in
            let big = v.map(abs).max() ?? 1
            let terms = v.indices.filter { abs(v[$0]) >= 0.1 * big }.map { i in
                let c = v[i] / big
                return (c < 0 ? "− " : "+ ") + (abs(abs(c) - 1) < 1e-3 ? "" : "\(rounded(abs(c)))·") + names[i]
            }
            var line = terms.joined(separator: " ")
            if line.hasPrefix("+ ") { line.removeFirst(2) }
            return line
        }
        return Fit(
            values: values, standardErrors: errors, identifiable: identifiable, unidentifiable: unidentifiable,
            anchorDescription: anchorText, robot: fitted, latencyTicks: b.latency, heldOutErrorBefore: before,
            heldOutErrorAfter: b.error, errorByLatency: errorByLatency, residualByLatency: residualByLatency,
            baseIdentifiable: b.determined, baseParameters: b.theta, baseNames: names,
            fitTicks: fitRange.count, heldOutTicks: heldOutRange.count)
    }

    /// The default anchor: the last link with a first moment, at its nominal value.
    static func defaultAnchor(_ chain: PlanarChain) -> Anchor {
        let j = chain.joints.lastIndex { $0.mass * $0.com > 0 } ?? (chain.count - 1)
        let body = chain.joints[j]
        return body.mass * body.com > 0 ? .firstMoment(joint: j, value: body.mass * body.com) : .mass(joint: j, value: body.mass)
    }

    struct Solution {
        var theta: [Double]
        var covariance: [Double]
        /// Per parameter: lies in the identifiable subspace.
        var determined: [Bool]
        var nullDirections: [[Double]]
        var rank: Int
        var rss = 0.0
        /// Residual under the weights of the first latency's first pass (comparable across latencies).
        var residual = 0.0
        var latency = 0
        var error = Double.infinity
    }

    /// Minimises θᵀNθ with θ[anchor] fixed, stepping from `nominal` only along directions the
    /// column-scaled normal matrix resolves.
    static func solve(normal: [Double], p: Int, anchor: Int, anchorValue: Double, nominal: [Double], tolerance: Double) -> Solution {
        let free = (0..<p).filter { $0 != anchor }
        let f = free.count
        var scale = [Double](repeating: 1, count: f)
        for (a, i) in free.enumerated() where normal[i * p + i] > 0 { scale[a] = normal[i * p + i].squareRoot() }
        var s = [Double](repeating: 0, count: f * f)
        var rhs = [Double](repeating: 0, count: f)
        for (a, i) in free.enumerated() {
            rhs[a] = -normal[i * p + anchor] * anchorValue / scale[a]
            for (b, j) in free.enumerated() { s[a * f + b] = normal[i * p + j] / (scale[a] * scale[b]) }
        }
        let (lambda, v) = symmetricEigen(s, f)
        let top = lambda.max() ?? 0
        let keep = (0..<f).filter { lambda[$0] > tolerance * top && lambda[$0] > 0 }
        let drop = (0..<f).filter { !keep.contains($0) }
        // z = z_nom + Σ_keep v_k v_kᵀ(rhs − S z_nom) / λ_k.
        let zNom = (0..<f).map { nominal[free[$0]] * scale[$0] }
        var g = rhs
        for a in 0..<f { for b in 0..<f { g[a] -= s[a * f + b] * zNom[b] } }
        var z = zNom
        var cov = [Double](repeating: 0, count: p * p)
        for k in keep {
            var dot = 0.0
            for a in 0..<f { dot += v[a * f + k] * g[a] }
            for a in 0..<f { z[a] += v[a * f + k] * dot / lambda[k] }
            for a in 0..<f {
                for b in 0..<f {
                    cov[free[a] * p + free[b]] += v[a * f + k] * v[b * f + k] / lambda[k] / (scale[a] * scale[b])
                }
            }
        }
        var theta = nominal
        theta[anchor] = anchorValue
        for a in 0..<f { theta[free[a]] = z[a] / scale[a] }
        var determined = [Bool](repeating: true, count: p)
        var nullDirections: [[Double]] = []
        for k in drop {
            var dir = [Double](repeating: 0, count: p)
            for a in 0..<f { dir[free[a]] = v[a * f + k] }
            nullDirections.append(dir)
        }
        for a in 0..<f {
            let leak = drop.reduce(0.0) { $0 + v[a * f + $1] * v[a * f + $1] }
            determined[free[a]] = leak < 1e-3
        }
        return Solution(theta: theta, covariance: cov, determined: determined, nullDirections: nullDirections, rank: keep.count + 1)
    }

    /// The robot file with the base parameters θ applied (m, c = h/m, I = J − h²/m; friction
    /// and gains clamped at 0 only where physics requires).
    static func resolve(_ theta: [Double], robot: RobotSpec, actuated: [Int], latency: Int) throws(FitError) -> RobotSpec {
        var r = robot
        let nj = robot.joints.count
        for j in 0..<nj {
            let mass = theta[3 * j], h = theta[3 * j + 1], jj = theta[3 * j + 2]
            var body = r.joints[j].body
            body.mass = max(0, mass)
            if mass > 1e-12 {
                body.com = max(0, h / mass)
                body.inertia = max(0, jj - h * h / mass)
            } else {
                body.inertia = max(0, jj)
            }
            body.viscous = max(0, theta[3 * nj + j])
            body.coulomb = max(0, theta[4 * nj + j])
            r.joints[j].body = body
        }
        for (a, j) in actuated.enumerated() { r.joints[j].actuator!.gain = max(1e-6, theta[5 * nj + a]) }
        r.sensing.latencyTicks = latency
        do { _ = try r.chain() } catch {
            throw FitError("the fitted model is not physical (\(error.problem)); excite every joint with larger, more varied torques and fit again")
        }
        return r
    }

    /// Held-out one-step error of `robot`'s model (ChainSimulator's physics: gain × delayed
    /// command, the robot's firmware sub-steps, RK4 with the stick–slip Coulomb step).
    static func predictionError(
        _ robot: RobotSpec, positions: [[Double]], velocity: [[Double]], commands: [[Double]], range: [Int], dt: Double
    ) -> Double {
        guard let chain = try? robot.chain() else { return .infinity }
        let nj = robot.joints.count
        let substeps = max(1, Int((Double(robot.sensing.firmwareRateHz) * dt).rounded()))
        let d = robot.sensing.latencyTicks
        var sum = 0.0
        for k in range where k >= d {
            var q = JointVector(repeating: 0), qd = JointVector(repeating: 0), tau = JointVector(repeating: 0)
            for j in 0..<nj {
                q[j] = positions[j][k]
                qd[j] = velocity[j][k]
                if let a = robot.joints[j].actuator { tau[j] = a.gain * commands[j][k - d] }
            }
            for _ in 0..<substeps { chain.step(q: &q, qd: &qd, tau: tau, dt: dt / Double(substeps), integrator: .rk4) }
            for j in 0..<nj {
                let e = qd[j] - velocity[j][k + 1]
                sum += e * e
            }
        }
        return (sum / Double(max(1, range.count * nj))).squareRoot()
    }

    /// Two centred moving averages of length `m` via prefix sums (a triangular low-pass of
    /// 2m − 1 taps); values within m − 1 of either end are left as they are.
    static func triangular(_ x: [Double], _ m: Int) -> [Double] {
        boxcar(boxcar(x, m), m)
    }

    static func boxcar(_ x: [Double], _ m: Int) -> [Double] {
        let n = x.count
        guard n > m, m > 1 else { return x }
        var prefix = [Double](repeating: 0, count: n + 1)
        for i in 0..<n { prefix[i + 1] = prefix[i] + x[i] }
        let left = (m - 1) / 2, right = m - 1 - left
        var out = x
        for k in left..<(n - right) { out[k] = (prefix[k + right + 1] - prefix[k - left]) / Double(m) }
        return out
    }

    /// Eigenvalues and eigenvectors (columns of the row-major `f`×`f` result) of a symmetric
    /// matrix by cyclic Jacobi rotations.
    static func symmetricEigen(_ matrix: [Double], _ f: Int) -> ([Double], [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: f * f)
        for i in 0..<f { v[i * f + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0, diag = 0.0
            for i in 0..<f {
                diag += a[i * f + i] * a[i * f + i]
                for j in (i + 1)..<max(i + 1, f) { off += a[i * f + j] * a[i * f + j] }
            }
            if off <= 1e-30 * max(diag, 1e-300) { break }
            for i in 0..<f {
                for j in (i + 1)..<max(i + 1, f) where a[i * f + j] != 0 {
                    let theta = (a[j * f + j] - a[i * f + i]) / (2 * a[i * f + j])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<f {
                        let aki = a[k * f + i], akj = a[k * f + j]
                        a[k * f + i] = c * aki - s * akj
                        a[k * f + j] = s * aki + c * akj
                    }
                    for k in 0..<f {
                        let aik = a[i * f + k], ajk = a[j * f + k]
                        a[i * f + k] = c * aik - s * ajk
                        a[j * f + k] = s * aik + c * ajk
                    }
                    for k in 0..<f {
                        let vki = v[k * f + i], vkj = v[k * f + j]
                        v[k * f + i] = c * vki - s * vkj
                        v[k * f + j] = s * vki + c * vkj
                    }
                }
            }
        }
        return ((0..<f).map { a[$0 * f + $0] }, v)
    }

    static func rounded(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        return "\(r)"
    }
}
