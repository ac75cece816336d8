/// DYNAMIXEL Protocol 2.0 packets (ROBOTIS e-manual, "DYNAMIXEL Protocol 2.0",
/// https://emanual.robotis.com/docs/en/dxl/protocol2/):
///
///     instruction: FF FF FD 00 | ID | LEN_L LEN_H | INST | PARAM... | CRC_L CRC_H
///     status:      FF FF FD 00 | ID | LEN_L LEN_H | 55   | ERR | PARAM... | CRC_L CRC_H
///
/// LEN counts the bytes after itself (instruction, parameters after stuffing, CRC). The CRC is
/// CRC-16 with polynomial 0x8005, initial value 0, no reflection, over every byte from the
/// header to the last parameter. Byte stuffing: inside INST..PARAM, every FF FF FD is followed
/// by an extra FD, so the header can never appear inside a packet.
public enum Dynamixel {
    /// The packet header.
    public static let header: (UInt8, UInt8, UInt8, UInt8) = (0xFF, 0xFF, 0xFD, 0x00)
    /// The id every servo obeys (and does not answer, except for Ping and the sync reads).
    public static let broadcastID: UInt8 = 0xFE
    /// Bytes of a packet around its instruction and parameters (header, id, length, CRC).
    public static let overheadBytes = 9

    /// Instruction codes (e-manual, "Instruction").
    public enum Instruction: UInt8, Sendable {
        case ping = 0x01
        case read = 0x02
        case write = 0x03
        case regWrite = 0x04
        case action = 0x05
        case factoryReset = 0x06
        case reboot = 0x08
        case clear = 0x10
        case status = 0x55
        case syncRead = 0x82
        case syncWrite = 0x83
        case fastSyncRead = 0x8A
        case bulkRead = 0x92
        case bulkWrite = 0x93
    }

    /// The error number in the low 7 bits of a status packet's ERR byte (e-manual, "Error").
    public enum ErrorNumber: UInt8, Sendable, CustomStringConvertible {
        case none = 0
        case resultFail = 1
        case instructionError = 2
        case crcError = 3
        case dataRangeError = 4
        case dataLengthError = 5
        case dataLimitError = 6
        case accessError = 7

        public var description: String {
            switch self {
            case .none: "no error"
            case .resultFail: "result fail"
            case .instructionError: "instruction error"
            case .crcError: "CRC error"
            case .dataRangeError: "data range error"
            case .dataLengthError: "data length error"
            case .dataLimitError: "data limit error"
            case .accessError: "access error"
            }
        }
    }

    /// Bit 7 of ERR: the servo has a hardware error; read Hardware Error Status (address 70).
    public static let alertBit: UInt8 = 0x80

    // MARK: CRC-16 (poly 0x8005)

    /// The 256-entry CRC table, built once (the first use allocates; `ServoBusRobot` touches
    /// it at set-up so the control thread never does).
    nonisolated(unsafe) static let crcTable: UnsafePointer<UInt16> = {
        let t = UnsafeMutablePointer<UInt16>.allocate(capacity: 256)
        for i in 0..<256 {
            var c = UInt16(i) << 8
            for _ in 0..<8 { c = c & 0x8000 != 0 ? (c << 1) ^ 0x8005 : c << 1 }
            t[i] = c
        }
        return UnsafePointer(t)
    }()

