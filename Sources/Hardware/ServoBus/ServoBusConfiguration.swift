import Control

/// One joint on a servo bus: the servo's id and model, and how its units map to the joint's.
///
/// `position_rad = direction · (counts − zeroOffsetCounts) · 2π / countsPerRevolution`;
/// velocity scales the same way; effort = direction · current · torqueConstantNmPerAmp.
public struct ServoJoint: Sendable, Equatable {
    public var name: String
    /// Bus id (Dynamixel 0...252, Feetech 0...253).
    public var id: UInt8
    public var model: ServoModel
    /// +1 when the servo's counts grow with the joint's positive direction, −1 otherwise.
    public var direction: Int8
    /// Servo position counts at which the joint is at 0 rad.
    public var zeroOffsetCounts: Int32
    /// N·m per ampere (gear ratio included), to command torque and report effort in N·m;
    /// 0 = effort is reported in A and torque mode is refused.
    public var torqueConstantNmPerAmp: Float

    public init(
        name: String, id: UInt8, model: ServoModel, direction: Int8 = 1, zeroOffsetCounts: Int32 = 0,
        torqueConstantNmPerAmp: Float = 0
    ) {
        precondition(direction == 1 || direction == -1, "direction must be +1 or -1")
        self.name = name
        self.id = id
        self.model = model
        self.direction = direction
        self.zeroOffsetCounts = zeroOffsetCounts
        self.torqueConstantNmPerAmp = torqueConstantNmPerAmp
    }
}

/// How to reach and drive a bus of Dynamixel or Feetech servos. Every timing field has a
/// default that suits a 200 Hz loop at 1 Mbaud.
public struct ServoBusConfiguration: Sendable, Equatable {
    public var bus: ServoBusKind
    /// Serial device (U2D2, Feetech URT-1/FE-URT, any half-duplex TTL/RS-485 adapter) or
    /// the emulator's pseudo-terminal.
    public var devicePath: String
    /// The servos' baud rate. The emulator paces bytes at this rate, so bus timing over a
    /// pseudo-terminal matches a real wire.
    public var baudRate: Int = 1_000_000
    /// Identifier recorded in datasets.
    public var robotID: String = "servo-robot"
    /// The joints, in the order Control sees them (at most `maxJoints`).
    public var joints: [ServoJoint]
    /// Dynamixel only: read the joints with one Fast Sync Read (a single status packet for
    /// all servos) instead of Sync Read (one status packet each).
    public var useFastSyncRead = false
    /// The longest `read` waits for all status packets of this tick, nanoseconds.
    public var replyBudgetNanos: UInt64 = 3_000_000
    /// Within one `read`, the sync read is sent again for the servos that have not answered
    /// after this long, nanoseconds.
    public var retryIntervalNanos: UInt64 = 1_200_000
    /// Resends allowed per `read`.
    public var maxRetriesPerTick = 1
    /// Consecutive failed ticks before the robot latches `RobotFaults.link` and stops the
    /// servos (torque-off broadcast; on Dynamixel the Bus Watchdog also stops them).
    public var maxConsecutiveFailures = 5
    /// How long a set-up request (ping, read, write) waits for its status packet.
    public var setupReplyTimeoutNanos: UInt64 = 30_000_000
    /// How many times a set-up request is sent before giving up.
    public var setupAttempts = 3

    public init(bus: ServoBusKind, devicePath: String, joints: [ServoJoint]) {
        self.bus = bus
        self.devicePath = devicePath
        self.joints = joints
    }

    /// `count` joints with ids 1...count of one model (the emulator's default robot).
    public static func uniform(
        bus: ServoBusKind, devicePath: String, count: Int, model: ServoModel, torqueConstantNmPerAmp: Float = 0
    ) -> ServoBusConfiguration {
        ServoBusConfiguration(
            bus: bus, devicePath: devicePath,
            joints: (0..<count).map {
                ServoJoint(
                    name: "joint\($0)", id: UInt8($0 + 1), model: model,
                    zeroOffsetCounts: model.positionWraps ? model.countsPerRevolution / 2 : 0,
                    torqueConstantNmPerAmp: torqueConstantNmPerAmp)
            })
    }

    /// Bytes on the wire per tick: the sync read request, the status packets answering it,
    /// the sync write of the goals (without byte stuffing, which real values rarely need).
    public func bytesPerTick(mode: ControlMode) -> (request: Int, replies: Int, write: Int) {
        guard let model = joints.first?.model else { return (0, 0, 0) }
        let n = joints.count
        let w = bus == .dynamixel ? 2 : 1
        // Dynamixel: header, id, length, CRC around INST (and 0x55 ERR); Feetech: around INST/ERR.
        let instr = bus == .dynamixel ? Dynamixel.overheadBytes + 1 : Feetech.overheadBytes
        let status = bus == .dynamixel ? Dynamixel.overheadBytes + 2 : Feetech.overheadBytes
        let block = model.stateBlock.length
        let replies = useFastSyncRead && bus == .dynamixel ? status + n * (block + 4) - 2 : n * (status + block)
        let goal =
            switch mode {
            case .torque: model.goalCurrent?.length ?? 2
            case .velocity: model.goalVelocity.length
            case .position: model.goalPosition.length
            }
        return (instr + 2 * w + n, replies, instr + 2 * w + n * (1 + goal))
    }

    /// Wire time of `bytes` at `baudRate` (10 bits a byte: start, 8 data, stop), nanoseconds.
    public func wireNanos(bytes: Int) -> UInt64 {
        UInt64(bytes) * 10 * 1_000_000_000 / UInt64(max(1, baudRate))
    }

    /// The sync read exchange (request and replies) at `baudRate`, with the servos' return
    /// delay at 0 as robotctl sets it, nanoseconds.
    public func theoreticalReadNanos(mode: ControlMode) -> UInt64 {
        let b = bytesPerTick(mode: mode)
        return wireNanos(bytes: b.request + b.replies)
    }

    /// The whole tick on the wire: sync read, replies, sync write, nanoseconds.
    public func theoreticalBusNanosPerTick(mode: ControlMode) -> UInt64 {
        let b = bytesPerTick(mode: mode)
        return wireNanos(bytes: b.request + b.replies + b.write)
    }
}
