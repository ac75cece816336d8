import Control

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The cart-pole with a continuous force: swing-up and balance, or balance only.
///
/// - Robot: joint 0 = cart position, m (actuated, force mode in N through the torque
///   setpoint); joint 1 = pole angle, rad, 0 = upright, π = hanging (passive).
/// - Observation: [x, x', cos θ, sin θ, θ'] (Float).
/// - Action: one value in [-1, 1] → force = action × maxForce (clipped).
/// - Reward × dt/0.02: swing-up: (1 + cos θ)/2 − 0.05 x² − 0.01 a²; balance: 1 per tick.
/// - Terminal: |x| > trackLimit; in balance mode also |θ| > 12°.
/// - Simulator reset: swing-up: hanging, x, x', θ−π, θ' ~ U(±0.05); balance: all ~ U(±0.05)
///   around upright (Gymnasium's).
/// - Reset on the real robot: a PD on the cart brings it to the centre and holds it there,
///   damping the pole's swing through the cart, until it and the pole are still; swing-up then starts hanging, balance waits for the
///   operator to raise the pole (returns true once it is within 0.05 rad of upright).
public struct CartPoleTask: SimulatedTask {
    public let parameters: CartPoleParameters

    public init(parameters: CartPoleParameters = .swingUp200Hz) {
        self.parameters = parameters
    }

    public var name: String { parameters.mode == .balance ? "cartpole-balance" : "cartpole" }
    public var observationSize: Int { 5 }
    public var actionSize: Int { 1 }
    public var controlPeriod: Double { parameters.dt }
    public var episodeTicks: Int { parameters.episodeTicks }
    public var discount: Double { parameters.discount }

    /// Balance mode's terminal angle: 12° as in Gymnasium's CartPole.
    public static let balanceAngleLimit = 12 * 2 * Double.pi / 360

    public struct SimState: Sendable {
        public var x: Double
        public var xDot: Double
        public var theta: Double
        public var thetaDot: Double
        public var latency = LatencyLine()
        public init(x: Double, xDot: Double, theta: Double, thetaDot: Double) {
            self.x = x
            self.xDot = xDot
            self.theta = theta
            self.thetaDot = thetaDot
        }
    }

    // MARK: ControlTask

