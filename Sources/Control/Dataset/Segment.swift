import SystemSupport
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
        /// Complete, CRC-valid records anywhere in the file (resynchronised past damage).
        public var records: Int = 0
        /// Bytes up to the end of the last valid record (the header, if valid, when none).
        public var validBytes: Int = 0
        /// Every byte that is neither a valid header nor a valid record: `skippedBytes` +
        /// `tailBytes`.
        public var droppedBytes: Int = 0
        /// Bytes after the last valid record (a torn tail after a crash, or trailing damage).
        public var tailBytes: Int = 0
        /// Bytes of damage between valid records (a corrupted header or record that has valid
        /// records after it). Non-zero means the segment is damaged, not merely torn.
        public var skippedBytes: Int = 0
        /// False when the 32-byte header is missing, corrupted or of another layout.
        public var headerValid: Bool = false
        /// What was wrong, or nil when the whole file is valid.
        public var problem: String? = nil

        /// True when only a torn tail (or nothing) is wrong: the valid records are one prefix.
        public var isTornTailOnly: Bool { headerValid && skippedBytes == 0 }
    }

    /// Scans a segment: its header, then every record whose length is the schema's payload
    /// size, whose CRC matches and whose vector sizes match. After a bad record it resyncs at
    /// the next offset where a complete valid frame starts, so one damaged record never hides
    /// the intact records after it; a damaged header is skipped the same way. Calls `record`
    /// with the byte offset of each valid record's framing, in order. Never reads outside
    /// `bytes`, never accepts a record that fails its checks.
    public static func scan(
        _ bytes: UnsafeRawBufferPointer, observationCount: Int, actionCount: Int, record: (Int) -> Void = { _ in }
    ) -> Scan {
        var s = Scan()
        let payload = TransitionLayout.payloadBytes(observationCount: observationCount, actionCount: actionCount)
        let stride = TransitionLayout.framingBytes + payload
        if bytes.count < headerBytes {
            s.droppedBytes = bytes.count
            s.tailBytes = bytes.count
            s.problem = bytes.isEmpty ? nil : "incomplete segment header (\(bytes.count) of \(headerBytes) bytes)"
            return s
        }
        let expected = header(index: 0, observationCount: observationCount, actionCount: actionCount)
        let headerCRC = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28]))
        let storedCRC = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        s.headerValid = headerCRC == storedCRC
            && bytes[0..<12].elementsEqual(expected[0..<12]) && bytes[16..<28].elementsEqual(expected[16..<28])

        /// Why no valid record starts at `offset`, or nil when one does.
        func defect(at offset: Int) -> String? {
            let remaining = bytes.count - offset
            if remaining < stride { return "incomplete record at byte \(offset) (\(remaining) of \(stride) bytes)" }
            let length = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            if Int(length) != payload { return "record at byte \(offset) has length \(length), expected \(payload)" }
            let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
            let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<(offset + stride)])
            if CRC32.checksum(body) != crc { return "CRC mismatch in record at byte \(offset)" }
            let counts = TransitionLayout.decodeCounts(body.baseAddress!)
            if counts.observation != observationCount || counts.action != actionCount {
                return "record at byte \(offset) has vector sizes that do not match the schema"
            }
            return nil
        }
        /// The next offset after `offset` where a valid record starts, if any.
        func resync(after offset: Int) -> Int? {
            var o = offset + 1
            while o + stride <= bytes.count {
                if Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self))) == payload,
                    defect(at: o) == nil
                {
                    return o
                }
                o += 1
            }
            return nil
        }

        var offset = headerBytes
        var goodEnd = s.headerValid ? headerBytes : 0
        if !s.headerValid { s.problem = "segment header is corrupted or does not match the schema" }
        // A damaged header: records may still follow it.
        var damageStart: Int? = s.headerValid ? nil : 0
        while offset < bytes.count {
            if let why = defect(at: offset) {
                if s.problem == nil { s.problem = why }
                if damageStart == nil { damageStart = offset }
                guard let next = resync(after: offset) else { break }
                offset = next
                continue
            }
            if let d = damageStart {
                s.skippedBytes += offset - d
                damageStart = nil
            }
            record(offset)
            offset += stride
            s.records += 1
            goodEnd = offset
        }
        s.validBytes = goodEnd
        s.tailBytes = bytes.count - goodEnd
        s.droppedBytes = s.skippedBytes + s.tailBytes
        if s.skippedBytes > 0, let p = s.problem {
            s.problem = p + "; \(s.skippedBytes) damaged bytes skipped, the \(s.records) valid records around them kept"
        }
        return s
    }
}
