import Testing

@testable import Hardware

private func hex(_ s: String) -> [UInt8] { s.split(separator: " ").map { UInt8($0, radix: 16)! } }

/// Feeds `bytes` to a receiver in one chunk and returns every packet it accepts.
private func decodeAll<F: ServoFraming>(_ rx: ServoPacketReceiver<F>, _ bytes: [UInt8]) -> [(UInt8, UInt8, [UInt8])] {
    bytes.withUnsafeBytes { rx.append($0) }
    var out: [(UInt8, UInt8, [UInt8])] = []
    while true {
        let e = rx.next()
        if e == .needMore { break }
        if e == .packet { out.append((rx.id, rx.code, Array(rx.parameters))) }
    }
    return out
}

/// Byte vectors from the ROBOTIS e-manual, "DYNAMIXEL Protocol 2.0"
/// (https://emanual.robotis.com/docs/en/dxl/protocol2/), the example of each instruction's
/// section, copied byte for byte (CRCs included) — encode must produce them and decode must
/// read them back.
@Suite("Dynamixel Protocol 2.0 e-manual vectors")
struct DynamixelVectorTests {
    @Test("CRC-16 (poly 0x8005) of the e-manual's Ping example is 0x4E19")
    func crc() {
        #expect(Dynamixel.crc(hex("FF FF FD 00 01 03 00 01")) == 0x4E19)
    }

    @Test("Ping: instruction to ID 1 and the XM430-W210 status (model 1030, firmware 0x26)")
    func ping() {
        #expect(Dynamixel.instruction(id: 1, .ping) == hex("FF FF FD 00 01 03 00 01 19 4E"))
        #expect(Dynamixel.instruction(id: 0xFE, .ping) == hex("FF FF FD 00 FE 03 00 01 31 42"))
        let status = hex("FF FF FD 00 01 07 00 55 00 06 04 26 65 5D")
        #expect(Dynamixel.status(id: 1, [0x06, 0x04, 0x26]) == status)
        let got = decodeAll(DynamixelReceiver(), status + hex("FF FF FD 00 02 07 00 55 00 06 04 26 6F 6D"))
        #expect(got.count == 2)
        #expect(got.map(\.0) == [1, 2])
        #expect(got.allSatisfy { $0.1 == 0x55 && $0.2 == [0x00, 0x06, 0x04, 0x26] })
    }

    @Test("Read: Present Position (132, 4 bytes) of ID 1, status 166")
    func read() {
        let p = Dynamixel.readParameters(address: 132, length: 4)
        #expect(Dynamixel.instruction(id: 1, .read, p) == hex("FF FF FD 00 01 07 00 02 84 00 04 00 1D 15"))
        let status = hex("FF FF FD 00 01 08 00 55 00 A6 00 00 00 8C C0")
        #expect(Dynamixel.status(id: 1, [0xA6, 0, 0, 0]) == status)
        let got = decodeAll(DynamixelReceiver(), status)
        #expect(got.count == 1 && got[0].2 == [0x00, 0xA6, 0, 0, 0])
    }

    @Test("Write: Goal Position (116) = 512 to ID 1, and its status")
    func write() {
        let p = Dynamixel.writeParameters(address: 116, data: [0x00, 0x02, 0x00, 0x00])
        #expect(Dynamixel.instruction(id: 1, .write, p) == hex("FF FF FD 00 01 09 00 03 74 00 00 02 00 00 CA 89"))
        #expect(Dynamixel.status(id: 1) == hex("FF FF FD 00 01 04 00 55 00 A1 0C"))
    }

    @Test("Sync Read: Present Position of IDs 1 and 2, statuses 166 and 2079")
    func syncRead() {
        let p = Dynamixel.syncReadParameters(address: 132, length: 4, ids: [1, 2])
        #expect(Dynamixel.instruction(id: 0xFE, .syncRead, p) == hex("FF FF FD 00 FE 09 00 82 84 00 04 00 01 02 CE FA"))
        let replies = hex("FF FF FD 00 01 08 00 55 00 A6 00 00 00 8C C0 FF FF FD 00 02 08 00 55 00 1F 08 00 00 BA BE")
        let got = decodeAll(DynamixelReceiver(), replies)
        #expect(got.count == 2)
        #expect(got.count == 2 && got[1].0 == 2 && got[1].2 == [0x00, 0x1F, 0x08, 0, 0])
    }