    public func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>) {
        let theta = Double(state.position[1])
        observation[0] = state.position[0]
        observation[1] = state.velocity[0]
        observation[2] = Float(cos(theta))
        observation[3] = Float(sin(theta))
        observation[4] = state.velocity[1]
    }

    public func command(for action: UnsafePointer<Float>, into command: inout RobotCommand) {
        command.mode = .torque
        command.jointCount = 2
        command.setpoint[0] = Float(force(for: action[0]))
        command.setpoint[1] = 0
    }

    public func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float {
        Float(
            reward(
                x: Double(observation[0]), cosTheta: Double(observation[2]),
                action: force(for: action[0]) / parameters.maxForce))
    }

    public func isTerminal(observation: UnsafePointer<Float>) -> Bool {
        let angle = atan2(Double(observation[3]), Double(observation[2]))
        return isTerminal(x: Double(observation[0]), angle: angle)
    }

    public func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
        let x = Double(state.position[0])
        let xDot = Double(state.velocity[0])
        let limit = 0.3 * parameters.maxForce
        command.mode = .torque
        command.jointCount = 2
        // Centre the cart; while hanging, also damp the pole's swing through the cart
        // (near θ = π a cart force −k·θ̇ acts on the pole like viscous damping).
        let hangingNow = abs(PendulumDynamics.normalizeAngle(Double(state.position[1]) - Double.pi)) < 1
        let poleDamping = hangingNow ? -2 * Double(state.velocity[1]) : 0
        command.setpoint[0] = Float(min(max(-20 * x - 10 * xDot + poleDamping, -limit), limit))
        command.setpoint[1] = 0
        let centred = abs(x) < 0.02 && abs(xDot) < 0.02
        let angleFromUp = PendulumDynamics.normalizeAngle(Double(state.position[1]))
        let still = abs(Double(state.velocity[1])) < 0.1
        switch parameters.mode {
        case .swingUp: return centred && still && abs(abs(angleFromUp) - Double.pi) < 0.1
        case .balance: return centred && abs(angleFromUp) < 0.05
        }
    }

    /// Force for a policy action: clip(action, −1, 1) × maxForce.
    @inline(__always)
    public func force(for action: Float) -> Double {
        let a = action.isNaN ? 0 : min(max(Double(action), -1), 1)
        return a * parameters.maxForce
    }

    @inline(__always)
    func reward(x: Double, cosTheta: Double, action a: Double) -> Double {
        switch parameters.mode {
        case .swingUp:
            return ((1 + cosTheta) / 2 - 0.05 * x * x - 0.01 * a * a) * parameters.rewardScale
        case .balance:
            return parameters.rewardScale
        }
    }

    @inline(__always)
    func isTerminal(x: Double, angle: Double) -> Bool {
        if abs(x) > parameters.trackLimit { return true }
        return parameters.mode == .balance
            && abs(PendulumDynamics.normalizeAngle(angle)) > Self.balanceAngleLimit
    }

    // MARK: SimulatedTask

    public var simStateNames: [String] { ["x", "x_dot", "theta", "theta_dot"] }

    public func simState(from values: UnsafePointer<Double>) -> SimState {
        SimState(x: values[0], xDot: values[1], theta: values[2], thetaDot: values[3])
    }

    public func write(_ state: SimState, to values: UnsafeMutablePointer<Double>) {
        values[0] = state.x
        values[1] = state.xDot
        values[2] = state.theta
        values[3] = state.thetaDot
    }

    public func resetSim(random: inout SimRandom) -> SimState {
        let up = parameters.mode == .balance
        return SimState(
            x: random.uniform(-0.05, 0.05), xDot: random.uniform(-0.05, 0.05),
            theta: (up ? 0 : Double.pi) + random.uniform(-0.05, 0.05),
            thetaDot: random.uniform(-0.05, 0.05))
    }

    public func observeSim(_ state: SimState, into observation: UnsafeMutablePointer<Float>) {
        observation[0] = Float(state.x)
        observation[1] = Float(state.xDot)
        observation[2] = Float(cos(state.theta))
        observation[3] = Float(sin(state.theta))
        observation[4] = Float(state.thetaDot)
    }

    public func stepSim(
        _ state: inout SimState, action: UnsafePointer<Float>, random: inout SimRandom
    ) -> (reward: Double, terminal: Bool) {
        let p = parameters
        let commanded = force(for: action[0])
        let reward = reward(x: state.x, cosTheta: cos(state.theta), action: commanded / p.maxForce)
        var executed = state.latency.push(commanded, latency: p.latencyTicks)
        if p.actionNoise > 0 { executed += p.actionNoise * random.normal() }
        executed = min(max(executed, -p.maxForce), p.maxForce)
        Self.integrate(&state, force: p.actuatorGain * executed, parameters: p)
        return (reward, isTerminal(x: state.x, angle: state.theta))
    }

    /// One control period of the nominal cart-pole (`substeps` semi-implicit Euler steps) under cart force `force` (N).
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    static func integrate(_ s: inout SimState, force: Double, parameters p: CartPoleParameters) {
        let h = p.dt / Double(p.substeps)
        for _ in 0..<p.substeps { substep(&s, force: force, h: h, parameters: p) }
    }

    @inline(__always)
    static func substep(_ s: inout SimState, force: Double, h dt: Double, parameters p: CartPoleParameters) {
        let total = p.cartMass + p.mass
        let half = 0.5 * p.length
        let sinT = sin(s.theta)
        let cosT = cos(s.theta)
        let f = force - p.damping * s.xDot
        let temp = (f + p.mass * half * s.thetaDot * s.thetaDot * sinT) / total
        let thetaAcc =
            (p.gravity * sinT - cosT * temp - p.poleDamping * s.thetaDot / (p.mass * half))
            / (half * (4.0 / 3.0 - p.mass * cosT * cosT / total))
        let xAcc = temp - p.mass * half * thetaAcc * cosT / total
        var xDot = s.xDot + dt * xAcc
        if p.coulomb > 0 {
            let slip = p.coulomb * dt / total
            xDot = abs(xDot) <= slip ? 0 : xDot - (xDot > 0 ? slip : -slip)
        }
        s.thetaDot += dt * thetaAcc
        s.xDot = xDot
        s.x += dt * xDot
        s.theta += dt * s.thetaDot
    }
}
