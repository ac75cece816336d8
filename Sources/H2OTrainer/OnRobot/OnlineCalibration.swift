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
