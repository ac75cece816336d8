// The hardware boundary Control owns. Hardware (serial motor bus, GPIO) and test fakes
// conform to it; Control never imports Hardware or a C module.
//
// Modelled on ros2_control's hardware interface: a small lifecycle
// (configure -> activate -> deactivate, fault from anywhere), `read` and `write` of plain
// value types, commands honoured only while active.

/// The most joints one robot may have. State and command are fixed-size value types
/// so that the control tick never allocates.
public let maxJoints = 8

/// A fixed-capacity vector of per-joint values. Value type, never allocates.
public typealias JointValues = InlineArray<8, Float>

/// Zero-filled joint values.
@inlinable public func zeroJoints() -> JointValues { JointValues(repeating: 0) }

/// Where a robot is in its lifecycle.
public enum LifecycleState: UInt8, Sendable, CustomStringConvertible {
    /// Created, not yet configured: no commands, no state.
    case unconfigured
    /// Configured, motors off. `read` works, `write` is not honoured.
    case inactive
    /// Motors enabled: `write` is honoured.
    case active
    /// A latched fault: motors off until `clearFault()` and a new `activate()`.
    case fault

    public var description: String {
        switch self {
        case .unconfigured: "unconfigured"
        case .inactive: "inactive"
        case .active: "active"
        case .fault: "fault"
        }
    }
}

/// How a joint's setpoint is interpreted by the motor controller.
public enum ControlMode: UInt8, Sendable {
    /// Setpoint is a torque in N·m.
    case torque = 0
    /// Setpoint is a velocity in rad/s.
    case velocity = 1
    /// Setpoint is a position in rad.
    case position = 2
}

/// Fault bits reported by the robot (the wire protocol's fault flags plus host-side ones).
public struct RobotFaults: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The microcontroller's command watchdog expired (no valid command in time).
    public static let watchdog = RobotFaults(rawValue: 1 << 0)
    /// The e-stop was triggered (button, host request, or firmware).
    public static let estop = RobotFaults(rawValue: 1 << 1)
    /// A motor driver reported a fault (over-current, over-temperature, ...).
    public static let motor = RobotFaults(rawValue: 1 << 2)
    /// An encoder reading was invalid.
    public static let encoder = RobotFaults(rawValue: 1 << 3)
    /// A commanded value was outside the configured limits and was rejected/clamped.
    public static let limit = RobotFaults(rawValue: 1 << 4)
    /// Host side: the link failed too many consecutive ticks.
    public static let link = RobotFaults(rawValue: 1 << 16)
}

/// One reading of the robot, filled in place by `RobotInterface.read`.
public struct RobotState: Sendable {
    /// Host monotonic clock at the read, nanoseconds (CLOCK_MONOTONIC).
    public var hostTimeNanos: UInt64 = 0
    /// The robot's own clock at measurement, microseconds (wraps).
    public var deviceTimeMicros: UInt32 = 0
    /// Number of valid entries in the joint arrays.
    public var jointCount: Int = 0
    /// Joint positions, rad (calibrated: zero offset and direction applied).
    public var position: JointValues = zeroJoints()
    /// Joint velocities, rad/s.
    public var velocity: JointValues = zeroJoints()
    /// Joint efforts, N·m (or motor current in A where torque is not known).
    public var effort: JointValues = zeroJoints()
    /// Faults latched on the robot.
    public var faults: RobotFaults = []
    /// The sequence number of the last command the robot applied.
    public var commandSequenceEcho: UInt32 = 0

    public init() {}
}

/// One command to the robot, passed by value to `RobotInterface.write`.
public struct RobotCommand: Sendable {
    public var mode: ControlMode = .torque
    /// Number of valid entries in `setpoint`.
    public var jointCount: Int = 0
    /// Per-joint setpoint in the unit of `mode`.
    public var setpoint: JointValues = zeroJoints()
    /// Increments by one per tick; echoed back in `RobotState.commandSequenceEcho`.
    public var sequence: UInt32 = 0

    public init() {}
}

/// The result of a real-time I/O call. Real-time calls return this instead of throwing.
public enum IOStatus: UInt8, Sendable {
    /// Done.
    case ok
    /// Nothing valid arrived within the per-tick budget (after bounded retries).
    case timeout
    /// Data arrived but failed its check (CRC, framing); the call was not completed.
    case corrupted
    /// The link is down (device unplugged, closed); reconnecting is set-up work.
    case disconnected
    /// The command was not honoured because the robot is not active.
    case notActive
    /// The robot reports a latched fault.
    case fault
}

