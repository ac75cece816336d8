// A writer of MCAP files (https://mcap.dev/spec, major version 0): magic, Header, Schema and
// Channel records in the data section, Message records in uncompressed Chunks each followed
// by its Message Index records, Metadata, Data End with the data-section CRC, then a Summary
// (schemas, channels, statistics, chunk and metadata indexes), Summary Offsets, Footer with
// the summary CRC, and the closing magic. Readers such as the `mcap` Python package,
// Foxglove and PlotJuggler open it with or without the index.
//
// Thread contract: one thread at a time (the logger or trainer side, never the control
// thread: it allocates, does I/O and throws). Set-up code.

import Foundation

/// Writes one MCAP file. The file appears under its final name only when `finish()`
/// succeeds (it is written as `<path>.partial` and renamed), so a reader never sees half a file.
public final class MCAPWriter {
    /// The 8 bytes an MCAP file starts and ends with: 0x89 "MCAP" '0' "\r\n".
    public static let magic: [UInt8] = [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A]

    enum Opcode: UInt8 {
        case header = 0x01, footer = 0x02, schema = 0x03, channel = 0x04, message = 0x05, chunk = 0x06
        case messageIndex = 0x07, chunkIndex = 0x08, statistics = 0x0B, metadata = 0x0C, metadataIndex = 0x0D
        case summaryOffset = 0x0E, dataEnd = 0x0F
    }

    public let path: String
    private let partialPath: String
    private let handle: FileHandle
    /// Bytes not yet handed to the file, and how many were written before them.
    private var pending: [UInt8] = []
    private var offset: UInt64 = 0
    private var dataCRC = CRC32Accumulator()
    private let chunkTarget: Int
    private var finished = false
    /// Set just before Data End: later bytes are not part of the data-section CRC.
    private var dataSectionDone = false

    private var schemaRecords: [[UInt8]] = []
    private var channelRecords: [[UInt8]] = []
    private var sequences: [UInt16: UInt32] = [:]
    private var messageCounts: [UInt16: UInt64] = [:]
    private var metadataIndex: [(offset: UInt64, length: UInt64, name: String)] = []

    // The chunk being filled.
    private var chunk: [UInt8] = []
    private var chunkIndex: [UInt16: [(time: UInt64, offset: UInt64)]] = [:]
    private var chunkStart = UInt64.max, chunkEnd: UInt64 = 0
    private var chunkIndexRecords: [[UInt8]] = []

    private var messageCount: UInt64 = 0
    private var firstTime = UInt64.max, lastTime: UInt64 = 0

