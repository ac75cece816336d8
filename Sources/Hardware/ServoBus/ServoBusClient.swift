import Control
import SystemSupport

/// A servo's answer to a set-up request.
public struct ServoStatus: Sendable, Equatable {
    public var id: UInt8
    /// The status error byte (Dynamixel: alert bit + error number; Feetech: status bits).
    public var error: UInt8
    public var data: [UInt8]
}

/// Set-up access to a servo bus: ping, read and write registers one servo at a time, with
/// retries and one-line errors naming the device and the servo. Used by `ServoBusRobot`'s
/// set-up calls and by `robotctl motors scan|setup`.
///
/// Thread contract: set-up object, one thread; never called from the control tick.
public final class ServoBusClient {
    public let bus: ServoBusKind
    public private(set) var transport: any ByteTransport
    let dialect: any ServoBusDialect
    /// How long one request waits for its status packet, and how often it is sent.
    public var replyTimeoutNanos: UInt64
    public var attempts: Int
    private let tx: UnsafeMutablePointer<UInt8>
    private let rx: UnsafeMutableRawPointer
    static let txCapacity = 2048
    static let rxCapacity = 512

    public init(bus: ServoBusKind, transport: any ByteTransport, replyTimeoutNanos: UInt64 = 30_000_000, attempts: Int = 3) {
        self.bus = bus
        self.transport = transport
        self.replyTimeoutNanos = replyTimeoutNanos
        self.attempts = max(1, attempts)
        let longest = 512
        dialect = bus == .dynamixel ? DynamixelDialect(maximumPacketLength: longest) : FeetechDialect(maximumPacketLength: longest)
        tx = .allocate(capacity: ServoBusClient.txCapacity)
        rx = .allocate(byteCount: ServoBusClient.rxCapacity, alignment: 8)
    }

    deinit {
        tx.deallocate()
        rx.deallocate()
    }

    public var devicePath: String { transport.devicePath }

    /// Closes the transport and opens a new one (at another baud rate): the port is taken
    /// exclusively, so the old one must be closed first.
    public func reopen(_ open: () throws -> any ByteTransport) throws {
        transport.close()
        transport = try open()
    }

    // MARK: Requests

    /// Sends one instruction; if `replyFrom` is set, waits for that servo's status packet.
    /// Returns nil when no valid reply came in time (after `attempts` tries).
    public func request(
        id: UInt8, instruction: UInt8, parameters: [UInt8], replyFrom: UInt8?, attempts: Int? = nil,
        timeoutNanos: UInt64? = nil
    ) throws -> ServoStatus? {
        let n = parameters.withUnsafeBytes {
            dialect.encode(id: id, instruction: instruction, parameters: $0, into: tx, capacity: ServoBusClient.txCapacity)
        }
        guard n > 0 else {
            throw HardwareError(
                .invalidArgument, device: devicePath, problem: "request of \(parameters.count) bytes does not fit a packet",
                fix: "split it")
        }
        for _ in 0..<(attempts ?? self.attempts) {
            transport.discardInput()
            dialect.resetReceiver()
            let deadline = monotonicNanos() &+ (timeoutNanos ?? replyTimeoutNanos)
            let w = transport.write(UnsafeRawBufferPointer(start: tx, count: n), deadlineNanos: deadline)
            if w.status == .disconnected || w.status == .ioError {
                throw HardwareError(
                    .ioFailure, device: devicePath, problem: "link lost while sending to servo \(id)",
                    fix: "check the adapter's USB cable, then retry")
            }
            guard let want = replyFrom else { return nil }
            if let s = try awaitStatus(from: want, deadline: deadline) { return s }
        }
        return nil
    }

    private func awaitStatus(from want: UInt8, deadline: UInt64) throws -> ServoStatus? {
        while true {
            while true {
                let e = dialect.nextStatus()
                if e == .needMore { break }
                if e == .packet && dialect.statusID == want {
                    return ServoStatus(id: want, error: dialect.statusError, data: Array(dialect.statusData))
                }
            }
            let r = transport.read(into: UnsafeMutableRawBufferPointer(start: rx, count: ServoBusClient.rxCapacity), deadlineNanos: deadline)
            switch r.status {
            case .ok: dialect.append(UnsafeRawBufferPointer(start: rx, count: r.count))
            case .timeout: return nil
            case .disconnected, .ioError:
                throw HardwareError(
                    .ioFailure, device: devicePath, problem: "link lost while waiting for servo \(want)",
                    fix: "check the adapter's USB cable, then retry")
            }
        }
    }

