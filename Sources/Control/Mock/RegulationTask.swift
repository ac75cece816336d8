/// A task for any joint robot: hold every joint at a target position with little effort.
/// Observation: positions then velocities (2·joints); action: one torque per joint in [-1, 1],
/// scaled by `effortScale`. Reward `-Σ (q−q*)² + 0.1·q̇² + 0.001·τ²`; no terminal state.
/// Used with the mock robot (tests, `robotctl bench loop`) and for teleop recordings.
public struct RegulationTask: ControlTask {
    public let name = "regulation"
    public let jointCount: Int
    public var observationSize: Int { 2 * jointCount }
    public var actionSize: Int { jointCount }
    public let controlPeriod: Double
    public let episodeTicks: Int
    /// Torque at action 1, N·m.
    public let effortScale: Float
    public let target: JointValues
    /// Reset: PD gains and the tolerance that counts as "at the start".
    public let resetStiffness: Float = 4, resetDamping: Float = 1, resetTolerance: Float = 0.05

    public init(jointCount: Int, controlPeriod: Double = 0.005, episodeTicks: Int = 1000, effortScale: Float = 1,
                target: [Float]? = nil) {
        precondition(jointCount > 0 && jointCount <= maxJoints)
        self.jointCount = jointCount
        self.controlPeriod = controlPeriod
        self.episodeTicks = episodeTicks
        self.effortScale = effortScale
        var t = zeroJoints()
        for (i, v) in (target ?? []).enumerated() where i < jointCount { t[i] = v }
        self.target = t
    }

    /// The observation channels, for dataset schemas.
    public var observationChannels: [DatasetChannel] {
        (0..<jointCount).map { DatasetChannel(name: "q\($0)", unit: "rad") }
            + (0..<jointCount).map { DatasetChannel(name: "qdot\($0)", unit: "rad/s") }
    }
    /// The action channels, for dataset schemas.
    public var actionChannels: [DatasetChannel] { (0..<jointCount).map { DatasetChannel(name: "tau\($0)", unit: "1") } }
    public var rewardDefinition: String { "-sum((q - target)^2 + 0.1 qdot^2 + 0.001 (effortScale a)^2)" }

    public func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>) {
        for i in 0..<jointCount {
            observation[i] = state.position[i]
            observation[jointCount + i] = state.velocity[i]
        }
    }

    public func command(for action: UnsafePointer<Float>, into command: inout RobotCommand) {
        command.mode = .torque
        command.jointCount = jointCount
        for i in 0..<jointCount { command.setpoint[i] = min(max(action[i], -1), 1) * effortScale }
    }

    public func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float {
        var r: Float = 0
        for i in 0..<jointCount {
            let e = observation[i] - target[i], v = observation[jointCount + i], u = action[i] * effortScale
            r -= e * e + 0.1 * v * v + 0.001 * u * u
        }
        return r
    }

    public func isTerminal(observation: UnsafePointer<Float>) -> Bool { false }

    public func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
        command.mode = .torque
        command.jointCount = jointCount
        var there = true
        for i in 0..<jointCount {
            let e = target[i] - state.position[i]
            if abs(e) > resetTolerance || abs(state.velocity[i]) > 2 * resetTolerance { there = false }
            command.setpoint[i] = min(max(resetStiffness * e - resetDamping * state.velocity[i], -effortScale), effortScale)
        }
        return there
    }
}