    @Test("Sync Write: Goal Position 150 to ID 1 and 170 to ID 2")
    func syncWrite() {
        let p = Dynamixel.syncWriteParameters(
            address: 116, length: 4, items: [(1, [0x96, 0, 0, 0]), (2, [0xAA, 0, 0, 0])])
        #expect(
            Dynamixel.instruction(id: 0xFE, .syncWrite, p)
                == hex("FF FF FD 00 FE 11 00 83 74 00 04 00 01 96 00 00 00 02 AA 00 00 00 82 87"))
    }

    @Test("Reboot and Factory Reset of ID 1")
    func reboot() {
        #expect(Dynamixel.instruction(id: 1, .reboot) == hex("FF FF FD 00 01 03 00 08 2F 4E"))
        #expect(Dynamixel.instruction(id: 1, .factoryReset, [0x01]) == hex("FF FF FD 00 01 04 00 06 01 A1 E6"))
    }

    /// Constructed per the e-manual's "Byte Stuffing" rule (no byte example there): FF FF FD
    /// in the body gets an extra FD, LEN counts it, and the receiver removes it.
    @Test("byte stuffing: FF FF FD in the parameters is sent as FF FF FD FD and read back unstuffed")
    func stuffing() {
        let data: [UInt8] = [0xFF, 0xFF, 0xFD, 0x01, 0xFF, 0xFF, 0xFD]
        let packet = Dynamixel.instruction(id: 3, .write, Dynamixel.writeParameters(address: 116, data: data))
        #expect(Array(packet[10..<19]) == [0xFF, 0xFF, 0xFD, 0xFD, 0x01, 0xFF, 0xFF, 0xFD, 0xFD])
        #expect(Int(packet[5]) | Int(packet[6]) << 8 == packet.count - 7)
        let got = decodeAll(DynamixelReceiver(), packet)
        #expect(got.count == 1 && got[0].1 == 0x03 && got[0].2 == [116, 0] + data)
        // An unstuffed FF FF FD inside a packet (with a valid CRC) is refused.
        var bad = hex("FF FF FD 00 03 09 00 03 74 00 FF FF FD 01")
        let c = Dynamixel.crc(bad)
        bad += [UInt8(c & 0xFF), UInt8(c >> 8)]
        let rx = DynamixelReceiver()
        #expect(decodeAll(rx, bad).isEmpty)
        #expect(rx.counters.framingErrors == 1)
    }

    /// Constructed per the e-manual's Fast Sync Read section: one status packet from ID 0xFE
    /// holding ERR, ID, DATA and a CRC per servo (the last CRC is the packet's).
    @Test("Fast Sync Read: one status packet is split into one entry per servo")
    func fastSyncRead() {
        var body: [UInt8] = [0x00, 0x01, 0xA6, 0, 0, 0, 0x11, 0x22, 0x00, 0x02, 0x1F, 0x08, 0, 0]
        let packet = Dynamixel.status(id: 0xFE, error: body.removeFirst(), body)
        let rx = DynamixelReceiver()
        let got = decodeAll(rx, packet)
        #expect(got.count == 1 && got[0].0 == 0xFE)
        var seen: [(UInt8, [UInt8])] = []
        let ok = Dynamixel.forEachFastSyncReadEntry(rx.parameters, count: 2, dataLength: 4) { _, err, id, data in
            #expect(err == 0)
            seen.append((id, Array(data)))
        }
        #expect(ok)
        #expect(seen.map(\.0) == [1, 2])
        #expect(seen.count == 2 && seen[1].1 == [0x1F, 0x08, 0, 0])
        #expect(!Dynamixel.forEachFastSyncReadEntry(rx.parameters, count: 3, dataLength: 4) { _, _, _, _ in })
    }

    @Test("receiver: any chunking, garbage before, between and after packets")
    func chunking() {
        let a = hex("FF FF FD 00 01 08 00 55 00 A6 00 00 00 8C C0")
        let b = hex("FF FF FD 00 02 08 00 55 00 1F 08 00 00 BA BE")
        let stream = [0x00, 0xFF, 0xFF, 0xFD] + a + [0xFF, 0xFF] + b + [0xFF]
        for chunk in [1, 2, 3, 7, 64] {
            let rx = DynamixelReceiver()
            var ids: [UInt8] = []
            var i = 0
            while i < stream.count {
                let part = Array(stream[i..<min(stream.count, i + chunk)])
                ids += decodeAll(rx, part).map(\.0)
                i += chunk
            }
            #expect(ids == [1, 2], "chunk \(chunk)")
        }
    }
}

