import TestSupport
import Testing

@testable import Hardware

/// SplitMix64: a small seeded generator so the randomized test is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Frame receiver under random and mutated traffic")
struct FrameFuzzTests {
    /// Builds a stream of random frames, about half of them damaged (bit flips, dropped or
    /// inserted bytes, truncation, a lost delimiter, garbage before the frame), and checks
    /// the receiver accepts exactly the frames that arrived intact after a delimiter, each
    /// byte for byte as sent: no crash, no corrupted frame accepted, resync after garbage.
    @Test("a million random and mutated frames: only intact frames are accepted, and all of them")
    func millionFrames() {
        var rng = SplitMix64(state: 0x5EED_CAFE)
        let rx = FrameReceiver()
        let totalFrames = 1_000_000
        let batch = 20_000
        var scratch = [UInt8](repeating: 0, count: WireLimits.maxPayload)
        var encoded = [UInt8](repeating: 0, count: WireLimits.maxFrame)
        var body = [UInt8](repeating: 0, count: WireLimits.maxPayload)
        var stream: [UInt8] = []
        stream.reserveCapacity(batch * 100)
        // Per batch: the body of every frame expected to be accepted, in order.
        var expected: [(type: UInt8, seq: UInt16, body: [UInt8])] = []
        var accepted = 0
        var rejected = 0
        var mutated = 0
        var mismatches = 0
        var frameIndex = 0
        while frameIndex < totalFrames {
            stream.removeAll(keepingCapacity: true)
            expected.removeAll(keepingCapacity: true)
            stream.append(0)
            for _ in 0..<batch {
                let index = UInt32(frameIndex)
                frameIndex += 1
                let type = UInt8.random(in: 1...255, using: &rng)
                let seq = UInt16(truncatingIfNeeded: index)
                let bodyCount = Int.random(in: 4...(WireLimits.maxPayload - 8), using: &rng)
                for i in 0..<bodyCount {
                    // Plenty of zeros so COBS has blocks to get wrong.
                    body[i] = rng.next() % 4 == 0 ? 0 : UInt8.random(in: 0...255, using: &rng)
                }
                body.withUnsafeMutableBytes { $0.storeBytes(of: index.littleEndian, as: UInt32.self) }
                let n = body.withUnsafeBytes { b in
                    scratch.withUnsafeMutableBytes { s in
                        FrameEncoder.encode(
                            type: type, sequence: seq,
                            body: UnsafeRawBufferPointer(rebasing: b[..<bodyCount]),
                            scratch: s.baseAddress!, into: &encoded)
                    }
                }
                var frame = Array(encoded[..<(n - 1)])  // without the delimiter
                var delimiter = true
                var intact = true
                var garbage: [UInt8] = []
                switch rng.next() % 16 {
                case 0, 1:  // flip 1-3 distinct bits
                    var bits: Set<Int> = []
                    let k = Int.random(in: 1...min(3, frame.count * 8), using: &rng)
                    while bits.count < k { bits.insert(Int.random(in: 0..<(frame.count * 8), using: &rng)) }
                    for bit in bits { frame[bit / 8] ^= UInt8(1) << UInt8(bit % 8) }
                    intact = false
                case 2:  // drop a byte
                    frame.remove(at: Int.random(in: 0..<frame.count, using: &rng))
                    intact = false
                case 3:  // insert a byte (a 0x00 at either end only adds a delimiter)
                    let byte = UInt8.random(in: 0...255, using: &rng)
                    let at = Int.random(in: 0...frame.count, using: &rng)
                    frame.insert(byte, at: at)
                    intact = byte == 0 && (at == 0 || at == frame.count - 1)
                case 4:  // truncate
                    frame.removeLast(Int.random(in: 1...frame.count, using: &rng))
                    intact = false
                case 5:  // the delimiter is lost: this frame merges with the next
                    delimiter = false
                    intact = false
                case 6, 7:  // garbage then a delimiter: the frame itself stays receivable
                    garbage = (0..<Int.random(in: 1...200, using: &rng)).map { _ in
                        UInt8.random(in: 0...255, using: &rng)
                    }
                    garbage.append(0)
                case 8:  // garbage with no delimiter: it merges into the frame
                    garbage = (0..<Int.random(in: 1...40, using: &rng)).map { _ in
                        UInt8.random(in: 1...255, using: &rng)
                    }
                default:
                    break
                }
                if !intact { mutated += 1 }
                let precededByDelimiter = garbage.isEmpty ? stream.last == 0 : garbage.last == 0
                stream.append(contentsOf: garbage)
                stream.append(contentsOf: frame)
                if delimiter {
                    stream.append(0)
                } else {
                    stream.append(UInt8.random(in: 1...255, using: &rng))
                }
                if intact && precededByDelimiter && delimiter {
                    expected.append((type, seq, Array(body[..<bodyCount])))
                }
            }
            stream.append(0)
            var next = 0
            for b in stream {
                switch rx.feed(b) {
                case .frame(let f)?:
                    accepted += 1
                    if next < expected.count, expected[next].type == f.type, expected[next].seq == f.sequence,
                        f.body.elementsEqual(expected[next].body)
                    {
                        next += 1
                    } else {
                        mismatches += 1
                    }
                case .error?: rejected += 1
                case nil: break
                }
            }
            #expect(next == expected.count, "every intact frame after a delimiter is accepted")
        }
        #expect(mismatches == 0, "no corrupted or unexpected frame accepted")
        #expect(frameIndex >= 1_000_000)
        #expect(mutated > 300_000 && rejected >= mutated / 2)
        #expect(rx.counters.framesAccepted == accepted)
        #expect(rx.counters.resyncs == rejected)
        print("fuzz: \(frameIndex) frames, \(mutated) damaged, \(accepted) accepted, \(rejected) rejected")
    }
}
