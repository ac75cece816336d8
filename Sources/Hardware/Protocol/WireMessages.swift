/// Message types of firmware-proto v1 (PROTOCOL.md section 3).
public enum WireType {
    public static let hello: UInt8 = 0x01
    public static let configure: UInt8 = 0x02
    public static let command: UInt8 = 0x03
    public static let estop: UInt8 = 0x04
    public static let clearFault: UInt8 = 0x05
    public static let paramGet: UInt8 = 0x06
    public static let paramSet: UInt8 = 0x07
    public static let stateRequest: UInt8 = 0x08
    public static let capabilities: UInt8 = 0x81
    public static let state: UInt8 = 0x82
    public static let paramValue: UInt8 = 0x83
    public static let ack: UInt8 = 0x84
    public static let nack: UInt8 = 0x85
}

/// Wire fault flags (STATE `faults`).
public enum WireFault {
    public static let watchdog: UInt16 = 1 << 0
    public static let estop: UInt16 = 1 << 1
    public static let motorFault: UInt16 = 1 << 2
    public static let velocityLimit: UInt16 = 1 << 3
    public static let positionLimit: UInt16 = 1 << 4
}

/// Wire status bits (STATE `status`).
public enum WireStatus {
    public static let motorsOn: UInt8 = 1 << 0
    public static let clamped: UInt8 = 1 << 1
    public static let haveSetpoint: UInt8 = 1 << 2
}

/// NACK error codes.
public enum WireNackError: UInt8, Sendable {
    case badVersion = 1, unknownType, badLength, motorCount, badMode, outOfRange, unknownParam
    case readOnly, faultActive
}

/// Per-motor values on the wire, fixed size (at most 8 motors).
public typealias WireInts = InlineArray<8, Int32>

/// CONFIGURE body.
public struct WireConfigure: Sendable, Equatable {
    /// 0 idle, 1 torque, 2 velocity, 3 position.
    public var mode: UInt8
    public var watchdogMillis: UInt16
    public var torqueLimitMilliNm: Int32
    public var velocityLimitCountsPerSecond: Int32
    public init(
        mode: UInt8, watchdogMillis: UInt16, torqueLimitMilliNm: Int32, velocityLimitCountsPerSecond: Int32
    ) {
        self.mode = mode
        self.watchdogMillis = watchdogMillis
        self.torqueLimitMilliNm = torqueLimitMilliNm
        self.velocityLimitCountsPerSecond = velocityLimitCountsPerSecond
    }
}

/// CAPABILITIES body.
public struct WireCapabilities: Sendable {
    public var echoSequence: UInt16 = 0
    public var protocolVersion: UInt8 = 0
    public var firmwareMajor: UInt8 = 0
    public var firmwareMinor: UInt8 = 0
    public var firmwarePatch: UInt8 = 0
    public var motorCount: Int = 0
    public var modes: UInt8 = 0
    public var controlRateHz: UInt16 = 0
    public var maxPayload: UInt16 = 0
    public var countsPerRevolution = WireInts(repeating: 0)
    public var torqueMaxMilliNm = WireInts(repeating: 0)
    public init() {}
}

/// STATE body.
public struct WireState: Sendable {
    public var echoSequence: UInt16 = 0
    public var faults: UInt16 = 0
    public var timestampMicros: UInt32 = 0
    public var mode: UInt8 = 0
    public var status: UInt8 = 0
    public var count: Int = 0
    public var position = WireInts(repeating: 0)
    public var velocity = WireInts(repeating: 0)
    public var currentMilliamps = InlineArray<8, Int16>(repeating: 0)
    public init() {}
}

/// Why the message layer refused a CRC-valid frame (PROTOCOL.md section 4).
public enum WireInvalidReason: UInt8, Sendable, CustomStringConvertible {
    case badVersion, unknownType, badLength
    public var description: String {
        switch self {
        case .badVersion: "bad_version"
        case .unknownType: "unknown_type"
        case .badLength: "bad_length"
        }
    }
}