/// Byte vectors of the Feetech "Serial Bus Smart Control Servo Communication Protocol
/// Manual" (V1.01, instruction examples for an SMS/STS servo, little-endian two-byte values),
/// checksums included; sync vectors constructed per the manual's format and marked so.
@Suite("Feetech STS/SCS protocol-manual vectors")
struct FeetechVectorTests {
    @Test("Ping ID 1 and its status")
    func ping() {
        #expect(Feetech.instruction(id: 1, .ping) == hex("FF FF 01 02 01 FB"))
        #expect(Feetech.status(id: 1) == hex("FF FF 01 02 00 FC"))
        let got = decodeAll(FeetechReceiver(), hex("FF FF 01 02 00 FC"))
        #expect(got.count == 1 && got[0].0 == 1 && got[0].1 == 0 && got[0].2.isEmpty)
    }

    @Test("Read present position (0x38, 2 bytes) of ID 1: 0x0518 = 1304")
    func read() {
        #expect(Feetech.instruction(id: 1, .read, [0x38, 0x02]) == hex("FF FF 01 04 02 38 02 BE"))
        let got = decodeAll(FeetechReceiver(), hex("FF FF 01 04 00 18 05 DD"))
        #expect(got.count == 1 && got[0].2 == [0x18, 0x05])
    }

    @Test("Write goal position 2048, time 0, speed 1000 (0x2A) to ID 1")
    func write() {
        #expect(
            Feetech.instruction(id: 1, .write, [0x2A, 0x00, 0x08, 0x00, 0x00, 0xE8, 0x03])
                == hex("FF FF 01 09 03 2A 00 08 00 00 E8 03 D5"))
    }

    /// Constructed: checksum = ~(FE + 07 + 82 + 38 + 0F + 01 + 02 + 03) & FF.
    @Test("Sync Read (constructed): 15 bytes from 0x38 of IDs 1, 2, 3")
    func syncRead() {
        let p = Feetech.syncReadParameters(address: 0x38, length: 15, ids: [1, 2, 3])
        let packet = Feetech.instruction(id: 0xFE, .syncRead, p)
        #expect(packet == hex("FF FF FE 07 82 38 0F 01 02 03") + [~UInt8(truncatingIfNeeded: 0xFE + 0x07 + 0x82 + 0x38 + 0x0F + 6)])
    }

    /// Constructed: goal position 0x0800 to ID 1 and 0x0400 to ID 2.
    @Test("Sync Write (constructed): goal positions of IDs 1 and 2")
    func syncWrite() {
        let p = Feetech.syncWriteParameters(address: 0x2A, length: 2, items: [(1, [0x00, 0x08]), (2, [0x00, 0x04])])
        #expect(p == [0x2A, 0x02, 0x01, 0x00, 0x08, 0x02, 0x00, 0x04])
        let packet = Feetech.instruction(id: 0xFE, .syncWrite, p)
        #expect(packet.count == 14 && packet[3] == 10 && packet[4] == 0x83)
        #expect(packet.last == Feetech.checksum(Array(packet[2..<13])))
    }

    @Test("sign-magnitude values (bit 15) round-trip and saturate")
    func signMagnitude() {
        #expect(Feetech.signMagnitude(-1000, signBit: 15) == 0x83E8)
        #expect(Feetech.fromSignMagnitude(0x83E8, signBit: 15) == -1000)
        #expect(Feetech.fromSignMagnitude(Feetech.signMagnitude(40_000, signBit: 15), signBit: 15) == 32767)
        #expect(Feetech.fromSignMagnitude(0x0400 | 5, signBit: 10) == -5)
    }

    @Test("receiver: an FF before the header and a reserved id FF are skipped")
    func resync() {
        let got = decodeAll(FeetechReceiver(), hex("FF FF FF 01 04 00 18 05 DD FF"))
        #expect(got.count == 1 && got[0].0 == 1)
    }
}