/// Static facts about a robot, known after `configure`.
public struct RobotInfo: Sendable, Equatable {
    public var jointCount: Int
    public var jointNames: [String]
    /// Encoder counts per revolution, per joint (0 when not applicable).
    public var encoderCountsPerRevolution: [Int]
    public var firmwareVersion: String
    public var robotID: String

    public init(
        jointCount: Int, jointNames: [String], encoderCountsPerRevolution: [Int],
        firmwareVersion: String, robotID: String
    ) {
        self.jointCount = jointCount
        self.jointNames = jointNames
        self.encoderCountsPerRevolution = encoderCountsPerRevolution
        self.firmwareVersion = firmwareVersion
        self.robotID = robotID
    }
}

/// What `configure` asks of the robot.
public struct RobotConfiguration: Sendable, Equatable {
    public var mode: ControlMode
    /// Firmware-side command watchdog: no valid command for this long -> motors off and
    /// a latched fault. Milliseconds.
    public var watchdogMillis: UInt16
    /// Per-joint absolute setpoint limit the firmware enforces (in the unit of `mode`).
    public var setpointLimit: [Float]

    public init(mode: ControlMode = .torque, watchdogMillis: UInt16 = 100, setpointLimit: [Float]) {
        self.mode = mode
        self.watchdogMillis = watchdogMillis
        self.setpointLimit = setpointLimit
    }
}

/// A robot as Control sees it.
///
/// Thread contract: `configure`, `activate`, `deactivate`, `clearFault` and `shutdown`
/// are set-up calls (may allocate, block and throw). `read` and `write` are called only
/// from the control thread and are real-time safe: they do not allocate, lock or throw,
/// and return within the tick budget.
public protocol RobotInterface: AnyObject {
    /// Current lifecycle state.
    var lifecycle: LifecycleState { get }
    /// Static facts, valid after `configure`.
    var info: RobotInfo { get }

    /// unconfigured/inactive -> inactive. Opens the link, checks the protocol version,
    /// sends the configuration.
    func configure(_ configuration: RobotConfiguration) throws
    /// inactive -> active: enables the motors.
    func activate() throws
    /// active -> inactive: torque off.
    func deactivate() throws
    /// fault -> inactive, after the cause was dealt with on purpose.
    func clearFault() throws
    /// Any state -> unconfigured: torque off, close the link.
    func shutdown()

    /// Reads the newest state into `state`.
    /// Real-time safe: does not allocate, lock or throw.
    func read(into state: inout RobotState) -> IOStatus
    /// Sends `command`; honoured only while `.active` (else returns `.notActive`).
    /// Real-time safe: does not allocate, lock or throw.
    func write(_ command: RobotCommand) -> IOStatus
    /// Requests an immediate motor stop on the robot (latches `.estop` there).
    /// Real-time safe: does not allocate, lock or throw.
    func emergencyStop() -> IOStatus
    /// Why clearing the latched fault cannot help (nil: it may), in one line: e.g. a link
    /// slower than the control rate allows. A restart policy ends the run on it. Set-up call.
    var unrecoverableFault: String? { get }
}

extension RobotInterface {
    /// A robot whose faults can always be cleared and retried.
    public var unrecoverableFault: String? { nil }
}

/// A digital safety input, e.g. an e-stop button on GPIO.
///
/// Thread contract: `isTriggered` is polled by the control thread each tick and is
/// real-time safe (no allocation, lock or throw). It reports true from the first
/// asserting edge on until `acknowledge()` (a set-up call) after the input was released.
public protocol EmergencyStopInput: AnyObject {
    /// True while the input is asserted or an asserting edge was seen since the last
    /// acknowledge. Real-time safe: does not allocate, lock or throw.
    func isTriggered() -> Bool
    /// Clears the latched edge if the input is no longer asserted; returns false if it is
    /// still asserted (so the e-stop stays latched).
    func acknowledge() -> Bool
}

/// Digital outputs the loop drives: the motor-driver enable line and a status LED.
///
/// Thread contract: called from the control thread; real-time safe.
public protocol StatusOutputs: AnyObject {
    /// Drives the motor-driver enable line. Real-time safe.
    func setMotorEnable(_ enabled: Bool)
    /// Drives the status LED. Real-time safe.
    func setStatusLED(_ on: Bool)
}
