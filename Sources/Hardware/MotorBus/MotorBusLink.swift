/// Counters of a motor-bus link. Updated by the thread that drives the link.
public struct MotorBusCounters: Sendable, Equatable {
    /// Frames handed to the transport.
    public var framesSent = 0
    /// Frames that passed COBS and CRC checks.
    public var framesReceived = 0
    public var crcErrors = 0
    /// COBS errors, short frames and oversize frames.
    public var framingErrors = 0
    /// Times the receiver dropped bytes and restarted at a delimiter (every CRC or framing error).
    public var resyncs = 0
    /// Ticks whose reply did not arrive within the tick budget (after retries).
    public var timeouts = 0
    /// Requests sent again within a tick because the reply was late or corrupted.
    public var retries = 0
    /// Replies that answered an older request (after a retry) and were skipped.
    public var staleReplies = 0
    /// CRC-valid frames the host could not use (wrong version, type or length; NACKs).
    public var unusableFrames = 0
    /// Successful reconnects.
    public var reconnects = 0
    public init() {}
}

/// A framed, sequenced message link over a `ByteTransport`: encodes requests, collects
/// replies, keeps the counters.
///
/// Thread contract: one thread at a time. `send` and `receive` are real-time safe: they do
/// not allocate, lock or throw (buffers preallocated at init).
final class MotorBusLink {
    private(set) var transport: any ByteTransport
    let receiver = FrameReceiver()
    private let scratch: UnsafeMutableRawPointer
    private let body: UnsafeMutableRawPointer
    /// The last frame sent, kept for retries.
    private let txFrame: UnsafeMutablePointer<UInt8>
    private var txCount = 0
    private let rxChunk: UnsafeMutableRawPointer
    private static let rxCapacity = 512
    private var rxStart = 0
    private var rxEnd = 0
    private(set) var nextSequence: UInt16 = 0
    var counters = MotorBusCounters()
    /// The header version of the last CRC-valid frame refused for its version (0: none),
    /// to report a protocol mismatch.
    private(set) var lastForeignVersion: UInt8 = 0

    init(transport: any ByteTransport) {
        self.transport = transport
        scratch = .allocate(byteCount: WireLimits.maxPayload, alignment: 8)
        body = .allocate(byteCount: WireLimits.maxPayload, alignment: 8)
        txFrame = .allocate(capacity: WireLimits.maxFrame + 1)  // + the leading 0x00
        rxChunk = .allocate(byteCount: MotorBusLink.rxCapacity, alignment: 8)
    }

    deinit {
        scratch.deallocate()
        body.deallocate()
        txFrame.deallocate()
        rxChunk.deallocate()
    }

    /// Swaps in a new transport (after reconnecting) and forgets partial input.
    func replaceTransport(_ t: any ByteTransport) {
        transport.close()
        transport = t
        rxStart = 0
        rxEnd = 0
        receiver.reset()
    }

    /// Sends one 0x00 so the MCU's receiver drops any partial frame.
    func sendDelimiter(deadlineNanos: UInt64) -> TransportStatus {
        var zero: UInt8 = 0
        return withUnsafeBytes(of: &zero) { transport.write($0, deadlineNanos: deadlineNanos).status }
    }

    /// Encodes `message` with the next sequence number and sends it. Returns the sequence
    /// number used. Real-time safe: does not allocate, lock or throw.
    func send(_ message: WireMessage, deadlineNanos: UInt64) -> (sequence: UInt16, status: TransportStatus) {
        let (type, n) = WireBody.write(message, into: body)
        let seq = nextSequence
        nextSequence &+= 1
        // A leading 0x00 (PROTOCOL.md section 1 allows it) ends whatever partial frame the
        // MCU holds, so a delimiter lost to noise costs one frame, not two.
        txFrame[0] = 0
        txCount =
            1
            + FrameEncoder.encode(
                type: type, sequence: seq, body: UnsafeRawBufferPointer(start: body, count: n),
                scratch: scratch,
                into: txFrame + 1)
        return (seq, resend(deadlineNanos: deadlineNanos))
    }

    /// Sends the last frame again, byte for byte. Real-time safe: does not allocate, lock or
    /// throw.
    func resend(deadlineNanos: UInt64) -> TransportStatus {
        let r = transport.write(
            UnsafeRawBufferPointer(start: txFrame, count: txCount), deadlineNanos: deadlineNanos)
        if r.status == .ok { counters.framesSent += 1 }
        return r.status
    }

    /// What `receive` found.
    enum Received {
        case message(WireMessage)
        case corrupted
        case timeout
        case disconnected
    }

    /// The next usable message (or the next link error) arriving before `deadlineNanos`.
    /// Corrupted frames are reported one at a time so the caller can retry at once.
    /// Real-time safe: does not allocate, lock or throw.
    func receive(deadlineNanos: UInt64) -> Received {
        while true {
            while rxStart < rxEnd {
                let b = rxChunk.load(fromByteOffset: rxStart, as: UInt8.self)
                rxStart += 1
                guard let event = receiver.feed(b) else { continue }
                switch event {
                case .frame(let f):
                    counters.framesReceived += 1
                    let m = WireMessage.parse(f)
                    if case .invalid(let reason) = m {
                        if reason == .badVersion { lastForeignVersion = f.version }
                        counters.unusableFrames += 1
                        continue
                    }
                    return .message(m)
                case .error(let e):
                    counters.resyncs += 1
                    if e == .crc { counters.crcErrors += 1 } else { counters.framingErrors += 1 }
                    return .corrupted
                }
            }
            let r = transport.read(
                into: UnsafeMutableRawBufferPointer(start: rxChunk, count: MotorBusLink.rxCapacity),
                deadlineNanos: deadlineNanos)
            switch r.status {
            case .ok:
                rxStart = 0
                rxEnd = r.count
            case .timeout: return .timeout
            case .disconnected, .ioError: return .disconnected
            }
        }
    }

    /// Bytes read from the transport but not yet fed to the receiver.
    var unfedByteCount: Int { rxEnd - rxStart }

    /// Reads and counts whatever has already arrived (stale replies, noise) without
    /// waiting, so it cannot be mistaken for the reply to the next request. Set-up helper.
    func drainArrived() {
        while true {
            switch receive(deadlineNanos: 0) {
            case .message, .corrupted: continue
            case .timeout, .disconnected: return
            }
        }
    }

    /// Drops everything buffered (host side and the transport's input queue).
    func discardInput() {
        rxStart = 0
        rxEnd = 0
        receiver.reset()
        transport.discardInput()
    }
}
