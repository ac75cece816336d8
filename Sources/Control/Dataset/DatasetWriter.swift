import Foundation
import Glibc

/// Appends transitions to a dataset directory (format: DATASET.md).
///
/// Creates the directory and `schema.json` if needed. Reopening an existing dataset checks the
/// schema is compatible, cuts any torn tail off the existing segments (reported in
/// `recovered`) and starts a new segment. Records are buffered and written with `write(2)`;
/// `fsync(2)` runs at least every `Options.fsyncInterval` of wall time as long as the owner
/// calls `append` or `syncIfDue()`, so a crash loses at most that much.
///
/// Thread contract: one owner thread (the logger thread, or a tool). Not real-time safe: it
/// writes files and throws.
public final class DatasetWriter {
    public struct Options: Sendable {
        /// Longest time between fsyncs, seconds (≤ 1 s keeps crash loss bounded).
        public var fsyncInterval: Double = 0.5
        /// Start a new segment once the current one reaches this size.
        public var segmentBytes: Int = 64 << 20
        /// User-space buffer before a `write(2)`.
        public var bufferBytes: Int = 64 << 10
        public init(fsyncInterval: Double = 0.5, segmentBytes: Int = 64 << 20, bufferBytes: Int = 64 << 10) {
            self.fsyncInterval = fsyncInterval
            self.segmentBytes = segmentBytes
            self.bufferBytes = bufferBytes
        }
    }

    /// A segment whose torn tail was cut off when the dataset was reopened.
    public struct Recovery: Sendable, Equatable {
        public var segment: String
        public var keptRecords: Int
        public var droppedBytes: Int
        public var problem: String
    }

    public let directory: String
    public let schema: DatasetSchema
    public let options: Options
    /// Torn tails cut off at open (empty after a clean shutdown).
    public private(set) var recovered: [Recovery] = []
    /// Records appended through this writer.
    public private(set) var recordsAppended = 0
    /// Records known to be on disk (fsync returned after they were written).
    public private(set) var recordsDurable = 0
    /// Index of the segment being written.
    public private(set) var segmentIndex: Int

    private var fd: FileDescriptor?
    private var segmentSize = 0
    private let buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    private var bufferedRecords = 0
    private var writtenNotSynced = 0
    private var lastSyncNanos: UInt64
    private let payloadBytes: Int
    private let scratch: UnsafeMutableRawBufferPointer

