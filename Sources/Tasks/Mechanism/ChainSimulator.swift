/// The onboard simulator of a task defined by files: the robot file's planar chain, its
/// actuators (gain, effort limit, rate limit, latency) and its sensor pipeline (encoder
/// quantisation, the firmware's velocity filter at the firmware rate), stepped one policy
/// decision at a time, so the simulator observes the way the robot does.
///
/// A decision holds the action for `TaskSpec.controlTicksPerDecision` control ticks; its
/// reward is the sum of the task's per-tick rewards over them (the loop's and the recorder's
/// rule); each control tick advances `firmwareRate / controlRate` physics sub-steps.
///
/// Thread contract: an immutable value; `reset`, `observe` and `step` are real-time safe:
/// they do not allocate, lock or throw.
public struct ChainSimulator: Sendable {
    public let robot: RobotSpec
    public let task: GenericTask
    public let chain: PlanarChain
    public let integrator: ChainIntegrator
    let substeps: Int
    let substepSeconds: Double
    let countsPerUnit: JointVector
    /// Torque change allowed per control tick, per joint.
    let maxStep: JointVector
    /// Each joint's actuator (a copy out of the robot file's joints, so the hot loop reads
    /// no arrays of strings), and the loop constants.
    let drives: InlineArray<8, RobotSpec.Actuator?>
    let jointCount: Int
    let latencyTicks: Int
    let substepMicros: Int64
    let ticksPerDecision: Int

    /// The simulated robot: true physics plus the firmware's and the actuators' memory.
    public struct State: Sendable {
        public var q = JointVector(repeating: 0)
        public var qd = JointVector(repeating: 0)
        /// What the firmware reports: quantised position and filtered velocity.
        public var measuredPosition = JointVector(repeating: 0)
        public var measuredVelocity = JointVector(repeating: 0)
        var filters = InlineArray<8, FirmwareVelocityFilter>(repeating: FirmwareVelocityFilter())
        var latency = InlineArray<8, LatencyLine>(repeating: LatencyLine())
        /// The last command after the rate limit (N·m or N).
        var applied = JointVector(repeating: 0)
        public init() {}
    }

    public init(robot: RobotSpec, task: GenericTask, integrator: ChainIntegrator = .rk4) throws(SpecError) {
        self.robot = robot
        self.task = task
        self.chain = try robot.chain()
        self.integrator = integrator
        let rate = robot.sensing.firmwareRateHz, control = task.spec.controlRateHz
        guard rate >= control, rate % control == 0 else {
            throw SpecError(
                file: robot.source, field: "sensing.firmware_rate_hz",
                problem: "\(rate) must be a multiple of the task's control rate \(control) Hz")
        }
        substeps = rate / control
        substepSeconds = 1 / Double(rate)
        var counts = JointVector(repeating: 1), step = JointVector(repeating: 0)
        for (i, j) in robot.joints.enumerated() {
            counts[i] = j.body.kind == .revolute ? j.encoderCountsPerUnit / (2 * Double.pi) : j.encoderCountsPerUnit
            step[i] = (j.actuator?.rateLimit ?? 0) / Double(control)
        }
        countsPerUnit = counts
        maxStep = step
        var drives = InlineArray<8, RobotSpec.Actuator?>(repeating: nil)
        for (i, j) in robot.joints.enumerated() { drives[i] = j.actuator }
        self.drives = drives
        jointCount = robot.joints.count
        latencyTicks = robot.sensing.latencyTicks
        substepMicros = Int64((substepSeconds * 1e6).rounded())
        ticksPerDecision = task.spec.controlTicksPerDecision
    }

    /// A start state from the task's `sim_start` ranges.
    public func reset(random: inout some RandomNumberGenerator) -> State {
        var s = State()
        for i in 0..<robot.joints.count {
            let p = task.spec.startPosition[i], v = task.spec.startVelocity[i]
            s.q[i] = p.lowerBound == p.upperBound ? p.lowerBound : Double.random(in: p, using: &random)
            s.qd[i] = v.lowerBound == v.upperBound ? v.lowerBound : Double.random(in: v, using: &random)
        }
        restartSensors(&s)
        return s
    }