/// A parsed message of either direction. Value type of fixed size: parsing never allocates.
public enum WireMessage: Sendable {
    case hello, estop, clearFault, stateRequest
    case configure(WireConfigure)
    case command(count: Int, setpoints: WireInts)
    case paramGet(id: UInt16, index: UInt8)
    case paramSet(id: UInt16, index: UInt8, value: Int32)
    case capabilities(WireCapabilities)
    case state(WireState)
    case paramValue(echoSequence: UInt16, id: UInt16, index: UInt8, value: Int32)
    case ack(echoSequence: UInt16, type: UInt8)
    case nack(echoSequence: UInt16, type: UInt8, error: UInt8)
    case invalid(WireInvalidReason)

    /// Parses a frame the link layer accepted. Real-time safe: does not allocate, lock or
    /// throw.
    public static func parse(_ frame: ReceivedFrame) -> WireMessage {
        guard frame.version == WireLimits.version else { return .invalid(.badVersion) }
        let b = frame.body
        let n = b.count
        func u8(_ o: Int) -> UInt8 { b[o] }
        func u16(_ o: Int) -> UInt16 {
            UInt16(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt16.self))
        }
        func u32(_ o: Int) -> UInt32 {
            UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self))
        }
        func i32(_ o: Int) -> Int32 {
            Int32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: Int32.self))
        }
        func i16(_ o: Int) -> Int16 {
            Int16(littleEndian: b.loadUnaligned(fromByteOffset: o, as: Int16.self))
        }
        switch frame.type {
        case WireType.hello, WireType.estop, WireType.clearFault, WireType.stateRequest:
            guard n == 0 else { return .invalid(.badLength) }
            switch frame.type {
            case WireType.hello: return .hello
            case WireType.estop: return .estop
            case WireType.clearFault: return .clearFault
            default: return .stateRequest
            }
        case WireType.configure:
            guard n == 12 else { return .invalid(.badLength) }
            return .configure(
                WireConfigure(
                    mode: u8(0), watchdogMillis: u16(2), torqueLimitMilliNm: i32(4),
                    velocityLimitCountsPerSecond: i32(8)))
        case WireType.command:
            guard n >= 1 else { return .invalid(.badLength) }
            let count = Int(u8(0))
            guard (1...8).contains(count), n == 1 + 4 * count else { return .invalid(.badLength) }
            var s = WireInts(repeating: 0)
            for i in 0..<count { s[i] = i32(1 + 4 * i) }
            return .command(count: count, setpoints: s)
        case WireType.paramGet:
            guard n == 3 else { return .invalid(.badLength) }
            return .paramGet(id: u16(0), index: u8(2))
        case WireType.paramSet:
            guard n == 7 else { return .invalid(.badLength) }
            return .paramSet(id: u16(0), index: u8(2), value: i32(3))
        case WireType.capabilities:
            guard n >= 12 else { return .invalid(.badLength) }
            let count = Int(u8(6))
            guard (1...8).contains(count), n == 12 + 8 * count else { return .invalid(.badLength) }
            var c = WireCapabilities()
            c.echoSequence = u16(0)
            c.protocolVersion = u8(2)
            c.firmwareMajor = u8(3)
            c.firmwareMinor = u8(4)
            c.firmwarePatch = u8(5)
            c.motorCount = count
            c.modes = u8(7)
            c.controlRateHz = u16(8)
            c.maxPayload = u16(10)
            for i in 0..<count {
                c.countsPerRevolution[i] = Int32(bitPattern: u32(12 + 8 * i))
                c.torqueMaxMilliNm[i] = i32(16 + 8 * i)
            }
            return .capabilities(c)
        case WireType.state:
            guard n >= 11 else { return .invalid(.badLength) }
            let count = Int(u8(10))
            guard (1...8).contains(count), n == 11 + 10 * count else { return .invalid(.badLength) }
            var s = WireState()
            s.echoSequence = u16(0)
            s.faults = u16(2)
            s.timestampMicros = u32(4)
            s.mode = u8(8)
            s.status = u8(9)
            s.count = count
            for i in 0..<count {
                s.position[i] = i32(11 + 10 * i)
                s.velocity[i] = i32(15 + 10 * i)
                s.currentMilliamps[i] = i16(19 + 10 * i)
            }
            return .state(s)
        case WireType.paramValue:
            guard n == 9 else { return .invalid(.badLength) }
            return .paramValue(echoSequence: u16(0), id: u16(2), index: u8(4), value: i32(5))
        case WireType.ack:
            guard n == 3 else { return .invalid(.badLength) }
            return .ack(echoSequence: u16(0), type: u8(2))
        case WireType.nack:
            guard n == 4 else { return .invalid(.badLength) }
            return .nack(echoSequence: u16(0), type: u8(2), error: u8(3))
        default:
            return .invalid(.unknownType)
        }
    }
}

