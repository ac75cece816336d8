import Control

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The torque-limited pendulum swing-up.
///
/// - Robot: one joint; position θ in rad with 0 = upright and π = hanging (continuous,
///   calibrated), torque mode.
/// - Observation: [cos θ, sin θ, θ̇] (Float), as Gymnasium's Pendulum-v1.
/// - Action: one value in [-1, 1] → torque = action × maxTorque (clipped).
/// - Reward: −(angle_normalize(θ)² + 0.1 θ̇² + 0.001 u²) × dt/0.05 for the state before the
///   step and the commanded torque u. Never terminal; episodes time out.
/// - Simulator reset: θ ~ U[−π, π], θ̇ ~ U[−1, 1] (Gymnasium's).
/// - Reset on the real robot: damp the swing (u = −0.5 θ̇) until it hangs still.
public struct PendulumTask: SimulatedTask {
    public let parameters: PendulumParameters
    /// Cached coefficients of the dynamics (see `PendulumParameters`).
    public let gravityCoefficient: Double
    public let inverseInertia: Double

    public init(parameters: PendulumParameters = .rate200Hz) {
        self.parameters = parameters
        self.gravityCoefficient = parameters.gravityCoefficient
        self.inverseInertia = parameters.inverseInertia
    }

    public var name: String { "pendulum" }
    public var observationSize: Int { 3 }
    public var actionSize: Int { 1 }
    public var controlPeriod: Double { parameters.dt }
    public var episodeTicks: Int { parameters.episodeTicks }
    public var discount: Double { parameters.discount }

    /// The simulator state: angle, speed and the actuation delay line.
    public struct SimState: Sendable {
        public var theta: Double
        public var thetaDot: Double
        public var latency = LatencyLine()
        public init(theta: Double, thetaDot: Double) {
            self.theta = theta
            self.thetaDot = thetaDot
        }
    }

    // MARK: ControlTask (the 200 Hz loop)

    public func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>) {
        let theta = Double(state.position[0])
        observation[0] = Float(cos(theta))
        observation[1] = Float(sin(theta))
        observation[2] = state.velocity[0]
    }

    public func command(for action: UnsafePointer<Float>, into command: inout RobotCommand) {
        command.mode = .torque
        command.jointCount = 1
        command.setpoint[0] = Float(torque(for: action[0]))
    }

    public func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float {
        let theta = atan2(Double(observation[1]), Double(observation[0]))
        let cost = PendulumDynamics.cost(
            theta: theta, thetaDot: Double(observation[2]), torque: torque(for: action[0]))
        return Float(-cost * parameters.rewardScale)
    }

    public func isTerminal(observation: UnsafePointer<Float>) -> Bool { false }

    public func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
        let theta = Double(state.position[0])
        let speed = Double(state.velocity[0])
        command.mode = .torque
        command.jointCount = 1
        let damping = min(max(-0.5 * speed, -parameters.maxTorque), parameters.maxTorque)
        command.setpoint[0] = Float(damping)
        let hanging = abs(PendulumDynamics.normalizeAngle(theta - Double.pi)) < 0.05
        return hanging && abs(speed) < 0.05
    }

    /// Torque for a policy action: clip(action, −1, 1) × maxTorque.
    @inline(__always)
    public func torque(for action: Float) -> Double {
        let a = action.isNaN ? 0 : min(max(Double(action), -1), 1)
        return a * parameters.maxTorque
    }

    // MARK: SimulatedTask (the trainer's onboard simulator)

    public var simStateNames: [String] { ["theta", "theta_dot"] }

    public func simState(from values: UnsafePointer<Double>) -> SimState {
        SimState(theta: values[0], thetaDot: values[1])
    }

    public func write(_ state: SimState, to values: UnsafeMutablePointer<Double>) {
        values[0] = state.theta
        values[1] = state.thetaDot
    }

    public func resetSim(random: inout SimRandom) -> SimState {
        let theta = random.uniform(-Double.pi, Double.pi)
        let thetaDot = random.uniform(-1, 1)
        return SimState(theta: theta, thetaDot: thetaDot)
    }

    public func observeSim(_ state: SimState, into observation: UnsafeMutablePointer<Float>) {
        observation[0] = Float(cos(state.theta))
        observation[1] = Float(sin(state.theta))
        observation[2] = Float(state.thetaDot)
    }

    public func stepSim(
        _ state: inout SimState, action: UnsafePointer<Float>, random: inout SimRandom
    ) -> (reward: Double, terminal: Bool) {
        (stepSim(&state, torque: torque(for: action[0]), random: &random), false)
    }

    /// One tick with a commanded torque in N·m (clipped to ±maxTorque): the reward uses
    /// the commanded torque, the physics the delayed, noisy one. With the Gymnasium
    /// parameters this is Pendulum-v1's `step` exactly (reward included).
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func stepSim(
        _ state: inout SimState, torque commanded: Double, random: inout SimRandom
    )
        -> Double
    {
        let p = parameters
        let u = min(max(commanded, -p.maxTorque), p.maxTorque)
        let cost = PendulumDynamics.cost(theta: state.theta, thetaDot: state.thetaDot, torque: u)
        var executed = state.latency.push(u, latency: p.latencyTicks)
        if p.actionNoise > 0 { executed += p.actionNoise * random.normal() }
        PendulumDynamics.step(
            theta: &state.theta, thetaDot: &state.thetaDot, torque: executed,
            gravityCoefficient: gravityCoefficient, inverseInertia: inverseInertia,
            parameters: p)
        return -cost * p.rewardScale
    }
}
