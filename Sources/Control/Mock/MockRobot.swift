import SystemSupport

/// Mock hardware in the spirit of ros2_control's mock components: it mirrors commands into
/// states, or integrates them through a simple plant, so the whole pipeline (loop, safety,
/// recording, tools) runs without a robot.
///
/// Thread contract: lifecycle calls from set-up code; `read`/`write`/`emergencyStop` from the
/// control thread (real-time safe: does not allocate, lock or throw). `disturb` only while the
/// loop is not running, or from the control thread.
public final class MockRobot: RobotInterface {
    /// How commands turn into states.
    public enum Plant: Sendable, Equatable {
        /// The command appears in the state of its mode (torque → effort, velocity → velocity,
        /// position → position), the rest unchanged.
        case mirror
        /// Each joint is a damped inertia: `J·q̈ = τ − b·q̇` integrated with semi-implicit Euler at
        /// `dt` per write (torque mode); velocity mode integrates the commanded velocity;
        /// position mode moves to the commanded position in one step.
        case integrator(inertia: Float, damping: Float, dt: Float)
    }

    public let plant: Plant
    public private(set) var lifecycle: LifecycleState = .unconfigured
    public private(set) var info: RobotInfo
    public private(set) var mode: ControlMode = .torque
    private var position = zeroJoints(), velocity = zeroJoints(), effort = zeroJoints()
    private var faults: RobotFaults = []
    private var echo: UInt32 = 0
    /// Commands honoured since creation.
    public private(set) var writes: UInt64 = 0
    /// The last command honoured.
    public private(set) var lastCommand = RobotCommand()

    public init(jointCount: Int, plant: Plant = .mirror, robotID: String = "mock") {
        precondition(jointCount > 0 && jointCount <= maxJoints)
        self.plant = plant
        info = RobotInfo(
            jointCount: jointCount, jointNames: (0..<jointCount).map { "joint\($0)" },
            encoderCountsPerRevolution: Array(repeating: 0, count: jointCount), firmwareVersion: "mock-1",
            robotID: robotID)
    }

    public func configure(_ configuration: RobotConfiguration) throws {
        guard lifecycle == .unconfigured || lifecycle == .inactive else {
            throw MockRobotError("configure", "robot is \(lifecycle); deactivate it first")
        }
        mode = configuration.mode
        lifecycle = .inactive
    }

    public func activate() throws {
        guard lifecycle == .inactive else { throw MockRobotError("activate", "robot is \(lifecycle); configure it (and clear faults) first") }
        lifecycle = .active
    }

    public func deactivate() throws {
        if lifecycle == .active { lifecycle = .inactive }
    }

    public func clearFault() throws {
        guard lifecycle == .fault else { return }
        faults = []
        lifecycle = .inactive
    }

    public func shutdown() { lifecycle = .unconfigured }

    /// Real-time safe: does not allocate, lock or throw.
    public func read(into state: inout RobotState) -> IOStatus {
        guard lifecycle != .unconfigured else { return .disconnected }
        state.hostTimeNanos = monotonicNanos()
        state.deviceTimeMicros = UInt32(truncatingIfNeeded: state.hostTimeNanos / 1000)
        state.jointCount = info.jointCount
        state.position = position
        state.velocity = velocity
        state.effort = effort
        state.faults = faults
        state.commandSequenceEcho = echo
        return lifecycle == .fault ? .fault : .ok
    }

    /// Honoured only while active. Real-time safe: does not allocate, lock or throw.
    public func write(_ command: RobotCommand) -> IOStatus {
        guard lifecycle == .active else { return lifecycle == .fault ? .fault : .notActive }
        let n = info.jointCount
        switch plant {
        case .mirror:
            for i in 0..<n {
                switch command.mode {
                case .torque: effort[i] = command.setpoint[i]
                case .velocity: velocity[i] = command.setpoint[i]
                case .position: position[i] = command.setpoint[i]
                }
            }
        case .integrator(let inertia, let damping, let dt):
            for i in 0..<n {
                let u = command.setpoint[i]
                switch command.mode {
                case .torque:
                    effort[i] = u
                    velocity[i] += dt * (u - damping * velocity[i]) / inertia
                    position[i] += dt * velocity[i]
                case .velocity:
                    velocity[i] = u
                    position[i] += dt * u
                case .position:
                    velocity[i] = (u - position[i]) / dt
                    position[i] = u
                }
            }
        }
        echo = command.sequence
        lastCommand = command
        writes &+= 1
        return .ok
    }

    /// Latches an e-stop fault: motors off until `clearFault()`. Real-time safe.
    public func emergencyStop() -> IOStatus {
        faults.insert(.estop)
        lifecycle = .fault
        return .ok
    }

    /// Sets a joint's state directly (initial conditions, disturbances).
    public func disturb(joint: Int, position p: Float? = nil, velocity v: Float? = nil, effort e: Float? = nil) {
        if let p { position[joint] = p }
        if let v { velocity[joint] = v }
        if let e { effort[joint] = e }
    }

    /// Latches `fault` as if the robot reported it. Real-time safe.
    public func injectFault(_ fault: RobotFaults) {
        faults.insert(fault)
        lifecycle = .fault
    }
}

/// A mock robot lifecycle error naming the call and the fix.
public struct MockRobotError: Error, CustomStringConvertible {
    public var description: String
    init(_ call: String, _ why: String) { description = "mock robot \(call): \(why)" }
}