    /// A start state at given positions and speeds (e.g. a recorded one); sensors restarted.
    public func state(q: JointVector, qd: JointVector) -> State {
        var s = State()
        s.q = q
        s.qd = qd
        restartSensors(&s)
        return s
    }

    /// The firmware restarts its velocity filter at the current count (it reports 0 at first,
    /// as the real firmware does after a reset); the simulator reports the true speed at the
    /// start so that resets from moving states observe what the robot would after settling.
    func restartSensors(_ s: inout State) {
        for i in 0..<robot.joints.count {
            let c = (s.q[i] * countsPerUnit[i]).rounded()
            s.filters[i] = FirmwareVelocityFilter(
                shift: robot.sensing.velocityShift, window: robot.sensing.velocityWindow, counts: Int32(clamping: Int64(c)))
            s.measuredPosition[i] = c / countsPerUnit[i]
            s.measuredVelocity[i] = s.qd[i]
        }
    }

    /// The robot state the control loop would read.
    @inline(__always)
    public func robotState(_ s: State) -> RobotStateValues {
        RobotStateValues(position: s.measuredPosition, velocity: s.measuredVelocity, count: jointCount)
    }

    /// Writes the policy observation of `s`.
    public func observe(_ s: State, into observation: UnsafeMutablePointer<Float>) {
        task.observe(robotState(s).state, into: observation)
    }

    /// One policy decision under `action` (each component in [−1, 1]): the summed reward of
    /// its control ticks and whether the new state is terminal.
    public func step(_ s: inout State, action: UnsafePointer<Float>) -> (reward: Double, terminal: Bool) {
        var command = RobotCommand()
        task.command(for: action, into: &command)
        var observation = InlineArray<64, Float>(repeating: 0)
        var reward = 0.0
        let n = jointCount
        for _ in 0..<ticksPerDecision {
            withUnsafeMutablePointer(to: &observation) { p in
                p.withMemoryRebound(to: Float.self, capacity: 64) { o in
                    task.observe(robotState(s).state, into: o)
                    reward += Double(task.reward(observation: o, action: action))
                }
            }
            // Host side: rate limit (the safety filter), then the actuation latency.
            var tau = JointVector(repeating: 0)
            for i in 0..<n {
                guard let act = drives[i] else { continue }
                let wanted = min(max(Double(command.setpoint[i]), -act.effortLimit), act.effortLimit)
                let limited = min(max(wanted, s.applied[i] - maxStep[i]), s.applied[i] + maxStep[i])
                s.applied[i] = limited
                let delayed = s.latency[i].push(limited, latency: latencyTicks)
                switch act.mode {
                case .torque: tau[i] = act.gain * delayed
                case .velocity: tau[i] = act.gain * act.servoGain * (delayed - s.qd[i])
                case .position: tau[i] = act.gain * act.servoGain * (delayed - s.q[i])
                }
                tau[i] = min(max(tau[i], -act.effortLimit * act.gain), act.effortLimit * act.gain)
            }
            // Firmware side: physics sub-steps, encoders and the velocity filter each tick.
            for _ in 0..<substeps {
                chain.step(q: &s.q, qd: &s.qd, tau: tau, dt: substepSeconds, integrator: integrator)
                for i in 0..<n {
                    let c = Int32(clamping: Int64((s.q[i] * countsPerUnit[i]).rounded()))
                    let v = s.filters[i].update(counts: c, dtMicros: substepMicros)
                    s.measuredPosition[i] = Double(c) / countsPerUnit[i]
                    s.measuredVelocity[i] = Double(v) / countsPerUnit[i]
                }
            }
        }
        let terminal = withUnsafeMutablePointer(to: &observation) { p in
            p.withMemoryRebound(to: Float.self, capacity: 64) { o in
                task.observe(robotState(s).state, into: o)
                return task.isTerminal(observation: o)
            }
        }
        return (reward, terminal)
    }
}

import Control

/// A `RobotState` built from simulator values (a small adapter so the task's loop-facing
/// `observe` serves the simulator too).
public struct RobotStateValues {
    public var state = RobotState()
    @inline(__always)
    init(position: JointVector, velocity: JointVector, count: Int) {
        state.jointCount = count
        for i in 0..<count {
            state.position[i] = Float(position[i])
            state.velocity[i] = Float(velocity[i])
        }
    }
}
