/// CRC-32 as in zlib, PNG and Ethernet (IEEE 802.3): reflected polynomial 0xEDB88320,
/// initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. `crc32(b"123456789") == 0xCBF43926`;
/// Python's `zlib.crc32` gives the same values.
///
/// Real-time safe: does not allocate, lock or throw (the table is built once, at first use,
/// by whichever set-up code touches it first).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32 of `bytes`, continuing from `crc` (pass the result of a previous call to
    /// checksum data in pieces; start from 0).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }
}
