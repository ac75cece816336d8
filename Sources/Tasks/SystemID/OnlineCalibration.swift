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

/// The onboard simulator calibrated during a run: `ChainSystemID` (the N-joint fit of the
/// manipulator equation) fitted to each of the run's recent finished episodes (the policy's
/// own, exploring ones included), the median of each identifiable parameter taken, and the
/// learner's `FileTask` rebuilt with it. The simulator keeps its form (rigid links, actuator
/// gains, viscous and Coulomb friction, latency); what it cannot express (back-EMF, encoder
/// quantisation, the serial link) stays a gap for H2O+'s discriminators.
///
/// Set-up code for the trainer thread: allocates, never called by the control thread.
public enum OnlineCalibration {
    /// What one calibration found.
    public struct Fit: Sendable {
        /// The nominal parameters with every identifiable fitted value written in.
        public var parameters: FileTaskParameters
        /// Episodes fitted.
        public var episodes: Int
        /// Median held-out one-step error, robot file's values then fitted ones (rad/s or m/s).
        public var oneStepError: (before: Double, after: Double)
        /// The fitted values (`FileTaskParameters` names), medians over episodes.
        public var values: [(name: String, value: Double)]

        /// "pendulum.gain 0.71 (1), pendulum.viscous 0.052 (0), … from 3 episode(s); held-out one-step error …"
        public func describe(nominal: FileTaskParameters) -> String {
            let parts = values.map { v in
                String(format: "%@ %.3g (%.3g)", v.name, v.value, nominal.value(of: v.name) ?? .nan)
            }
            return parts.joined(separator: ", ")
                + String(format: " from %d episode(s); held-out one-step error %.3f → %.3f", episodes, oneStepError.before, oneStepError.after)
        }
    }

    /// Joint positions per tick from a trajectory's observations (the task's angle or position
    /// features, angles unwrapped), joint-major; nil when some joint's position is not observed.
    static func positions(_ t: RealTrajectory, task: TaskSpec, joints: Int) -> [[Double]]? {
        var reader: [(offset: Int, sinCos: Bool, wrapped: Bool)?] = Array(repeating: nil, count: joints)
        var k = 0
        for f in task.features {
            switch f {
            case .angleSinCos(let j): reader[j] = (k, true, true)
            case .angleWrapped(let j): reader[j] = (k, false, true)
            case .position(let j): if reader[j] == nil { reader[j] = (k, false, false) }
            case .velocity, .previousAction: break
            }
            k += f.width
        }
        let width = task.observationSize
        guard t.ticks > 0, t.observations.count == width * t.ticks else { return nil }
        var out: [[Double]] = []
        for r in reader {
            guard let r else { return nil }
            var q = [Double](repeating: 0, count: t.ticks)
            var previous = 0.0
            for i in 0..<t.ticks {
                let o = i * width + r.offset
                let raw = r.sinCos ? atan2(Double(t.observations[o + 1]), Double(t.observations[o])) : Double(t.observations[o])
                q[i] = !r.wrapped || i == 0 ? raw : previous + remainder(raw - previous, 2 * Double.pi)
                previous = q[i]
            }
            out.append(q)
        }
        return out
    }

    /// Fits `trajectories` (observations of `task`, actions in [−1, 1], at the task's control
    /// rate) over `nominal`. Nil when no episode could be fitted or a fit is implausible (a
    /// non-positive gain: too little excitation).
    public static func fit(_ trajectories: [RealTrajectory], task: TaskSpec, nominal: FileTaskParameters) -> Fit? {
        let robot = nominal.resolvedRobot
        let n = robot.joints.count
        // One episode (10 s at 200 Hz) is shorter than the calibration excitation the default
        // filter is sized for: a 0.1 s low-pass keeps 40 filter margins inside 2000 ticks.
        var options = ChainSystemID.Options()
        options.filterLength = 20
        var fits: [ChainSystemID.Fit] = []
        for t in trajectories where t.ticks >= 40 * (2 * options.filterLength + options.maxLatencyTicks + 2) {
            guard let q = positions(t, task: task, joints: n), t.actions.count == task.actionSize * t.ticks else { continue }
            var commands = [[Double]](repeating: [Double](repeating: 0, count: t.ticks), count: n)
            for (k, a) in task.actions.enumerated() {
                for i in 0..<t.ticks { commands[a.joint][i] = min(max(Double(t.actions[i * task.actionSize + k]), -1), 1) * a.scale }
            }
            let log = ChainSysIDLog(dt: 1 / Double(task.controlRateHz), positions: q, commands: commands)
            guard let r = try? ChainSystemID.fit(log: log, robot: robot, options: options) else { continue }
            let gains = r.values.filter { $0.key.hasSuffix(".gain") }.map(\.value)
            guard gains.allSatisfy({ $0 > 0.05 && $0.isFinite }), r.heldOutErrorAfter.isFinite else { continue }
            fits.append(r)
        }
        guard !fits.isEmpty else { return nil }
        func median(_ values: [Double]) -> Double {
            let s = values.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        // Only what every fit determined on its own; the rest keeps the robot file's values.
        let names = fits.dropFirst().reduce(fits[0].identifiable) { $0.intersection($1.identifiable) }.sorted()
        var p = nominal
        var values: [(name: String, value: Double)] = []
        for name in names {
            let v = median(fits.compactMap { $0.values[name] })
            guard (try? p.set(name, to: name == "latency_ticks" ? v.rounded() : v)) != nil else { continue }
            values.append((name, p.value(of: name) ?? v))
        }
        guard !values.isEmpty else { return nil }
        return Fit(
            parameters: p, episodes: fits.count,
            oneStepError: (median(fits.map(\.heldOutErrorBefore)), median(fits.map(\.heldOutErrorAfter))), values: values)
    }
}