    /// Pings `id`; returns its model number (Dynamixel: from the ping reply; Feetech: read
    /// from address 3), or nil if nothing answered.
    public func ping(_ id: UInt8, attempts: Int? = nil, timeoutNanos: UInt64? = nil) throws -> UInt16? {
        guard
            let s = try request(
                id: id, instruction: 0x01, parameters: [], replyFrom: id, attempts: attempts, timeoutNanos: timeoutNanos)
        else { return nil }
        if bus == .dynamixel {
            return s.data.count >= 2 ? UInt16(s.data[0]) | UInt16(s.data[1]) << 8 : 0
        }
        // The servo answered the ping: its model-number read may wait longer (a scan's short ping
        // timeout on a loaded host would report a present servo as "unknown").
        guard
            let m = try request(
                id: id, instruction: 0x02, parameters: [UInt8(FeetechMemoryTable.modelNumber.address), 2],
                replyFrom: id, attempts: max(3, attempts ?? self.attempts),
                timeoutNanos: max(30_000_000, timeoutNanos ?? replyTimeoutNanos)), m.data.count == 2
        else { return 0 }
        return UInt16(m.data[0]) | UInt16(m.data[1]) << 8
    }

    private func addressBytes(_ r: ServoRegister, length: Int) -> [UInt8] {
        bus == .dynamixel
            ? Dynamixel.le16(r.address) + Dynamixel.le16(UInt16(length))
            : [UInt8(truncatingIfNeeded: r.address), UInt8(truncatingIfNeeded: length)]
    }

    /// Reads `register` of servo `id` as little-endian bytes. Throws a one-line error naming
    /// the servo when it does not answer or refuses.
    public func read(_ id: UInt8, _ register: ServoRegister, what: String) throws -> [UInt8] {
        guard
            let s = try request(
                id: id, instruction: 0x02, parameters: addressBytes(register, length: register.length), replyFrom: id)
        else { throw noAnswer(id, what: "reading \(what) (address \(register.address))") }
        try check(s, id: id, what: "reading \(what)")
        guard s.data.count == register.length else {
            throw HardwareError(
                .protocolMismatch, device: devicePath,
                problem: "servo \(id) answered \(s.data.count) bytes for \(what), expected \(register.length)",
                fix: "check that it is a \(bus) servo of the configured model")
        }
        return s.data
    }

    /// Reads an unsigned little-endian register value.
    public func readValue(_ id: UInt8, _ register: ServoRegister, what: String) throws -> UInt32 {
        try read(id, register, what: what).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    /// Writes `value` (little-endian, `register.length` bytes) to servo `id` and checks the
    /// status. With `id` = broadcast, nothing answers and nothing is checked.
    public func write(_ id: UInt8, _ register: ServoRegister, _ value: Int64, what: String) throws {
        let bytes = (0..<register.length).map { UInt8(truncatingIfNeeded: value >> (8 * Int64($0))) }
        var p = bus == .dynamixel ? Dynamixel.le16(register.address) : [UInt8(truncatingIfNeeded: register.address)]
        p += bytes
        let broadcast = id == (bus == .dynamixel ? Dynamixel.broadcastID : Feetech.broadcastID)
        let s = try request(id: id, instruction: 0x03, parameters: p, replyFrom: broadcast ? nil : id)
        if broadcast { return }
        guard let s else { throw noAnswer(id, what: "writing \(what) (address \(register.address))") }
        try check(s, id: id, what: "writing \(what) = \(value)")
    }

    /// Reboots a Dynamixel (clears a hardware error; the servo answers, then restarts).
    public func reboot(_ id: UInt8) throws {
        guard bus == .dynamixel else {
            throw HardwareError(
                .invalidArgument, device: devicePath, problem: "Feetech servos have no reboot instruction",
                fix: "power-cycle the servo")
        }
        guard try request(id: id, instruction: Dynamixel.Instruction.reboot.rawValue, parameters: [], replyFrom: id) != nil
        else { throw noAnswer(id, what: "reboot") }
    }

    private func check(_ s: ServoStatus, id: UInt8, what: String) throws {
        let refused = bus == .dynamixel ? s.error & 0x7F != 0 : false
        guard refused else { return }
        let why = dialect.errorText(s.error)
        let access = s.error & 0x7F == Dynamixel.ErrorNumber.accessError.rawValue
        throw HardwareError(
            .ioFailure, device: devicePath, problem: "servo \(id) refused \(what): \(why)",
            fix: access
                ? "turn its torque off first (EEPROM registers are writable only with torque off)"
                : "check the value against the servo's control table")
    }

    func noAnswer(_ id: UInt8, what: String) -> HardwareError {
        HardwareError(
            .noResponse, device: devicePath,
            problem: "servo \(id) did not answer \(what) within \(replyTimeoutNanos / 1_000_000) ms (\(attempts) tries)",
            fix: "check its id and baud rate with `robotctl motors scan --bus \(bus.rawValue)`, its power and the cable")
    }
}
