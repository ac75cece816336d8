/// Feetech STS/SCS packets (Feetech "Serial Bus Smart Control Servo Communication Protocol
/// Manual" V1.01; the format of DYNAMIXEL Protocol 1.0):
///
///     instruction: FF FF | ID | LEN | INST | PARAM... | CHK
///     status:      FF FF | ID | LEN | ERR  | PARAM... | CHK
///
/// LEN = number of parameters + 2; CHK = ~(ID + LEN + INST/ERR + PARAM...) & 0xFF. No byte
/// stuffing: a receiver resynchronises on the checksum.
public enum Feetech {
    public static let broadcastID: UInt8 = 0xFE
    /// Bytes of a packet around its parameters (header, id, length, code, checksum).
    public static let overheadBytes = 6

    /// Instruction codes.
    public enum Instruction: UInt8, Sendable {
        case ping = 0x01
        case read = 0x02
        case write = 0x03
        case regWrite = 0x04
        case action = 0x05
        case reset = 0x06
        case syncRead = 0x82
        case syncWrite = 0x83
    }

    /// The inverted-sum checksum over `count` bytes (id through the last parameter).
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public static func checksum(_ bytes: UnsafePointer<UInt8>, count: Int) -> UInt8 {
        var s: UInt8 = 0
        for i in 0..<count { s &+= bytes[i] }
        return ~s
    }

    /// The checksum of a byte array (set-up and tests).
    public static func checksum(_ bytes: [UInt8]) -> UInt8 {
        bytes.withUnsafeBufferPointer { b in b.baseAddress.map { checksum($0, count: b.count) } ?? 0xFF }
    }

    /// Encodes a packet (instruction, or status with `code` = ERR) into `out`; returns its
    /// length, or 0 if it does not fit (or has more than 253 parameters).
    /// Real-time safe: does not allocate, lock or throw.
    public static func encode(
        id: UInt8, code: UInt8, parameters: UnsafeRawBufferPointer,
        into out: UnsafeMutablePointer<UInt8>, capacity: Int
    ) -> Int {
        let n = parameters.count
        guard n <= 253, n + overheadBytes <= capacity else { return 0 }
        out[0] = 0xFF
        out[1] = 0xFF
        out[2] = id
        out[3] = UInt8(n + 2)
        out[4] = code
        for i in 0..<n { out[5 + i] = parameters[i] }
        out[5 + n] = checksum(out + 2, count: n + 3)
        return n + overheadBytes
    }

    /// An instruction packet as bytes (set-up code and tests).
    public static func instruction(id: UInt8, _ instruction: Instruction, _ parameters: [UInt8] = []) -> [UInt8] {
        packet(id: id, code: instruction.rawValue, parameters)
    }

    /// A status packet as bytes (tests; the emulator writes its own in C).
    public static func status(id: UInt8, error: UInt8 = 0, _ parameters: [UInt8] = []) -> [UInt8] {
        packet(id: id, code: error, parameters)
    }

    private static func packet(id: UInt8, code: UInt8, _ parameters: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: parameters.count + overheadBytes)
        let n = bytes.withUnsafeMutableBufferPointer { out in
            parameters.withUnsafeBytes { encode(id: id, code: code, parameters: $0, into: out.baseAddress!, capacity: out.count) }
        }
        precondition(n > 0, "a Feetech packet holds at most 253 parameters")
        return bytes
    }

    /// Sync Read: address, length, ids (one status packet per servo comes back).
    public static func syncReadParameters(address: UInt8, length: UInt8, ids: [UInt8]) -> [UInt8] {
        [address, length] + ids
    }

    /// Sync Write: address, length, then id and `length` data bytes per servo (no reply).
    public static func syncWriteParameters(address: UInt8, length: UInt8, items: [(UInt8, [UInt8])]) -> [UInt8] {
        var p = [address, length]
        for (id, data) in items {
            precondition(data.count == Int(length), "sync write data must be \(length) bytes per servo")
            p.append(id)
            p += data
        }
        return p
    }

    /// A value as sign-magnitude with the sign in `bit` (STS goal speed, present speed/load/current).
    @inline(__always)
    public static func signMagnitude(_ v: Int32, signBit bit: Int) -> UInt16 {
        let limit = Int32(1) << bit - 1
        let m = UInt16(min(limit, abs(max(-limit, v))))
        return v < 0 ? m | UInt16(1) << UInt16(bit) : m
    }

    /// The value of a sign-magnitude register with the sign in `bit`.
    @inline(__always)
    public static func fromSignMagnitude(_ raw: UInt16, signBit bit: Int) -> Int32 {
        let m = Int32(raw & (UInt16(1) << UInt16(bit) - 1))
        return raw & (UInt16(1) << UInt16(bit)) != 0 ? -m : m
    }
}

/// STS/SCS framing for `ServoPacketReceiver`.
enum FeetechFraming: ServoFraming {
    static let prefixLength = 4
    static let minimumPacketLength = 6

    static func packetLength(_ p: UnsafePointer<UInt8>) -> Int? {
        guard p[0] == 0xFF, p[1] == 0xFF, p[2] != 0xFF, p[3] >= 2 else { return nil }
        return 4 + Int(p[3])
    }

    static func checkPasses(_ p: UnsafePointer<UInt8>, count: Int) -> Bool {
        Feetech.checksum(p + 2, count: count - 3) == p[count - 1]
    }

    static func extract(
        _ p: UnsafePointer<UInt8>, count: Int, into payload: UnsafeMutablePointer<UInt8>
    ) -> (id: UInt8, code: UInt8, parameterCount: Int)? {
        let n = count - Feetech.overheadBytes
        for i in 0..<n { payload[i] = p[5 + i] }
        return (p[2], p[4], n)
    }
}

/// An incremental STS/SCS receiver (see `ServoPacketReceiver`).
typealias FeetechReceiver = ServoPacketReceiver<FeetechFraming>
