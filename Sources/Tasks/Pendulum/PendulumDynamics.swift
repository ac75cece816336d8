#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The onboard simulator's pendulum physics in float64, in Gymnasium Pendulum-v1's exact
/// order of operations (see `PendulumParameters` for the model).
public enum PendulumDynamics {
    /// Python's `((x + pi) % (2 pi)) - pi` (numpy's floored modulo), bit for bit.
    @inline(__always)
    public static func normalizeAngle(_ x: Double) -> Double {
        let twoPi = 2 * Double.pi
        var r = (x + Double.pi).truncatingRemainder(dividingBy: twoPi)
        if r != 0 {
            if r < 0 { r += twoPi }
        } else {
            r = 0
        }
        return r - Double.pi
    }

    /// Gymnasium's cost of being at (θ, θ̇) while applying torque `u` (already clipped).
    @inline(__always)
    public static func cost(theta: Double, thetaDot: Double, torque u: Double) -> Double {
        let a = normalizeAngle(theta)
        return a * a + 0.1 * (thetaDot * thetaDot) + 0.001 * (u * u)
    }

    /// One Euler step of duration `p.dt` with the executed torque `u` (N·m, before the
    /// actuator gain). Clips `u` to ±maxTorque and the new speed to ±maxSpeed like Gymnasium.
    /// With the Gymnasium parameters the result equals Pendulum-v1's step bit for bit.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public static func step(
        theta: inout Double, thetaDot: inout Double, torque: Double,
        gravityCoefficient alpha: Double, inverseInertia beta: Double,
        parameters p: PendulumParameters
    ) {
        let u = min(max(torque, -p.maxTorque), p.maxTorque)
        let th = theta
        let thdot = thetaDot
        // Gymnasium: thdot + (3*g/(2*l)*sin(th) + 3.0/(m*l**2)*u) * dt; here the torque term
        // also carries gain, viscous and (implicitly applied) Coulomb friction, each exactly
        // neutral at its Gymnasium value (gain 1, friction 0).
        let drive = p.actuatorGain * u - p.damping * thdot
        var newThdot = thdot + (alpha * sin(th) + beta * drive) * p.dt
        if p.coulomb > 0 {
            let slip = beta * p.coulomb * p.dt
            newThdot = abs(newThdot) <= slip ? 0 : newThdot - (newThdot > 0 ? slip : -slip)
        }
        newThdot = min(max(newThdot, -p.maxSpeed), p.maxSpeed)
        theta = th + newThdot * p.dt
        thetaDot = newThdot
    }
}
