import Foundation
import Tasks

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One finished episode on the robot at the loop rate, for system identification: every
/// tick's observation and the policy's action (noise included), flat.
public struct RealTrajectory: Sendable {
    public var observations: [Float]
    public var actions: [Float]
    public var ticks: Int { actions.count }
    public init(observations: [Float], actions: [Float]) {
        self.observations = observations
        self.actions = actions
    }
}

/// The onboard simulator calibrated during a run: the N-joint fit (`ChainSystemID`; for the
/// pendulum task through `PendulumSystemID`, its one-joint case) fitted to each of the run's
/// recent finished episodes (the policy's own swing-ups, exploring ones included),
/// the median of each parameter taken, and the learner's simulator rebuilt with it. The
/// simulator keeps its form (a uniform rod with inertia, actuator gain, viscous and Coulomb
/// friction); what it cannot express (back-EMF, encoder quantisation, the serial link) stays a
/// gap for H2O+'s discriminators.
///
/// Set-up code for the trainer thread: allocates, never called by the control thread.
public enum OnlineCalibration {
    /// What one calibration found.
    public struct Fit: Sendable {
        /// The loop-rate parameters with inertia, actuator gain, damping and Coulomb friction
        /// (and the latency) written in.
        public var parameters: PendulumParameters
        /// Episodes fitted.
        public var episodes: Int
        /// Median held-out one-step error (the velocity change per tick, low-passed), nominal
        /// model then fitted model, rad/s.
        public var oneStepError: (before: Double, after: Double)

        /// "inertia 0.352 (nominal 0.333), actuator_gain 0.71 (1), …"
        public func describe(nominal: PendulumParameters) -> String {
            let nominalInertia = nominal.inertia > 0 ? nominal.inertia : nominal.mass * nominal.length * nominal.length / 3
            return String(
                format: "inertia %.3f (nominal %.3f), actuator_gain %.2f (%.2f), damping %.3f (%.3f), coulomb %.3f (%.3f) from %d episode(s); held-out one-step error %.3f → %.3f rad/s",
                parameters.inertia, nominalInertia, parameters.actuatorGain, nominal.actuatorGain, parameters.damping,
                nominal.damping, parameters.coulomb, nominal.coulomb, episodes, oneStepError.before, oneStepError.after)
        }
    }

    /// Fits `trajectories` (pendulum observations [cos θ, sin θ, θ̇], actions in [−1, 1] ×
    /// `nominal.maxTorque`) at `nominal.dt`. Nil when no episode could be fitted or a fit is
    /// implausible (a non-positive inertia or gain: too little excitation).
    public static func fitPendulum(_ trajectories: [RealTrajectory], nominal: PendulumParameters) -> Fit? {
        var fits: [PendulumSystemID.Fit] = []
        for t in trajectories where t.ticks >= 600 {
            var positions = [Double](repeating: 0, count: t.ticks)
            var previous = 0.0
            for k in 0..<t.ticks {
                let wrapped = atan2(Double(t.observations[3 * k + 1]), Double(t.observations[3 * k]))
                // Unwrap: the continuous angle the fit differentiates.
                positions[k] = k == 0 ? wrapped : previous + remainder(wrapped - previous, 2 * Double.pi)
                previous = positions[k]
            }
            let commands = t.actions.map { min(max(Double($0), -1), 1) * nominal.maxTorque }
            guard let r = try? PendulumSystemID.fit(theta: positions, torque: commands, dt: nominal.dt, nominal: nominal)
            else { continue }
            let fitted = r.parameters
            guard fitted.inertia > 0, fitted.inertia.isFinite, fitted.actuatorGain > 0.05, fitted.actuatorGain.isFinite else { continue }
            fits.append(r)
        }
        guard !fits.isEmpty else { return nil }
        func median(_ values: [Double]) -> Double {
            let s = values.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        var p = nominal
        p.inertia = median(fits.map(\.parameters.inertia))
        p.actuatorGain = median(fits.map(\.parameters.actuatorGain))
        p.damping = median(fits.map(\.parameters.damping))
        p.coulomb = median(fits.map(\.parameters.coulomb))
        p.latencyTicks = Int(median(fits.map { Double($0.parameters.latencyTicks) }).rounded())
        return Fit(
            parameters: p, episodes: fits.count,
            oneStepError: (median(fits.map(\.heldOutErrorBefore)), median(fits.map(\.heldOutErrorAfter))))
    }
}

extension OnlineCalibration {
    /// What one calibration of a file task's simulator found.
    public struct FileFit: Sendable {
        /// The fitted simulator (median over the fitted episodes of every `ChainSystemID` value).
        public var parameters: FileTaskParameters
        /// Episodes fitted.
        public var episodes: Int
        /// Median held-out one-step error (velocity a tick later, low-passed), the robot file's
        /// model then the fitted one, rad/s or m/s.
        public var oneStepError: (before: Double, after: Double)
        /// The median of every fitted value, by `FileTaskParameters` name.
        public var values: [String: Double]

