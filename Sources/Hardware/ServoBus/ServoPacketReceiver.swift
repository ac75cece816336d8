import Glibc

/// How one servo protocol frames its packets: the parts of the incremental receiver that
/// differ between Dynamixel Protocol 2.0 and Feetech STS/SCS. Pure functions over bytes
/// already in the receiver's buffer.
protocol ServoFraming {
    /// The fewest bytes needed to read a packet's total length (header, id, length field).
    static var prefixLength: Int { get }
    /// The shortest and longest total packet the protocol allows (longest bounded by us).
    static var minimumPacketLength: Int { get }
    /// The total length of the packet starting at `p` (which holds `prefixLength` bytes), or
    /// nil if these bytes cannot start a packet (wrong header, reserved id, impossible length).
    static func packetLength(_ p: UnsafePointer<UInt8>) -> Int?
    /// True if the packet's check (CRC, checksum) matches.
    static func checkPasses(_ p: UnsafePointer<UInt8>, count: Int) -> Bool
    /// Copies the packet's code byte (instruction, or the status marker/error) and its
    /// parameters, with any byte stuffing removed, into `payload`; returns the id, code and
    /// parameter count, or nil if the body is malformed (e.g. bad stuffing).
    static func extract(
        _ p: UnsafePointer<UInt8>, count: Int, into payload: UnsafeMutablePointer<UInt8>
    ) -> (id: UInt8, code: UInt8, parameterCount: Int)?
}

/// What one `ServoPacketReceiver.next()` call found.
public enum ServoReceiveEvent: UInt8, Sendable {
    /// A packet passed every check: read it from `id`, `code` and `parameters`.
    case packet
    /// No complete packet in the buffer yet: append more bytes.
    case needMore
    /// A candidate packet failed its check or framing; it was skipped. Call `next()` again.
    case corrupted
}

/// Counters of one receiver. Updated by the thread that feeds it.
public struct ServoReceiverCounters: Sendable, Equatable {
    /// Packets that passed every check.
    public var packets = 0
    /// Candidates whose CRC/checksum did not match.
    public var checksumErrors = 0
    /// Candidates with an impossible length or malformed body (stuffing).
    public var framingErrors = 0
    /// Bytes skipped while looking for a header (noise, the rest of a bad packet).
    public var discardedBytes = 0
    /// Bytes lost because the buffer was full (the caller fed faster than it read).
    public var overflowedBytes = 0
    public init() {}
}

/// An incremental packet receiver for a servo bus: fed bytes in any chunking, it finds
/// packets, checks them, and resynchronises one byte past the start of any bad candidate, so
/// a corrupted packet never hides the good packet behind it.
///
/// Pure: no I/O. Thread contract: one thread at a time. `append`, `next` and `reset` are
/// real-time safe: they do not allocate, lock or throw (buffers preallocated at init).
final class ServoPacketReceiver<Framing: ServoFraming> {
    /// The most bytes held (unparsed input).
    let capacity: Int
    /// The longest packet accepted; a candidate claiming more is rejected at once, so a
    /// corrupted length field cannot make the receiver wait for bytes that never come.
    let maximumPacketLength: Int
    private let buffer: UnsafeMutablePointer<UInt8>
    private let payload: UnsafeMutablePointer<UInt8>
    private var start = 0
    private var end = 0
    private(set) var counters = ServoReceiverCounters()

    /// The last packet's id, code (Dynamixel: the instruction, 0x55 for a status packet;
    /// Feetech: the instruction or the status error byte) and parameters. Valid until the
    /// next `next()`/`append`.
    private(set) var id: UInt8 = 0
    private(set) var code: UInt8 = 0
    private(set) var parameterCount = 0
    var parameters: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: payload, count: parameterCount) }

    init(capacity: Int = 1024, maximumPacketLength: Int? = nil) {
        precondition(capacity >= Framing.minimumPacketLength * 2, "receiver capacity too small")
        self.capacity = capacity
        self.maximumPacketLength = min(capacity, maximumPacketLength ?? capacity)
        buffer = .allocate(capacity: capacity)
        payload = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        payload.deallocate()
    }

    /// Bytes buffered but not yet parsed.
    var pendingCount: Int { end - start }

    /// Drops everything buffered. Real-time safe.
    func reset() {
        start = 0
        end = 0
    }

    /// Adds received bytes. If they do not fit, the oldest unparsed bytes are dropped
    /// (counted in `overflowedBytes`). Real-time safe: does not allocate, lock or throw.
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        var from = src.assumingMemoryBound(to: UInt8.self)
        var n = bytes.count
        if n > capacity {
            counters.overflowedBytes += (n - capacity) + (end - start)
            from += n - capacity
            n = capacity
            start = 0
            end = 0
        }
        if end + n > capacity {
            let kept = end - start
            if kept + n > capacity {
                let lose = kept + n - capacity
                counters.overflowedBytes += lose
                start += lose
            }
            let keep = end - start
            if start > 0 && keep > 0 { memmove(buffer, buffer + start, keep) }
            start = 0
            end = keep
        }
        (buffer + end).update(from: from, count: n)
        end += n
    }

    /// Adds one received byte. Real-time safe.
    func append(byte: UInt8) {
        var b = byte
        withUnsafeBytes(of: &b) { append($0) }
    }

    /// Looks for the next packet in what was appended. Real-time safe: does not allocate,
    /// lock or throw.
    func next() -> ServoReceiveEvent {
        while true {
            let available = end - start
            if available < Framing.prefixLength { return .needMore }
            let p = UnsafePointer(buffer + start)
            guard let total = Framing.packetLength(p) else {
                start += 1
                counters.discardedBytes += 1
                continue
            }
            if total < Framing.minimumPacketLength || total > maximumPacketLength {
                start += 1
                counters.framingErrors += 1
                return .corrupted
            }
            if available < total { return .needMore }
            guard Framing.checkPasses(p, count: total) else {
                start += 1
                counters.checksumErrors += 1
                return .corrupted
            }
            guard let (i, c, n) = Framing.extract(p, count: total, into: payload) else {
                start += 1
                counters.framingErrors += 1
                return .corrupted
            }
            start += total
            if start == end {
                start = 0
                end = 0
            }
            id = i
            code = c
            parameterCount = n
            counters.packets += 1
            return .packet
        }
    }
}
