/// Consistent Overhead Byte Stuffing, canonical form (PROTOCOL.md section 1).
public enum COBS {
    /// The most encoded bytes `n` payload bytes can take (without the delimiter).
    public static func maxEncodedCount(_ n: Int) -> Int { n + n / 254 + 1 }

    /// Encodes `count` bytes from `source` into `destination` (capacity at least
    /// `maxEncodedCount(count)`); returns the encoded length, no delimiter.
    /// Real-time safe: does not allocate, lock or throw.
    public static func encode(
        _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var codeIndex = 0
        var out = 1
        var code: UInt8 = 1
        for i in 0..<count {
            let b = source.load(fromByteOffset: i, as: UInt8.self)
            if b == 0 {
                destination[codeIndex] = code
                codeIndex = out
                out += 1
                code = 1
                continue
            }
            destination[out] = b
            out += 1
            code += 1
            if code == 0xFF {
                destination[codeIndex] = code
                // Canonical form: a full block at the very end is not followed by an empty one.
                if i + 1 == count { return out }
                codeIndex = out
                out += 1
                code = 1
            }
        }
        destination[codeIndex] = code
        return out
    }

    /// Decodes `count` encoded bytes (no delimiter) into `destination` (capacity at least
    /// `count`); returns the decoded length, or -1 when the data ends inside a block.
    /// Real-time safe: does not allocate, lock or throw.
    public static func decode(
        _ source: UnsafePointer<UInt8>, count: Int, into destination: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var i = 0
        var out = 0
        while i < count {
            let code = Int(source[i])
            if code == 0 { return -1 }
            i += 1
            let end = i + code - 1
            if end > count { return -1 }
            while i < end {
                destination[out] = source[i]
                out += 1
                i += 1
            }
            if code != 0xFF && i < count {
                destination[out] = 0
                out += 1
            }
        }
        return out
    }
}
