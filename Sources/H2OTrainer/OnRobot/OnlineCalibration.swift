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

/// The onboard simulator calibrated during a run: `PendulumSystemID` fitted to each of the
/// run's recent finished episodes (the policy's own swing-ups, exploring ones included),
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
        /// Median held-out one-step velocity error, nominal model then fitted model, rad/s.
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
        var fits: [PendulumSystemIDResult] = []
        for t in trajectories where t.ticks >= 400 {
            var positions = [Double](repeating: 0, count: t.ticks)
            var previous = 0.0
            for k in 0..<t.ticks {
                let wrapped = atan2(Double(t.observations[3 * k + 1]), Double(t.observations[3 * k]))
                // Unwrap: the continuous angle the fit differentiates.
                positions[k] = k == 0 ? wrapped : previous + remainder(wrapped - previous, 2 * Double.pi)
                previous = positions[k]
            }
            let commands = t.actions.map { min(max(Double($0), -1), 1) * nominal.maxTorque }
            let log = PendulumExcitationLog(dt: nominal.dt, positions: positions, commands: commands)
            guard let r = try? PendulumSystemID.fit(log, nominal: nominal) else { continue }
            guard r.fitted.inertia > 0, r.fitted.inertia.isFinite, r.fitted.actuatorGain > 0.05, r.fitted.actuatorGain.isFinite else { continue }
            fits.append(r)
        }
        guard !fits.isEmpty else { return nil }
        func median(_ values: [Double]) -> Double {
            let s = values.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        var p = nominal
        p.inertia = median(fits.map(\.fitted.inertia))
        p.actuatorGain = median(fits.map(\.fitted.actuatorGain))
        p.damping = median(fits.map(\.fitted.damping))
        p.coulomb = median(fits.map(\.fitted.coulomb))
        p.latencyTicks = Int(median(fits.map { Double($0.latencyTicks) }).rounded())
        return Fit(
            parameters: p, episodes: fits.count,
            oneStepError: (median(fits.map(\.heldOutOneStepError.before)), median(fits.map(\.heldOutOneStepError.after))))
    }
}
