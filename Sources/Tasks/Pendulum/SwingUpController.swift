#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A scripted swing-up controller for the pendulum task that works from the observation
/// alone ([cos θ, sin θ, θ̇], θ = 0 upright): energy pumping toward the upright energy, then a
/// PD catch near the top. With noise it is the "noisy teleop" that records offline datasets;
/// without noise it is a reference policy for tests.
///
/// Value type. Real-time safe: does not allocate, lock or throw.
public struct PendulumSwingUpController: Sendable {
    /// Gravity coefficient of θ̈ (3g/(2l) for the uniform rod), 1/s².
    public var gravityCoefficient: Double
    /// Torque limit, N·m (action 1).
    public var maxTorque: Double
    /// 1/I, 1/(kg·m²).
    public var inverseInertia: Double
    /// Energy-pumping gain: torque (N·m) per unit of energy deficit per inertia (1/s²).
    public var pumpGain = 2.0
    /// Below this |angle| from upright, rad, the PD catch takes over.
    public var catchAngle = 0.5
    /// PD gains of the catch, N·m per rad and per rad/s.
    public var kp = 12.0
    public var kd = 2.5

    /// A controller for `task`'s nominal parameters.
    public init(task: PendulumTask) {
        gravityCoefficient = task.gravityCoefficient
        inverseInertia = task.inverseInertia
        maxTorque = task.parameters.maxTorque
    }

    /// The action in [-1, 1] for observation `o`.
    @inline(__always)
    public func action(observation o: UnsafePointer<Float>) -> Float {
        let c = Double(o[0])
        let s = Double(o[1])
        let w = Double(o[2])
        let angle = atan2(s, c)
        var torque: Double
        if abs(angle) < catchAngle {
            torque = -kp * angle - kd * w
        } else {
            // Energy per inertia: ½θ̇² + α cos θ; upright it is α at rest.
            let energy = 0.5 * w * w + gravityCoefficient * c
            let deficit = gravityCoefficient - energy
            let direction = w == 0 ? 1.0 : (w > 0 ? 1.0 : -1.0)
            torque = pumpGain * deficit * direction
        }
        return Float(min(max(torque / maxTorque, -1), 1))
    }
}
