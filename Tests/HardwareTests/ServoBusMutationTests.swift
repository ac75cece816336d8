import Testing

@testable import Hardware

/// A random status packet as the driver expects it: id 1...252 (Feetech 1...253), `length`
/// data bytes.
private func randomStatus(_ bus: ServoBusKind, length: Int, using rng: inout SplitMix64) -> (id: UInt8, data: [UInt8], bytes: [UInt8]) {
    let id = UInt8.random(in: 1...252, using: &rng)
    var data = [UInt8](repeating: 0, count: length)
    for i in 0..<length {
        // Plenty of FF and FD so stuffing and false headers get exercised.
        let r = rng.next() % 8
        data[i] = r == 0 ? 0xFF : r == 1 ? 0xFD : UInt8.random(in: 0...255, using: &rng)
    }
    let bytes = bus == .dynamixel ? Dynamixel.status(id: id, error: 0, data) : Feetech.status(id: id, error: 0, data)
    return (id, data, bytes)
}

/// What one run of a decoder over a mutated stream did.
private struct MutationResult {
    var packets = 0
    var mutated = 0
    var accepted = 0
    var corruptedAccepted = 0
    var intactRecovered = 0
    var intactSent = 0
}

/// Each packet of the stream is sent intact or with one mutation from `mutations`; the
/// receiver is read as the driver reads it (a status packet counts only from an expected id
/// with the expected data length). Every accepted packet must be one that was sent intact.
private func runMutations(
    _ bus: ServoBusKind, packets total: Int, seed: UInt64, mutations: [Mutation]
) -> MutationResult {
    var rng = SplitMix64(state: seed)
    let dxl = DynamixelReceiver(capacity: 4096, maximumPacketLength: 64)
    let fee = FeetechReceiver(capacity: 4096, maximumPacketLength: 64)
    var r = MutationResult()
    let length = 10
    let batch = 100
    var stream: [UInt8] = []
    // Every packet of the batch as it was before any mutation, and whether it went out intact.
    var sent: [(id: UInt8, data: [UInt8], intact: Bool)] = []
    var sentIndex = 0
    while sentIndex < total {
        stream.removeAll(keepingCapacity: true)
        sent.removeAll(keepingCapacity: true)
        for _ in 0..<batch {
            sentIndex += 1
            var p = randomStatus(bus, length: length, using: &rng)
            let mutate = rng.next() % 2 == 0
            if mutate {
                let m = mutations[Int(rng.next() % UInt64(mutations.count))]
                m.apply(&p.bytes, bus: bus, using: &rng)
                r.mutated += 1
            } else {
                r.intactSent += 1
            }
            sent.append((p.id, p.data, !mutate))
            stream += p.bytes
        }
        r.packets += batch
        // Zeros after the batch (they cannot start a packet) complete any candidate whose
        // damaged length field still waits for bytes, so it is checked and skipped.
        stream += [UInt8](repeating: 0, count: 80)
        // Feed in random chunks, as a serial port delivers.
        var i = 0
        var got: [(UInt8, [UInt8])] = []
        while i < stream.count {
            let n = min(stream.count - i, Int(rng.next() % 40) + 1)
            stream[i..<(i + n)].withUnsafeBytes { bus == .dynamixel ? dxl.append($0) : fee.append($0) }
            i += n
            while true {
                let e = bus == .dynamixel ? dxl.next() : fee.next()
                if e == .needMore { break }
                guard e == .packet else { continue }
                let (id, code, params) =
                    bus == .dynamixel ? (dxl.id, dxl.code, Array(dxl.parameters)) : (fee.id, fee.code, Array(fee.parameters))
                // The driver's acceptance: a status packet, no error, the expected length.
                let data: [UInt8]
                if bus == .dynamixel {
                    guard code == 0x55, params.count == length + 1, params[0] == 0 else { continue }
                    data = Array(params[1...])
                } else {
                    guard code == 0, params.count == length else { continue }
                    data = params
                }
                got.append((id, data))
            }
        }
        if bus == .dynamixel { dxl.reset() } else { fee.reset() }
        r.accepted += got.count
        // Every accepted packet must be, byte for byte, one that was sent (in order). A
        // mutation outside the frame (a byte added before or after it) leaves the packet
        // itself intact, and accepting it is right.
        var k = 0
        for g in got {
            var j = k
            while j < sent.count && !(sent[j].id == g.0 && sent[j].data == g.1) { j += 1 }
            if j == sent.count {
                r.corruptedAccepted += 1
            } else {
                if sent[j].intact { r.intactRecovered += 1 }
                k = j + 1
            }
        }
    }
    return r
}

/// Mutations of one packet.
private enum Mutation {
    /// One bit flipped anywhere (header, id, length, data, check).
    case bitFlip
    /// One byte replaced by a different value.
    case byteSubstitution
    /// Two bits flipped anywhere (CRC-16 detects every 2-bit error at these lengths; an
    /// 8-bit sum does not).
    case twoBitFlips
    /// A burst of up to 16 bits flipped, in the CRC's bit order (most significant bit of each
    /// byte first): CRC-16 detects every such burst. (A UART sends the least significant bit
    /// first, so a 16-bit burst on the wire that spans three bytes can be 23 bits long in the
    /// CRC's order and is then caught only with probability 1 - 2^-16; a run found one.) The
    /// burst stays out of the two CRC bytes: Dynamixel stores the CRC low byte first, so a
    /// burst over the last data byte and CRC_L is not contiguous in polynomial order either.
    case burst16
    /// Framing faults: a byte lost (UART overrun), a byte added, the packet cut short.
    case dropByte, insertByte, truncate