    /// Creates `path` (through `<path>.partial`) and writes the magic and the Header record.
    /// `chunkBytes` is the uncompressed size at which a chunk is closed.
    public init(path: String, profile: String = "", library: String = "robotctl Reporting.MCAPWriter",
                chunkBytes: Int = 1 << 20) throws {
        self.path = path
        partialPath = path + ".partial"
        chunkTarget = max(1024, chunkBytes)
        guard FileManager.default.createFile(atPath: partialPath, contents: nil),
            let h = FileHandle(forWritingAtPath: partialPath)
        else {
            throw ReportError.cannotWrite(file: path, reason: "cannot be created")
        }
        handle = h
        emit(Self.magic)
        var header = RecordBuilder()
        header.string(profile)
        header.string(library)
        emit(header.record(.header))
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: partialPath)
        }
    }

    /// Adds a Schema record and returns its id (1, 2, …). `encoding` is e.g. "jsonschema".
    public func addSchema(name: String, encoding: String, data: [UInt8]) throws -> UInt16 {
        try checkOpen()
        let id = UInt16(schemaRecords.count + 1)
        var r = RecordBuilder()
        r.u16(id)
        r.string(name)
        r.string(encoding)
        r.u32(UInt32(data.count))
        r.bytes(data)
        let record = r.record(.schema)
        schemaRecords.append(record)
        emit(record)
        try flushIfLarge()
        return id
    }

    /// Adds a Channel record on `topic` and returns its id (0, 1, …).
    public func addChannel(topic: String, messageEncoding: String, schemaID: UInt16,
                           metadata: [(key: String, value: String)] = []) throws -> UInt16 {
        try checkOpen()
        let id = UInt16(channelRecords.count)
        var r = RecordBuilder()
        r.u16(id)
        r.u16(schemaID)
        r.string(topic)
        r.string(messageEncoding)
        r.stringMap(metadata)
        let record = r.record(.channel)
        channelRecords.append(record)
        messageCounts[id] = 0
        emit(record)
        try flushIfLarge()
        return id
    }

    /// Adds a Metadata record (name and key/value pairs) to the data section.
    public func addMetadata(name: String, _ entries: [(key: String, value: String)]) throws {
        try checkOpen()
        try closeChunk()
        var r = RecordBuilder()
        r.string(name)
        r.stringMap(entries)
        let record = r.record(.metadata)
        metadataIndex.append((offset, UInt64(record.count), name))
        emit(record)
        try flushIfLarge()
    }

    /// Appends one message on `channel` (from `addChannel`) at `logTime` (ns). The sequence
    /// number counts the channel's messages from 0.
    public func write(channel: UInt16, logTime: UInt64, publishTime: UInt64? = nil, data: [UInt8]) throws {
        try checkOpen()
        guard let count = messageCounts[channel] else {
            preconditionFailure("MCAPWriter: channel \(channel) was not added")
        }
        let sequence = sequences[channel, default: 0]
        sequences[channel] = sequence &+ 1
        messageCounts[channel] = count + 1
        var r = RecordBuilder(capacity: 22 + data.count)
        r.u16(channel)
        r.u32(sequence)
        r.u64(logTime)
        r.u64(publishTime ?? logTime)
        r.bytes(data)
        chunkIndex[channel, default: []].append((logTime, UInt64(chunk.count)))
        chunk += r.record(.message)
        chunkStart = min(chunkStart, logTime)
        chunkEnd = max(chunkEnd, logTime)
        firstTime = min(firstTime, logTime)
        lastTime = max(lastTime, logTime)
        messageCount += 1
        if chunk.count >= chunkTarget { try closeChunk() }
    }

    /// Writes the last chunk, Data End, the summary and the footer, and renames the file into
    /// place. Returns the number of messages written.
    @discardableResult
    public func finish() throws -> UInt64 {
        try checkOpen()
        try closeChunk()
        var end = RecordBuilder()
        end.u32(dataCRC.value)
        dataSectionDone = true
        emit(end.record(.dataEnd))

        // Summary: groups by opcode, each remembered for the Summary Offset section.
        let summaryStart = offset
        var summaryCRC = CRC32Accumulator()
        var groups: [(Opcode, UInt64, UInt64)] = []
        func group(_ op: Opcode, _ records: [[UInt8]]) {
            guard !records.isEmpty else { return }
            let start = offset
            for rec in records {
                summaryCRC.update(rec)
                emit(rec)
            }
            groups.append((op, start, offset - start))
        }
        group(.schema, schemaRecords)
        group(.channel, channelRecords)
        var stats = RecordBuilder()
        stats.u64(messageCount)
        stats.u16(UInt16(schemaRecords.count))
        stats.u32(UInt32(channelRecords.count))
        stats.u32(0)  // attachments
        stats.u32(UInt32(metadataIndex.count))
        stats.u32(UInt32(chunkIndexRecords.count))
        stats.u64(messageCount == 0 ? 0 : firstTime)
        stats.u64(messageCount == 0 ? 0 : lastTime)
        var counts = RecordBuilder()
        for id in messageCounts.keys.sorted() {
            counts.u16(id)
            counts.u64(messageCounts[id]!)
        }
        stats.u32(UInt32(counts.bytes.count))
        stats.bytes(counts.bytes)
        group(.statistics, [stats.record(.statistics)])
        group(.chunkIndex, chunkIndexRecords)
        group(.metadataIndex, metadataIndex.map { m in
            var r = RecordBuilder()
            r.u64(m.offset)
            r.u64(m.length)
            r.string(m.name)
            return r.record(.metadataIndex)
        })
        let summaryOffsetStart = offset
        for (op, start, length) in groups {
            var r = RecordBuilder()
            r.u8(op.rawValue)
            r.u64(start)
            r.u64(length)
            let rec = r.record(.summaryOffset)
            summaryCRC.update(rec)
            emit(rec)
        }
        // The summary CRC covers the footer up to and including summary_offset_start.
        var footer: [UInt8] = [Opcode.footer.rawValue] + littleEndian(UInt64(20))
        footer += littleEndian(summaryStart) + littleEndian(summaryOffsetStart)
        summaryCRC.update(footer)
        emit(footer + littleEndian(summaryCRC.value))
        emit(Self.magic)
        try flush()
        do {
            try handle.synchronize()
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: partialPath, toPath: path)
        } catch {
            throw ReportError.cannotWrite(file: path, reason: "cannot be completed (\((error as NSError).localizedDescription))")
        }
        finished = true
        return messageCount
    }

    // MARK: Internals

    private func checkOpen() throws {
        if finished { throw ReportError.cannotWrite(file: path, reason: "is already finished; start a new MCAPWriter") }
    }

    /// Writes the chunk being filled (if any) and its Message Index records.
    private func closeChunk() throws {
        guard !chunk.isEmpty else { return }
        let chunkOffset = offset
        var c = RecordBuilder(capacity: chunk.count + 48)
        c.u64(chunkStart)
        c.u64(chunkEnd)
        c.u64(UInt64(chunk.count))
        var crc = CRC32Accumulator()
        crc.update(chunk)
        c.u32(crc.value)
        c.string("")
        c.u64(UInt64(chunk.count))
        c.bytes(chunk)
        let chunkRecord = c.record(.chunk)
        emit(chunkRecord)
        let indexStart = offset
        var indexOffsets: [(UInt16, UInt64)] = []
        for id in chunkIndex.keys.sorted() {
            var m = RecordBuilder()
            m.u16(id)
            let entries = chunkIndex[id]!
            m.u32(UInt32(entries.count * 16))
            for e in entries {
                m.u64(e.time)
                m.u64(e.offset)
            }
            indexOffsets.append((id, offset))
            emit(m.record(.messageIndex))
        }
        var ci = RecordBuilder()
        ci.u64(chunkStart)
        ci.u64(chunkEnd)
        ci.u64(chunkOffset)
        ci.u64(UInt64(chunkRecord.count))
        ci.u32(UInt32(indexOffsets.count * 10))
        for (id, o) in indexOffsets {
            ci.u16(id)
            ci.u64(o)
        }
        ci.u64(offset - indexStart)
        ci.string("")
        ci.u64(UInt64(chunk.count))
        ci.u64(UInt64(chunk.count))
        chunkIndexRecords.append(ci.record(.chunkIndex))
        chunk.removeAll(keepingCapacity: true)
        chunkIndex.removeAll(keepingCapacity: true)
        chunkStart = .max
        chunkEnd = 0
        try flushIfLarge()
    }

    /// Appends bytes to the file (through the pending buffer); data-section bytes feed its CRC.
    private func emit(_ bytes: [UInt8]) {
        if !dataSectionDone { dataCRC.update(bytes) }
        pending += bytes
        offset += UInt64(bytes.count)
    }

    private func flushIfLarge() throws { if pending.count >= 1 << 20 { try flush() } }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        do { try handle.write(contentsOf: pending) } catch {
            throw ReportError.cannotWrite(file: path, reason: "write failed (\((error as NSError).localizedDescription)); check the free space")
        }
        pending.removeAll(keepingCapacity: true)
    }
}