    /// Continues a CRC over `count` bytes. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public static func crc(_ crc: UInt16 = 0, _ bytes: UnsafePointer<UInt8>, count: Int) -> UInt16 {
        let t = crcTable
        var c = crc
        for i in 0..<count { c = (c << 8) ^ t[Int(((c >> 8) ^ UInt16(bytes[i])) & 0xFF)] }
        return c
    }

    /// The CRC of a byte array (set-up and tests).
    public static func crc(_ bytes: [UInt8]) -> UInt16 {
        bytes.withUnsafeBufferPointer { b in b.baseAddress.map { crc(0, $0, count: b.count) } ?? 0 }
    }

    // MARK: Encoding

    /// Writes one packet into a caller's buffer with byte stuffing: header, id, length
    /// placeholder, then `put` for the body, then `finish` patches the length and appends the
    /// CRC. Real-time safe: does not allocate, lock or throw.
    struct PacketWriter {
        let out: UnsafeMutablePointer<UInt8>
        let capacity: Int
        private(set) var count = 0
        private(set) var overflowed = false
        private var ffRun = 0
        private var lastWasFFFFFD = false

        init(_ out: UnsafeMutablePointer<UInt8>, capacity: Int, id: UInt8) {
            self.out = out
            self.capacity = capacity
            raw(0xFF)
            raw(0xFF)
            raw(0xFD)
            raw(0x00)
            raw(id)
            raw(0)
            raw(0)
        }

        private mutating func raw(_ b: UInt8) {
            guard count < capacity else {
                overflowed = true
                return
            }
            out[count] = b
            count += 1
        }

        /// Appends one body byte (instruction, error or parameter), stuffing as needed.
        mutating func put(_ b: UInt8) {
            raw(b)
            if b == 0xFD && ffRun >= 2 {
                raw(0xFD)
                ffRun = 0
            } else {
                ffRun = b == 0xFF ? ffRun + 1 : 0
            }
        }

        mutating func put(_ bytes: UnsafeRawBufferPointer) {
            for b in bytes { put(b) }
        }

        mutating func put16(_ v: UInt16) {
            put(UInt8(truncatingIfNeeded: v))
            put(UInt8(truncatingIfNeeded: v >> 8))
        }

        mutating func put32(_ v: UInt32) {
            put16(UInt16(truncatingIfNeeded: v))
            put16(UInt16(truncatingIfNeeded: v >> 16))
        }

        /// Patches LEN and appends the CRC. Returns the packet's length, or 0 if it did not fit.
        mutating func finish() -> Int {
            let len = count - 7 + 2
            guard !overflowed, count + 2 <= capacity, len <= 0xFFFF else { return 0 }
            out[5] = UInt8(truncatingIfNeeded: len)
            out[6] = UInt8(truncatingIfNeeded: len >> 8)
            let c = Dynamixel.crc(0, out, count: count)
            raw(UInt8(truncatingIfNeeded: c))
            raw(UInt8(truncatingIfNeeded: c >> 8))
            return count
        }
    }

    /// Encodes an instruction packet into `out`; returns its length, or 0 if it did not fit.
    /// Real-time safe: does not allocate, lock or throw.
    public static func encodeInstruction(
        id: UInt8, _ instruction: UInt8, parameters: UnsafeRawBufferPointer,
        into out: UnsafeMutablePointer<UInt8>, capacity: Int
    ) -> Int {
        var w = PacketWriter(out, capacity: capacity, id: id)
        w.put(instruction)
        w.put(parameters)
        return w.finish()
    }

    /// An instruction packet as bytes (set-up code and tests).
    public static func instruction(id: UInt8, _ instruction: Instruction, _ parameters: [UInt8] = []) -> [UInt8] {
        encoded(capacity: Dynamixel.overheadBytes + 1 + parameters.count * 2) { out, cap in
            parameters.withUnsafeBytes {
                encodeInstruction(id: id, instruction.rawValue, parameters: $0, into: out, capacity: cap)
            }
        }
    }

    /// A status packet as bytes (tests; the emulator writes its own in C).
    public static func status(id: UInt8, error: UInt8 = 0, _ parameters: [UInt8] = []) -> [UInt8] {
        encoded(capacity: Dynamixel.overheadBytes + 2 + parameters.count * 2) { out, cap in
            var w = PacketWriter(out, capacity: cap, id: id)
            w.put(Instruction.status.rawValue)
            w.put(error)
            parameters.withUnsafeBytes { w.put($0) }
            return w.finish()
        }
    }

    private static func encoded(capacity: Int, _ body: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: capacity)
        let n = bytes.withUnsafeMutableBufferPointer { body($0.baseAddress!, capacity) }
        precondition(n > 0, "packet buffer too small")
        return Array(bytes[..<n])
    }

    // MARK: Instruction parameters (little-endian)

    /// Read: address, length.
    public static func readParameters(address: UInt16, length: UInt16) -> [UInt8] {
        le16(address) + le16(length)
    }

    /// Write: address, data.
    public static func writeParameters(address: UInt16, data: [UInt8]) -> [UInt8] { le16(address) + data }

    /// Sync Read / Fast Sync Read: address, length, ids.
    public static func syncReadParameters(address: UInt16, length: UInt16, ids: [UInt8]) -> [UInt8] {
        le16(address) + le16(length) + ids
    }

    /// Sync Write: address, length, then id and `length` data bytes per servo.
    public static func syncWriteParameters(address: UInt16, length: UInt16, items: [(UInt8, [UInt8])]) -> [UInt8] {
        var p = le16(address) + le16(length)
        for (id, data) in items {
            precondition(data.count == Int(length), "sync write data must be \(length) bytes per servo")
            p.append(id)
            p += data
        }
        return p
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }

    // MARK: Fast Sync Read

    /// Splits the parameters of a Fast Sync Read status packet (id 0xFE) into one entry per
    /// servo. The packet body is `ERR1 ID1 DATA1 CRC1 ERR2 ID2 DATA2 CRC2 ... ERRn IDn DATAn`
    /// followed by the packet CRC; the receiver hands over everything after the 0x55 marker,
    /// i.e. starting at ERR1. Calls `body(index, error, id, data)` per servo; returns false if
    /// the length does not match `count` servos of `dataLength` bytes.
    /// Real-time safe: does not allocate, lock or throw.
    static func forEachFastSyncReadEntry(
        _ parameters: UnsafeRawBufferPointer, count: Int, dataLength: Int,
        _ body: (Int, UInt8, UInt8, UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        let stride = dataLength + 4  // ERR, ID, DATA, CRC (the last CRC is the packet's)
        guard count > 0, parameters.count == count * stride - 2 else { return false }
        for k in 0..<count {
            let o = k * stride
            body(k, parameters[o], parameters[o + 1], UnsafeRawBufferPointer(rebasing: parameters[(o + 2)..<(o + 2 + dataLength)]))
        }
        return true
    }
}

