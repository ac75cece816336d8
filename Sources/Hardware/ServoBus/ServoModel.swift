import Control

/// Which servo protocol a bus speaks.
public enum ServoBusKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// ROBOTIS DYNAMIXEL Protocol 2.0 (X series: XL430, XM430, XL330, ...).
    case dynamixel
    /// Feetech STS/SCS (STS3215 as on LeRobot's SO-100/SO-101 arms).
    case feetech

    public var description: String {
        switch self {
        case .dynamixel: "Dynamixel Protocol 2.0"
        case .feetech: "Feetech STS/SCS"
        }
    }

    /// Baud rates by the servo's baud-rate register value (Dynamixel X series address 8;
    /// Feetech address 6).
    public var baudRates: [(value: UInt8, baud: Int)] {
        switch self {
        case .dynamixel:
            [(0, 9600), (1, 57_600), (2, 115_200), (3, 1_000_000), (4, 2_000_000), (5, 3_000_000), (6, 4_000_000)]
        case .feetech:
            [(0, 1_000_000), (1, 500_000), (4, 115_200), (6, 57_600), (7, 38_400)]
        }
    }

    /// The register value for `baud`, or nil if the servos of this bus cannot run at it.
    public func baudRegisterValue(for baud: Int) -> UInt8? { baudRates.first { $0.baud == baud }?.value }

    /// The register value for `baud`; throws one line naming `device` (and `field`) and the
    /// rates the servos support.
    public func checkedBaudRegisterValue(for baud: Int, device: String, field: String? = nil) throws -> UInt8 {
        if let v = baudRegisterValue(for: baud) { return v }
        let known = baudRates.map { String($0.baud) }.joined(separator: ", ")
        throw HardwareError(
            .invalidArgument, device: device,
            problem: (field.map { "\($0): " } ?? "") + "\(self) servos cannot run at \(baud) baud", fix: "use one of \(known)")
    }

    /// The factory baud rate (Dynamixel X: 57 600; Feetech STS: 1 000 000).
    public var factoryBaudRate: Int { self == .dynamixel ? 57_600 : 1_000_000 }
}

/// A register: address and width in bytes.
public struct ServoRegister: Sendable, Equatable {
    public var address: UInt16
    public var length: Int
    public init(_ address: UInt16, _ length: Int) {
        self.address = address
        self.length = length
    }
}

/// One servo model's control table: the registers the controller uses and their units.
/// Models of one bus that share the present-state block layout can be mixed on one bus (one
/// sync read serves them all).
public struct ServoModel: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var bus: ServoBusKind
    /// The value of the model-number register (Dynamixel address 0, Feetech address 3).
    public var modelNumber: UInt16
    /// Position counts per output revolution.
    public var countsPerRevolution: Int32
    /// The position register wraps at `countsPerRevolution` (Feetech): the host unwraps it.
    public var positionWraps: Bool
    /// rad/s per velocity unit.
    public var radiansPerSecondPerVelocityUnit: Double
    /// Amperes per current unit; 0 = the model reports no current.
    public var ampsPerCurrentUnit: Double
    /// Sign encoding of present velocity and current and of goal velocity: 0 = two's
    /// complement, else the bit that holds the sign of a sign-magnitude value (Feetech: 15).
    public var signBit: Int
    /// Operating-mode register values per Control mode (nil: the model cannot do it).
    public var currentModeValue: UInt8?
    public var velocityModeValue: UInt8?
    public var positionModeValue: UInt8?

    public var id: ServoRegister
    public var baudRate: ServoRegister
    public var returnDelay: ServoRegister
    public var operatingMode: ServoRegister
    public var torqueEnable: ServoRegister
    public var goalCurrent: ServoRegister?
    public var goalVelocity: ServoRegister
    public var goalPosition: ServoRegister
    /// The block read every tick (present current/load, velocity, position) and the offsets
    /// of the three values inside it (nil offset: not in this model).
    public var stateBlock: ServoRegister
    public var positionInBlock: ServoRegister
    public var velocityInBlock: ServoRegister
    public var currentInBlock: ServoRegister?
    /// Dynamixel: Bus Watchdog (address 98, 20 ms units) and Hardware Error Status (70).
    public var busWatchdog: ServoRegister?
    public var hardwareError: ServoRegister?
    /// Feetech: EEPROM lock (address 55; 0 = writes persist, 1 = locked).
    public var eepromLock: ServoRegister?
    /// The first RAM address: writes below it go to EEPROM (Dynamixel: only with torque off;
    /// Feetech: persist only while unlocked).
    public var firstRAMAddress: UInt16
    /// Stall torque (N·m) and stall current (A) at the rated supply, from the data sheet:
    /// their ratio is the nominal torque constant for torque mode (`nominalTorqueConstantNmPerAmp`).
    public var stallTorqueNm: Double = 0
    public var stallCurrentAmps: Double = 0

    /// N·m per ampere at the output (gears included), stall torque over stall current; 0 if unknown.
    public var nominalTorqueConstantNmPerAmp: Double { stallCurrentAmps > 0 ? stallTorqueNm / stallCurrentAmps : 0 }

    public var description: String { name }

    /// The operating-mode value for `mode`, or nil.
    public func modeValue(_ mode: ControlMode) -> UInt8? {
        switch mode {
        case .torque: currentModeValue
        case .velocity: velocityModeValue
        case .position: positionModeValue
        }
    }

    /// True if two models can share one sync read and sync write.
    public func sharesLayout(with other: ServoModel) -> Bool {
        bus == other.bus && stateBlock == other.stateBlock && positionInBlock == other.positionInBlock
            && velocityInBlock == other.velocityInBlock && currentInBlock == other.currentInBlock
            && goalCurrent == other.goalCurrent && goalVelocity == other.goalVelocity
            && goalPosition == other.goalPosition
    }

    /// Every model robotctl knows, by lower-case name.
    public static let known: [ServoModel] = DynamixelControlTable.models + FeetechMemoryTable.models

    /// The model called `name` (case-insensitive, "-" optional), or nil.
    public static func named(_ name: String) -> ServoModel? {
        let key = name.lowercased().replacingOccurrences(of: "-", with: "")
        return known.first { $0.name.lowercased().replacingOccurrences(of: "-", with: "") == key }
    }

    /// The model of `bus` whose model-number register reads `number`, or nil.
    public static func withNumber(_ number: UInt16, bus: ServoBusKind) -> ServoModel? {
        known.first { $0.bus == bus && $0.modelNumber == number }
    }
}