/// Little-endian field serialisation of one record's content (MCAP "Serialization").
struct RecordBuilder {
    var bytes: [UInt8] = []
    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += littleEndian(v) }
    mutating func u32(_ v: UInt32) { bytes += littleEndian(v) }
    mutating func u64(_ v: UInt64) { bytes += littleEndian(v) }
    mutating func bytes(_ b: [UInt8]) { bytes += b }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes += utf8
    }
    mutating func stringMap(_ entries: [(key: String, value: String)]) {
        var body = RecordBuilder()
        for (k, v) in entries {
            body.string(k)
            body.string(v)
        }
        u32(UInt32(body.bytes.count))
        bytes += body.bytes
    }
    /// `<opcode><u64 content length><content>`.
    func record(_ op: MCAPWriter.Opcode) -> [UInt8] {
        var out: [UInt8] = [op.rawValue]
        out.reserveCapacity(9 + bytes.count)
        out += littleEndian(UInt64(bytes.count))
        out += bytes
        return out
    }
}

func littleEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
}

/// CRC-32 (zlib/PNG: reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF), as MCAP
/// uses for chunks, the data section and the summary.
struct CRC32Accumulator {
    private var state: UInt32 = 0xFFFF_FFFF
    var value: UInt32 { state ^ 0xFFFF_FFFF }

    static let table: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    mutating func update(_ bytes: [UInt8]) {
        var c = state
        Self.table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        state = c
    }
}