    func apply(_ b: inout [UInt8], bus: ServoBusKind, using rng: inout SplitMix64) {
        let n = b.count
        switch self {
        case .bitFlip:
            b[Int(rng.next() % UInt64(n))] ^= UInt8(1) << UInt8(rng.next() % 8)
        case .byteSubstitution:
            let i = Int(rng.next() % UInt64(n))
            b[i] ^= UInt8(rng.next() % 255 + 1)
        case .twoBitFlips:
            let a = Int(rng.next() % UInt64(n * 8))
            var c = Int(rng.next() % UInt64(n * 8 - 1))
            if c >= a { c += 1 }
            b[a / 8] ^= UInt8(1) << UInt8(a % 8)
            b[c / 8] ^= UInt8(1) << UInt8(c % 8)
        case .burst16:
            let len = Int(rng.next() % 15) + 2
            let start = Int(rng.next() % UInt64((n - 2) * 8 - len + 1))
            // First and last bit of the burst always flip; the ones between at random.
            for k in 0..<len where k == 0 || k == len - 1 || rng.next() % 2 == 0 {
                let bit = start + k
                b[bit / 8] ^= UInt8(0x80) >> UInt8(bit % 8)
            }
        case .dropByte:
            b.remove(at: Int(rng.next() % UInt64(n)))
        case .insertByte:
            b.insert(UInt8.random(in: 0...255, using: &rng), at: Int(rng.next() % UInt64(n + 1)))
        case .truncate:
            b.removeLast(Int(rng.next() % UInt64(n - 1)) + 1)
        }
    }
}

@Suite("Servo bus decoders under a million mutated packets")
struct ServoBusMutationTests {
    /// Wire noise: every mutation the check is designed to catch. 0 corrupted packets
    /// accepted, and every intact packet after a mutated one is still found (resync).
    @Test("Dynamixel: 1,000,000 packets, half with bit flips, byte substitutions, 2-bit errors or bursts <= 16 bits")
    func dynamixelNoise() {
        let r = runMutations(.dynamixel, packets: 1_000_000, seed: 0xD1A_2024, mutations: [.bitFlip, .byteSubstitution, .twoBitFlips, .burst16])
        #expect(r.packets == 1_000_000)
        #expect(r.mutated > 450_000)
        #expect(r.corruptedAccepted == 0)
        #expect(r.intactRecovered == r.intactSent, "resync lost \(r.intactSent - r.intactRecovered) intact packets")
    }

    @Test("Feetech: 1,000,000 packets, half with a bit flip or a byte substitution")
    func feetechNoise() {
        let r = runMutations(.feetech, packets: 1_000_000, seed: 0xFEE_7EC4, mutations: [.bitFlip, .byteSubstitution])
        #expect(r.packets == 1_000_000)
        #expect(r.mutated > 450_000)
        #expect(r.corruptedAccepted == 0)
        // A false header inside damaged data (FF FF, frequent in this stream) whose 8-bit sum
        // happens to match swallows the bytes behind it: a few intact packets per thousand.
        #expect(r.intactRecovered >= r.intactSent * 99 / 100, "resync lost \(r.intactSent - r.intactRecovered) intact packets")
    }

    /// Framing faults are outside what a check of n bits can promise (a lost byte makes the
    /// check compare against an unrelated byte): measured against the 2^-n a random match
    /// has. Feetech's 8-bit sum passes a packet that lost a data byte of 0xFF — a documented
    /// limit of the protocol (docs/buses/feetech.md), which the driver bounds by checking
    /// every reply's id and length.
    @Test("framing faults (lost, added, cut bytes): false accepts stay at the check's 2^-n")
    func framingFaults() {
        let n = 200_000
        let d = runMutations(.dynamixel, packets: n, seed: 11, mutations: [.dropByte, .insertByte, .truncate])
        #expect(Double(d.corruptedAccepted) <= Double(d.mutated) * 4 / 65536 + 2, "Dynamixel: \(d.corruptedAccepted) of \(d.mutated)")
        let f = runMutations(.feetech, packets: n, seed: 12, mutations: [.dropByte, .insertByte, .truncate])
        // A lost data byte of 0xFF always passes the sum (the next header's FF stands in for
        // the checksum), and this stream has one data byte in eight at 0xFF: about 1/8 of the
        // drops (1/24 of the mutations) plus 2^-8 of the rest.
        #expect(Double(f.corruptedAccepted) <= Double(f.mutated) * (1.0 / 24 + 4.0 / 256), "Feetech: \(f.corruptedAccepted) of \(f.mutated)")
        print("servo framing faults: Dynamixel accepted \(d.corruptedAccepted) of \(d.mutated) damaged packets, Feetech \(f.corruptedAccepted) of \(f.mutated)")
        #expect(d.intactRecovered >= d.intactSent * 99 / 100)
        #expect(f.intactRecovered >= f.intactSent * 98 / 100)
    }
}