    public init(directory: String, schema: DatasetSchema, options: Options = Options()) throws(DatasetError) {
        try schema.validate(file: directory + "/" + DatasetSchema.fileName)
        self.directory = directory
        self.options = options
        self.payloadBytes = schema.payloadBytes
        let fm = FileManager.default
        var isDir: ObjCBool = false
        var existing: [Int] = []
        if fm.fileExists(atPath: directory + "/" + DatasetSchema.fileName) {
            let onDisk = try DatasetSchema.load(directory: directory)
            guard onDisk.isCompatible(with: schema) else {
                throw .incompatibleSchema(directory, "its schema.json has other channels, task, robot or rate than this recording")
            }
            self.schema = onDisk
            existing = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).compactMap(SegmentFormat.index(ofFileName:)).sorted()
        } else {
            if !(fm.fileExists(atPath: directory, isDirectory: &isDir) && isDir.boolValue) {
                do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                    throw .system(SystemError("mkdir", directory, errno: EACCES, fix: "check the parent directory exists and is writable"))
                }
            }
            self.schema = schema
            do {
                let data = try schema.encoded()
                let tmp = directory + "/" + DatasetSchema.fileName + ".tmp"
                try data.write(to: URL(fileURLWithPath: tmp))
                let fd = try FileDescriptor.open(tmp, O_RDONLY)
                try fd.sync()
                fd.close()
                guard rename(tmp, directory + "/" + DatasetSchema.fileName) == 0 else {
                    throw SystemError("rename", tmp, errno: errno)
                }
                try FileDescriptor.syncDirectory(directory)
            } catch let e as SystemError {
                throw .system(e)
            } catch {
                throw .invalidSchema(directory + "/" + DatasetSchema.fileName, "cannot write it (\(error))")
            }
        }
        buffer = .allocate(byteCount: max(options.bufferBytes, 2 * (payloadBytes + 8)), alignment: 16)
        scratch = .allocate(byteCount: payloadBytes, alignment: 16)
        lastSyncNanos = monotonicNanos()
        segmentIndex = (existing.last ?? -1) + 1
        do throws(SystemError) {
            for index in existing { try recoverTail(of: index) }
            try openSegment()
        } catch {
            buffer.deallocate()
            scratch.deallocate()
            throw .system(error)
        }
    }

    deinit {
        try? close()
        buffer.deallocate()
        scratch.deallocate()
    }

    private func recoverTail(of index: Int) throws(SystemError) {
        let path = directory + "/" + SegmentFormat.fileName(index)
        let fd = try FileDescriptor.open(path, O_RDWR)
        defer { fd.close() }
        let size = try fd.size()
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { bytes.deallocate() }
        let n = try fd.read(into: bytes, at: 0)
        let scan = SegmentFormat.scan(
            UnsafeRawBufferPointer(rebasing: bytes[0..<n]), observationCount: schema.observationCount,
            actionCount: schema.actionCount)
        if scan.droppedBytes > 0 {
            // A segment whose header is unreadable keeps its bytes for forensics; readers skip it.
            if scan.validBytes >= SegmentFormat.headerBytes {
                try fd.truncate(to: scan.validBytes)
                try fd.sync()
            }
            recovered.append(Recovery(
                segment: SegmentFormat.fileName(index), keptRecords: scan.records,
                droppedBytes: scan.droppedBytes, problem: scan.problem ?? "trailing bytes"))
        }
    }

    private func openSegment() throws(SystemError) {
        let path = directory + "/" + SegmentFormat.fileName(segmentIndex)
        let fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND)
        let header = SegmentFormat.header(
            index: segmentIndex, observationCount: schema.observationCount, actionCount: schema.actionCount)
        do throws(SystemError) {
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: header.count, alignment: 16)
            defer { raw.deallocate() }
            raw.copyBytes(from: header)
            try fd.writeAll(UnsafeRawBufferPointer(raw))
            try fd.sync()
            try FileDescriptor.syncDirectory(directory)
        } catch {
            fd.close()
            throw error
        }
        self.fd = fd
        segmentSize = header.count
    }

    /// Appends an already encoded payload (`TransitionLayout`), e.g. one taken from the
    /// transition ring. Syncs when the fsync interval has passed.
    public func appendPayload(_ payload: UnsafeRawBufferPointer) throws(DatasetError) {
        guard payload.count == payloadBytes else {
            throw .vectorSize("payload has \(payload.count) bytes, the schema needs \(payloadBytes)")
        }
        guard fd != nil else {
            throw .system(SystemError("write", directory, errno: EBADF, fix: "the dataset writer was closed"))
        }
        let counts = TransitionLayout.decodeCounts(payload.baseAddress!)
        guard counts.observation == schema.observationCount, counts.action == schema.actionCount else {
            throw .vectorSize("payload holds \(counts.observation)+\(counts.action) values, the schema needs \(schema.observationCount)+\(schema.actionCount)")
        }
        do throws(SystemError) {
            let framed = TransitionLayout.framingBytes + payloadBytes
            if segmentSize + buffered + framed > options.segmentBytes && segmentSize + buffered > SegmentFormat.headerBytes {
                try rollSegment()
            }
            if buffered + framed > buffer.count { try writeBuffer() }
            let p = buffer.baseAddress! + buffered
            p.storeBytes(of: UInt32(payloadBytes).littleEndian, as: UInt32.self)
            p.storeBytes(of: CRC32.checksum(payload).littleEndian, toByteOffset: 4, as: UInt32.self)
            (p + 8).copyMemory(from: payload.baseAddress!, byteCount: payloadBytes)
            buffered += framed
            bufferedRecords += 1
            recordsAppended += 1
            try syncIfDue()
        } catch {
            throw .system(error)
        }
    }

    /// Appends one transition given as raw vectors.
    public func append(
        _ header: TransitionHeader, observation: UnsafeBufferPointer<Float>, action: UnsafeBufferPointer<Float>
    ) throws(DatasetError) {
        guard observation.count == schema.observationCount, action.count == schema.actionCount else {
            throw .vectorSize("got \(observation.count) observation and \(action.count) action values, the schema has \(schema.observationCount) and \(schema.actionCount)")
        }
        TransitionLayout.encode(
            header, observation: observation.baseAddress!, observationCount: observation.count,
            action: action.baseAddress!, actionCount: action.count, into: scratch.baseAddress!)
        try appendPayload(UnsafeRawBufferPointer(scratch))
    }

    /// Appends one transition.
    public func append(_ t: Transition) throws(DatasetError) {
        try t.observation.withUnsafeBufferPointer { (o) throws(DatasetError) in
            try t.action.withUnsafeBufferPointer { (a) throws(DatasetError) in try append(t.header, observation: o, action: a) }
        }
    }

    /// Writes buffered records and fsyncs if `fsyncInterval` has passed since the last fsync.
    public func syncIfDue() throws(SystemError) {
        let due = UInt64(options.fsyncInterval * 1e9)
        if monotonicNanos() &- lastSyncNanos >= due { try sync() }
    }

    /// Writes buffered records and fsyncs the segment now.
    public func sync() throws(SystemError) {
        try writeBuffer()
        if let fd, writtenNotSynced > 0 { try fd.sync() }
        recordsDurable += writtenNotSynced
        writtenNotSynced = 0
        lastSyncNanos = monotonicNanos()
    }

    private func writeBuffer() throws(SystemError) {
        guard buffered > 0, let fd else { return }
        try fd.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]))
        segmentSize += buffered
        writtenNotSynced += bufferedRecords
        buffered = 0
        bufferedRecords = 0
    }

    private func rollSegment() throws(SystemError) {
        try sync()
        fd?.close()
        fd = nil
        segmentIndex += 1
        try openSegment()
    }

    /// Writes, fsyncs and closes. Further appends fail.
    public func close() throws(SystemError) {
        guard let fd else { return }
        try sync()
        fd.close()
        self.fd = nil
    }
}
