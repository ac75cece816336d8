/// The segment file layout (DATASET.md, "Segment files") and the scan that finds its valid
/// prefix. Pure functions over bytes: used by the reader, and by the writer when it reopens a
/// dataset after a crash.
public enum SegmentFormat {
    /// "RCDSSEG1": robotctl dataset segment, layout 1.
    public static let magic: [UInt8] = Array("RCDSSEG1".utf8)
    public static let headerBytes = 32
    /// File name of segment `index`: "segment-000042.rcds".
    public static func fileName(_ index: Int) -> String {
        let digits = String(index)
        return "segment-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".rcds"
    }
    /// The index in a segment file name, or nil when `name` is not one.
    public static func index(ofFileName name: String) -> Int? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".rcds") else { return nil }
        // Digits only and within the header's 32-bit index ("segment--1.rcds" is not a segment).
        let digits = name.dropFirst(8).dropLast(5)
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let index = Int(digits), index < Int(UInt32.max)
        else { return nil }
        return index
    }

    /// The 32-byte segment header.
    static func header(index: Int, observationCount: Int, actionCount: Int) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: headerBytes)
        h.withUnsafeMutableBytes { p in
            for (i, b) in magic.enumerated() { p[i] = b }
            p.storeBytes(of: UInt32(DatasetSchema.currentVersion).littleEndian, toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: UInt32(index).littleEndian, toByteOffset: 12, as: UInt32.self)
            p.storeBytes(of: UInt32(observationCount).littleEndian, toByteOffset: 16, as: UInt32.self)
            p.storeBytes(of: UInt32(actionCount).littleEndian, toByteOffset: 20, as: UInt32.self)
            let payload = TransitionLayout.payloadBytes(observationCount: observationCount, actionCount: actionCount)
            p.storeBytes(of: UInt32(payload).littleEndian, toByteOffset: 24, as: UInt32.self)
            let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: p[0..<28]))
            p.storeBytes(of: crc.littleEndian, toByteOffset: 28, as: UInt32.self)
        }
        return h
    }

    /// What a scan of one segment found.
    public struct Scan: Sendable, Equatable {
        /// Complete, CRC-valid records from the start of the file.
        public var records: Int = 0
        /// Bytes up to the end of the last valid record (header included).
        public var validBytes: Int = 0
        /// Bytes after the valid prefix, ignored (a torn or corrupted tail).
        public var droppedBytes: Int = 0
        /// Why the scan stopped early, or nil when the whole file is valid.
        public var problem: String? = nil
    }

    /// Finds the valid prefix of a segment: a good header, then records whose length is the
    /// schema's payload size and whose CRC matches. Stops at the first bad record; never reads
    /// outside `bytes`, never accepts a record that fails its checks.
    public static func scan(
        _ bytes: UnsafeRawBufferPointer, observationCount: Int, actionCount: Int
    ) -> Scan {
        var s = Scan()
        let payload = TransitionLayout.payloadBytes(observationCount: observationCount, actionCount: actionCount)
        if bytes.count < headerBytes {
            s.droppedBytes = bytes.count
            s.problem = bytes.isEmpty ? nil : "incomplete segment header (\(bytes.count) of \(headerBytes) bytes)"
            return s
        }
        let expected = header(index: 0, observationCount: observationCount, actionCount: actionCount)
        let headerCRC = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28]))
        let storedCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        let sameLayout =
            bytes[0..<12].elementsEqual(expected[0..<12]) && bytes[16..<28].elementsEqual(expected[16..<28])
        guard headerCRC == storedCRC, sameLayout else {
            s.droppedBytes = bytes.count
            s.problem = "segment header is corrupted or does not match the schema"
            return s
        }
        var offset = headerBytes
        s.validBytes = offset
        while offset < bytes.count {
            let remaining = bytes.count - offset
            if remaining < TransitionLayout.framingBytes + payload {
                s.problem = "incomplete record at byte \(offset) (\(remaining) of \(TransitionLayout.framingBytes + payload) bytes)"
                break
            }
            let length = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
            if Int(length) != payload {
                s.problem = "record at byte \(offset) has length \(length), expected \(payload)"
                break
            }
            let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<(offset + 8 + payload)])
            if CRC32.checksum(body) != crc {
                s.problem = "CRC mismatch in record at byte \(offset)"
                break
            }
            let counts = TransitionLayout.decodeCounts(body.baseAddress!)
            if counts.observation != observationCount || counts.action != actionCount {
                s.problem = "record at byte \(offset) has vector sizes that do not match the schema"
                break
            }
            offset += TransitionLayout.framingBytes + payload
            s.records += 1
            s.validBytes = offset
        }
        s.droppedBytes = bytes.count - s.validBytes
        return s
    }
}