/// Writes message bodies (host -> MCU, and MCU -> host for emulators and tests) into a
/// caller's buffer. Real-time safe: does not allocate, lock or throw.
public enum WireBody {
    /// The body of `message` written at `out` (capacity `WireLimits.maxPayload`); returns
    /// its type and length. `.invalid` writes nothing and returns type 0.
    public static func write(
        _ message: WireMessage, into out: UnsafeMutableRawPointer
    ) -> (type: UInt8, count: Int) {
        func u8(_ o: Int, _ v: UInt8) { out.storeBytes(of: v, toByteOffset: o, as: UInt8.self) }
        func u16(_ o: Int, _ v: UInt16) {
            out.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt16.self)
        }
        func u32(_ o: Int, _ v: UInt32) {
            out.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt32.self)
        }
        func i32(_ o: Int, _ v: Int32) { out.storeBytes(of: v.littleEndian, toByteOffset: o, as: Int32.self) }
        func i16(_ o: Int, _ v: Int16) { out.storeBytes(of: v.littleEndian, toByteOffset: o, as: Int16.self) }
        switch message {
        case .hello: return (WireType.hello, 0)
        case .estop: return (WireType.estop, 0)
        case .clearFault: return (WireType.clearFault, 0)
        case .stateRequest: return (WireType.stateRequest, 0)
        case .configure(let c):
            u8(0, c.mode)
            u8(1, 0)
            u16(2, c.watchdogMillis)
            i32(4, c.torqueLimitMilliNm)
            i32(8, c.velocityLimitCountsPerSecond)
            return (WireType.configure, 12)
        case .command(let count, let s):
            u8(0, UInt8(count))
            for i in 0..<count { i32(1 + 4 * i, s[i]) }
            return (WireType.command, 1 + 4 * count)
        case .paramGet(let id, let index):
            u16(0, id)
            u8(2, index)
            return (WireType.paramGet, 3)
        case .paramSet(let id, let index, let value):
            u16(0, id)
            u8(2, index)
            i32(3, value)
            return (WireType.paramSet, 7)
        case .capabilities(let c):
            u16(0, c.echoSequence)
            u8(2, c.protocolVersion)
            u8(3, c.firmwareMajor)
            u8(4, c.firmwareMinor)
            u8(5, c.firmwarePatch)
            u8(6, UInt8(c.motorCount))
            u8(7, c.modes)
            u16(8, c.controlRateHz)
            u16(10, c.maxPayload)
            for i in 0..<c.motorCount {
                u32(12 + 8 * i, UInt32(bitPattern: c.countsPerRevolution[i]))
                i32(16 + 8 * i, c.torqueMaxMilliNm[i])
            }
            return (WireType.capabilities, 12 + 8 * c.motorCount)
        case .state(let s):
            u16(0, s.echoSequence)
            u16(2, s.faults)
            u32(4, s.timestampMicros)
            u8(8, s.mode)
            u8(9, s.status)
            u8(10, UInt8(s.count))
            for i in 0..<s.count {
                i32(11 + 10 * i, s.position[i])
                i32(15 + 10 * i, s.velocity[i])
                i16(19 + 10 * i, s.currentMilliamps[i])
            }
            return (WireType.state, 11 + 10 * s.count)
        case .paramValue(let e, let id, let index, let value):
            u16(0, e)
            u16(2, id)
            u8(4, index)
            i32(5, value)
            return (WireType.paramValue, 9)
        case .ack(let e, let t):
            u16(0, e)
            u8(2, t)
            return (WireType.ack, 3)
        case .nack(let e, let t, let err):
            u16(0, e)
            u8(2, t)
            u8(3, err)
            return (WireType.nack, 4)
        case .invalid:
            return (0, 0)
        }
    }
}
