import Glibc

@testable import Hardware
import SystemSupport

/// An in-process stand-in for the motor-controller firmware, reached through a
/// `ByteTransport`: what the host writes is decoded by the fake, which queues its reply
/// bytes for the host's next read. Deterministic knobs for the link tests: drop, corrupt,
/// answer with another protocol version, hang up.
final class FakeMotorController: ByteTransport {
    let devicePath = "fake-mcu"
    var motorCount = 1
    var countsPerRevolution: Int32 = 4096
    var protocolVersion: UInt8 = 1
    var modes: UInt8 = 0b1110
    /// Replies to drop (the request is still handled).
    var dropReplies = 0
    /// Replies to send with one byte flipped.
    var corruptReplies = 0
    /// Reads return `.disconnected` while true.
    var hungUp = false
    var mode: UInt8 = 0
    var faults: UInt16 = 0
    var position = WireInts(repeating: 0)
    var lastSetpoints = WireInts(repeating: 0)
    var commandsAccepted = 0
    /// The torque limit of the last CONFIGURE, mN·m.
    var lastTorqueLimitMilliNm: Int32 = 0
    var requestsSeen: [UInt8] = []

    private let rx = FrameReceiver()
    private var outbox: [UInt8] = []
    private var seq: UInt16 = 0
    private var closed = false

    func read(into buffer: UnsafeMutableRawBufferPointer, deadlineNanos: UInt64) -> TransportResult {
        if hungUp || closed { return TransportResult(count: 0, status: .disconnected) }
        if outbox.isEmpty {
            // Nothing will come: wait out the deadline as a real port would.
            let now = monotonicNanos()
            if deadlineNanos > now {
                var ts = timespec(tv_sec: 0, tv_nsec: Int(min(deadlineNanos - now, 50_000_000)))
                nanosleep(&ts, nil)
            }
            return TransportResult(count: 0, status: .timeout)
        }
        let n = min(buffer.count, outbox.count)
        for i in 0..<n { buffer[i] = outbox[i] }
        outbox.removeFirst(n)
        return TransportResult(count: n, status: .ok)
    }

    func write(_ bytes: UnsafeRawBufferPointer, deadlineNanos: UInt64) -> TransportResult {
        if hungUp || closed { return TransportResult(count: 0, status: .disconnected) }
        for b in bytes {
            if case .frame(let f)? = rx.feed(b) { handle(f) }
        }
        return TransportResult(count: bytes.count, status: .ok)
    }

    func discardInput() { outbox.removeAll() }
    func close() { closed = true }

    private func handle(_ f: ReceivedFrame) {
        requestsSeen.append(f.type)
        let echo = f.sequence
        switch WireMessage.parse(f) {
        case .hello:
            var c = WireCapabilities()
            c.echoSequence = echo
            c.protocolVersion = protocolVersion
            c.firmwareMajor = 1
            c.motorCount = motorCount
            c.modes = modes
            c.controlRateHz = 1000
            c.maxPayload = 128
            for i in 0..<motorCount {
                c.countsPerRevolution[i] = countsPerRevolution
                c.torqueMaxMilliNm[i] = 2000
            }
            reply(.capabilities(c))
        case .configure(let c):
            mode = c.mode
            lastTorqueLimitMilliNm = c.torqueLimitMilliNm
            reply(.ack(echoSequence: echo, type: f.type))
        case .command(_, let s):
            if mode != 0 && faults == 0 {
                lastSetpoints = s
                commandsAccepted += 1
            }
            replyState(echo)
        case .stateRequest: replyState(echo)
        case .estop:
            faults |= WireFault.estop
            reply(.ack(echoSequence: echo, type: f.type))
        case .clearFault:
            faults = 0
            reply(.ack(echoSequence: echo, type: f.type))
        default:
            reply(.nack(echoSequence: echo, type: f.type, error: 2))
        }
    }

    private func replyState(_ echo: UInt16) {
        var s = WireState()
        s.echoSequence = echo
        s.faults = faults
        s.mode = mode
        s.count = motorCount
        s.position = position
        reply(.state(s))
    }

    private func reply(_ m: WireMessage) {
        if dropReplies > 0 {
            dropReplies -= 1
            return
        }
        var body = [UInt8](repeating: 0, count: 128)
        var scratch = [UInt8](repeating: 0, count: 128)
        var out = [UInt8](repeating: 0, count: WireLimits.maxFrame)
        let (type, n) = body.withUnsafeMutableBytes { WireBody.write(m, into: $0.baseAddress!) }
        let count = body.withUnsafeBytes { b in
            scratch.withUnsafeMutableBytes { s in
                FrameEncoder.encode(
                    version: protocolVersion, type: type, sequence: seq,
                    body: UnsafeRawBufferPointer(rebasing: b[..<n]), scratch: s.baseAddress!, into: &out)
            }
        }
        seq &+= 1
        if corruptReplies > 0 {
            corruptReplies -= 1
            out[count / 2] ^= 0x10
        }
        outbox.append(contentsOf: out[..<count])
    }
}
