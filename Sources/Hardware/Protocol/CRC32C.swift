/// CRC-32C (Castagnoli; CRC-32/ISCSI): reflected polynomial 0x82F63B78, initial and final
/// XOR 0xFFFFFFFF. The frame check of firmware-proto (PROTOCOL.md section 1.1).
public enum CRC32C {
    /// The 256-entry table, built once (the first call allocates it; `MotorBusRobot`
    /// touches it at set-up so the control thread never does).
    nonisolated(unsafe) static let table: UnsafePointer<UInt32> = {
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        return UnsafePointer(t)
    }()

    /// The CRC of `count` bytes at `bytes`. Real-time safe: does not allocate, lock or throw
    /// (after the table exists).
    @inline(__always)
    public static func checksum(_ bytes: UnsafeRawPointer, count: Int) -> UInt32 {
        let t = table
        var c: UInt32 = 0xFFFF_FFFF
        for i in 0..<count {
            c = t[Int((c ^ UInt32(bytes.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (c >> 8)
        }
        return c ^ 0xFFFF_FFFF
    }

    /// The CRC of a byte buffer. Real-time safe: does not allocate, lock or throw.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        return checksum(base, count: bytes.count)
    }
}