/// Protocol 2.0 framing for `ServoPacketReceiver`.
enum DynamixelFraming: ServoFraming {
    static let prefixLength = 7
    /// Header, id, length, instruction, CRC.
    static let minimumPacketLength = 10

    static func packetLength(_ p: UnsafePointer<UInt8>) -> Int? {
        guard p[0] == 0xFF, p[1] == 0xFF, p[2] == 0xFD, p[3] == 0x00 else { return nil }
        let id = p[4]
        guard id != 0xFD && id != 0xFF else { return nil }
        let len = Int(p[5]) | Int(p[6]) << 8
        guard len >= 3 else { return nil }
        return 7 + len
    }

    static func checkPasses(_ p: UnsafePointer<UInt8>, count: Int) -> Bool {
        let c = Dynamixel.crc(0, p, count: count - 2)
        return UInt8(truncatingIfNeeded: c) == p[count - 2] && UInt8(truncatingIfNeeded: c >> 8) == p[count - 1]
    }

    static func extract(
        _ p: UnsafePointer<UInt8>, count: Int, into payload: UnsafeMutablePointer<UInt8>
    ) -> (id: UInt8, code: UInt8, parameterCount: Int)? {
        // Unstuff INST..PARAM: FF FF FD FD -> FF FF FD; FF FF FD followed by anything else
        // cannot come from a conforming sender.
        var n = 0  // body bytes after unstuffing; the first is the instruction
        var code: UInt8 = 0
        var ffRun = 0
        var i = 7
        let bodyEnd = count - 2
        while i < bodyEnd {
            let b = p[i]
            if n == 0 { code = b } else { payload[n - 1] = b }
            n += 1
            if b == 0xFD && ffRun >= 2 {
                guard i + 1 < bodyEnd, p[i + 1] == 0xFD else { return nil }
                i += 2
                ffRun = 0
                continue
            }
            ffRun = b == 0xFF ? ffRun + 1 : 0
            i += 1
        }
        guard n >= 1 else { return nil }
        return (p[4], code, n - 1)
    }
}

/// An incremental Protocol 2.0 receiver (see `ServoPacketReceiver`).
typealias DynamixelReceiver = ServoPacketReceiver<DynamixelFraming>