        /// "elbow.gain 0.71 (robot file 1), …; held-out one-step error 0.31 → 0.12"
        public func describe() -> String {
            let nominal = FileTaskParameters(robot: parameters.robot)
            let parts = values.keys.sorted().compactMap { name -> String? in
                guard let v = values[name], let n = nominal.value(of: name), abs(v - n) > 1e-9 * max(1, abs(n)) else { return nil }
                return String(format: "%@ %.3f (robot file %.3f)", name, v, n)
            }
            return (parts.isEmpty ? "the robot file's values" : parts.joined(separator: ", "))
                + String(format: " from %d episode(s); held-out one-step error %.3f → %.3f", episodes, oneStepError.before, oneStepError.after)
        }
    }

    /// The fit settings for one episode of a run: the filters of `ChainSystemID` shortened so
    /// that a 10 s episode at 200 Hz holds enough rows (the calibration's long excitation keeps
    /// the defaults).
    public static var episodeOptions: ChainSystemID.Options {
        var o = ChainSystemID.Options()
        o.filterLength = 15
        o.velocityFilterLength = 5
        o.predictionFilterLength = 15
        return o
    }

    /// Fits the file task's simulator to `trajectories` (observations as `task` builds them,
    /// actions in [−1, 1] × the task's scales, at the task's control rate): `ChainSystemID` on
    /// each episode, the median of each value. Every joint must be observed as an angle or a
    /// position (the fit differentiates positions). Nil when no episode could be fitted (too
    /// short, too little motion, a joint not observed).
    public static func fit(
        _ trajectories: [RealTrajectory], robot: RobotSpec, task: TaskSpec, options: ChainSystemID.Options = episodeOptions
    ) -> FileFit? {
        let nj = robot.joints.count
        let dt = 1 / Double(task.controlRateHz)
        var fits: [ChainSystemID.Fit] = []
        for t in trajectories {
            guard let positions = jointPositions(t, task: task, joints: nj) else { continue }
            var commands = [[Double]](repeating: [Double](repeating: 0, count: t.ticks), count: nj)
            for (a, map) in task.actions.enumerated() {
                for k in 0..<t.ticks {
                    commands[map.joint][k] = min(max(Double(t.actions[task.actionSize * k + a]), -1), 1) * map.scale
                }
            }
            let log = ChainSysIDLog(dt: dt, positions: positions, commands: commands)
            guard let f = try? ChainSystemID.fit(log: log, robot: robot, options: options) else { continue }
            guard f.heldOutErrorAfter.isFinite else { continue }
            fits.append(f)
        }
        guard !fits.isEmpty else { return nil }
        var values: [String: Double] = [:]
        for name in fits[0].values.keys { values[name] = median(fits.compactMap { $0.values[name] }) }
        values["latency_ticks"] = values["latency_ticks"].map { $0.rounded() }
        var p = FileTaskParameters(robot: robot)
        for name in values.keys.sorted() {
            guard (try? p.set(name, to: values[name]!)) != nil else { return nil }
        }
        return FileFit(
            parameters: p, episodes: fits.count,
            oneStepError: (median(fits.map(\.heldOutErrorBefore)), median(fits.map(\.heldOutErrorAfter))), values: values)
    }

    /// Every joint's continuous position from the observations of one episode (angles
    /// unwrapped), or nil if a joint is observed neither as an angle nor as a position.
    static func jointPositions(_ t: RealTrajectory, task: TaskSpec, joints: Int) -> [[Double]]? {
        guard t.ticks > 0, t.observations.count == t.ticks * task.observationSize else { return nil }
        var source = [(offset: Int, kind: Int)?](repeating: nil, count: joints)
        var offset = 0
        for f in task.features {
            switch f {
            case .angleSinCos(let j): source[j] = (offset, 0)
            case .angleWrapped(let j): source[j] = (offset, 1)
            case .position(let j): source[j] = (offset, 2)
            case .velocity, .previousAction: break
            }
            offset += f.width
        }
        var out: [[Double]] = []
        for j in 0..<joints {
            guard let s = source[j] else { return nil }
            var q = [Double](repeating: 0, count: t.ticks)
            var previous = 0.0
            for k in 0..<t.ticks {
                let o = task.observationSize * k + s.offset
                let raw: Double
                switch s.kind {
                case 0: raw = atan2(Double(t.observations[o + 1]), Double(t.observations[o]))
                default: raw = Double(t.observations[o])
                }
                // Unwrap angles: the continuous angle the fit differentiates.
                q[k] = s.kind == 2 || k == 0 ? raw : previous + remainder(raw - previous, 2 * Double.pi)
                previous = q[k]
            }
            out.append(q)
        }
        return out
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
