import SystemSupport
import Testing

@Suite("CRC-32")
struct CRC32Tests {
    @Test("CRC-32 matches zlib's check value")
    func crcCheckValue() {
        let crc = Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }
        #expect(crc == 0xCBF4_3926)
        let split = Array("123456789".utf8).withUnsafeBytes { p in
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: p[4...]),
                           continuing: CRC32.checksum(UnsafeRawBufferPointer(rebasing: p[..<4])))
        }
        #expect(split == crc)
    }
}
