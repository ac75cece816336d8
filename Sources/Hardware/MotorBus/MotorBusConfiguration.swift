/// How to reach and drive a motor controller speaking firmware-proto v1. One documented
/// struct; every field has a default that suits a 200 Hz loop.
public struct MotorBusConfiguration: Sendable, Equatable {
    /// Serial device or pseudo-terminal path.
    public var devicePath: String
    /// UART baud rate (ignored by USB CDC and pseudo-terminals). 1 000 000 carries 8 motors
    /// at 200 Hz; 115 200 only one (PROTOCOL.md section 8).
    public var baudRate: Int = 1_000_000
    /// Identifier recorded in datasets.
    public var robotID: String = "robot"
    /// Joint names; empty = "joint0", "joint1", ...
    public var jointNames: [String] = []
    /// Per-joint calibration; empty = identity (zero 0, direction +1, firmware counts/rev).
    public var calibration: [EncoderConversion] = []
    /// The control loop's period, nanoseconds (200 Hz). The link is pipelined: a reply may
    /// be used one period late, so the round trip may reach `roundTripAllowanceNanos` (two
    /// periods less a fifth of one: 9 ms at 200 Hz); a robot slower than that is refused at
    /// `configure`, or stops the link with `MotorBusRobot.unrecoverableFault` set.
    public var controlPeriodNanos: UInt64 = 5_000_000
    /// The longest `read` waits for the reply to the last request, nanoseconds (then the
    /// reply, when it comes, is used by the next tick).
    public var replyBudgetNanos: UInt64 = 3_000_000
    /// Within one `read`, the request is sent again if no valid reply came for this long
    /// (or at once after a corrupted frame), nanoseconds.
    public var retryIntervalNanos: UInt64 = 1_000_000
    /// Resends allowed per `read`.
    public var maxRetriesPerTick: Int = 2
    /// Consecutive failed ticks (timeout, corruption, disconnection) before the robot
    /// stops itself: ESTOP sent, lifecycle `.fault`, `RobotFaults.link`.
    public var maxConsecutiveFailures: Int = 10
    /// How long a set-up request (HELLO, CONFIGURE, ...) waits for its reply, nanoseconds.
    public var setupReplyTimeoutNanos: UInt64 = 200_000_000
    /// How many times a set-up request is sent before giving up.
    public var setupAttempts: Int = 3

    public init(devicePath: String) { self.devicePath = devicePath }
}
