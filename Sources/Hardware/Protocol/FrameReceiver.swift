/// The link-layer limits of firmware-proto (PROTOCOL.md section 1).
public enum WireLimits {
    /// Header (4) + body + CRC (4) may not exceed this.
    public static let maxPayload = 128
    /// COBS adds one byte for payloads this small.
    public static let maxEncoded = 129
    /// A whole frame on the wire: encoded payload plus the 0x00 delimiter.
    public static let maxFrame = maxEncoded + 1
    /// Header plus CRC.
    public static let minPayload = 8
    public static let headerSize = 4
    public static let crcSize = 4
    public static let version: UInt8 = 1
}

/// Why the link layer dropped a frame (PROTOCOL.md section 1, checks in this order).
public enum FrameError: UInt8, Sendable, CustomStringConvertible {
    case oversize, cobs, short, crc
    public var description: String {
        switch self {
        case .oversize: "oversize"
        case .cobs: "cobs"
        case .short: "short"
        case .crc: "crc"
        }
    }
}

/// A frame the link layer accepted: COBS and CRC good. `body` points into the receiver's
/// buffer and is valid until the next `feed`.
public struct ReceivedFrame {
    public var version: UInt8
    public var type: UInt8
    public var sequence: UInt16
    public var body: UnsafeRawBufferPointer
}

/// What feeding one byte produced.
public enum FrameEvent {
    case frame(ReceivedFrame)
    case error(FrameError)
}

/// Link-layer counters of a receiver.
public struct FrameReceiverCounters: Sendable, Equatable {
    public var framesAccepted = 0
    public var crcErrors = 0
    public var cobsErrors = 0
    public var shortFrames = 0
    public var oversizeFrames = 0
    /// Frames whose bytes were thrown away before a delimiter brought the receiver back in
    /// step (every error above is also a resync).
    public var resyncs: Int { crcErrors + cobsErrors + shortFrames + oversizeFrames }
    public init() {}
}

/// The incremental decoder: fed one byte at a time, it collects encoded bytes up to the
/// 0x00 delimiter, COBS-decodes them and checks the CRC. Any garbage is dropped at the next
/// delimiter, so the frame after it decodes normally.
///
/// Pure: no I/O. Thread contract: one thread; `feed` is real-time safe: it does not
/// allocate, lock or throw (two preallocated buffers).
public final class FrameReceiver {
    private let encoded: UnsafeMutablePointer<UInt8>
    private let decoded: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var overflowed = false
    public private(set) var counters = FrameReceiverCounters()

    public init() {
        encoded = .allocate(capacity: WireLimits.maxEncoded)
        decoded = .allocate(capacity: WireLimits.maxEncoded)
        _ = CRC32C.table
    }

    deinit {
        encoded.deallocate()
        decoded.deallocate()
    }

    /// True while bytes of an unfinished frame are held.
    public var hasPartialFrame: Bool { count > 0 || overflowed }

    /// Forgets any partial frame (after reconnecting).
    public func reset() {
        count = 0
        overflowed = false
    }

    /// Feeds one byte; returns an event when it completed a frame (or a dropped one).
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func feed(_ byte: UInt8) -> FrameEvent? {
        if byte != 0 {
            if count < WireLimits.maxEncoded {
                encoded[count] = byte
                count += 1
            } else {
                overflowed = true
            }
            return nil
        }
        return finishFrame()
    }

    private func finishFrame() -> FrameEvent? {
        defer {
            count = 0
            overflowed = false
        }
        if overflowed {
            counters.oversizeFrames += 1
            return .error(.oversize)
        }
        if count == 0 { return nil }
        let n = COBS.decode(encoded, count: count, into: decoded)
        if n < 0 {
            counters.cobsErrors += 1
            return .error(.cobs)
        }
        if n < WireLimits.minPayload {
            counters.shortFrames += 1
            return .error(.short)
        }
        let dataCount = n - WireLimits.crcSize
        let raw = UnsafeRawPointer(decoded)
        let sent = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: dataCount, as: UInt32.self))
        if CRC32C.checksum(raw, count: dataCount) != sent {
            counters.crcErrors += 1
            return .error(.crc)
        }
        counters.framesAccepted += 1
        return .frame(
            ReceivedFrame(
                version: decoded[0], type: decoded[1],
                sequence: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)),
                body: UnsafeRawBufferPointer(
                    start: raw + WireLimits.headerSize, count: dataCount - WireLimits.headerSize)))
    }
}

/// Builds frames: header, body, CRC-32C, COBS, delimiter.
public enum FrameEncoder {
    /// Encodes one frame into `destination` (capacity at least `WireLimits.maxFrame`);
    /// returns the bytes written including the trailing 0x00, or 0 if the body is too long.
    /// `scratch` must hold `WireLimits.maxPayload` bytes.
    /// Real-time safe: does not allocate, lock or throw.
    public static func encode(
        version: UInt8 = WireLimits.version, type: UInt8, sequence: UInt16,
        body: UnsafeRawBufferPointer, scratch: UnsafeMutableRawPointer,
        into destination: UnsafeMutablePointer<UInt8>
    ) -> Int {
        let payload = WireLimits.headerSize + body.count + WireLimits.crcSize
        guard payload <= WireLimits.maxPayload else { return 0 }
        scratch.storeBytes(of: version, as: UInt8.self)
        scratch.storeBytes(of: type, toByteOffset: 1, as: UInt8.self)
        scratch.storeBytes(of: sequence.littleEndian, toByteOffset: 2, as: UInt16.self)
        if let b = body.baseAddress, body.count > 0 {
            (scratch + WireLimits.headerSize).copyMemory(from: b, byteCount: body.count)
        }
        let dataCount = WireLimits.headerSize + body.count
        let crc = CRC32C.checksum(scratch, count: dataCount)
        scratch.storeBytes(of: crc.littleEndian, toByteOffset: dataCount, as: UInt32.self)
        let n = COBS.encode(scratch, count: payload, into: destination)
        destination[n] = 0
        return n + 1
    }
}
