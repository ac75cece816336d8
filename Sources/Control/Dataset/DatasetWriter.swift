import Foundation
import Glibc
import SystemSupport

/// Appends transitions to a dataset directory (format: DATASET.md).
///
/// Creates the directory and `schema.json` if needed, and holds an exclusive `flock(2)` on
/// `dataset.lock` in it until `close` (a second writer, in this or another process, is refused
/// with a line naming the holder). Reopening an existing dataset checks the schema is
/// compatible and recovers the existing segments (reported in `recovered`): a torn tail is cut
/// off; a damaged segment (damage with valid records after it, or a bad header) is renamed to
/// `segment-NNNNNN.rcds.damaged`, never deleted, and replaced by a segment holding every record
/// of it whose CRC passes. Then it starts a new segment. Records are buffered and written with
/// `write(2)`; `fsync(2)` runs once the oldest record not yet fsynced is `Options.fsyncInterval`
/// old, as long as the owner calls `append` or `syncIfDue()` (the logger does every 2 ms), so a
/// crash loses at most that interval plus the poll and the fsync's own time.
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

    /// A segment repaired when the dataset was reopened: a torn tail cut off, or a damaged
    /// file kept aside and its valid records copied into a clean segment.
    public struct Recovery: Sendable, Equatable {
        public var segment: String
        public var keptRecords: Int
        public var droppedBytes: Int
        public var problem: String
        /// The name the damaged original was renamed to (nil: only a torn tail was cut).
        public var keptAside: String? = nil

        /// One line for the console, naming the dataset directory `directory`.
        public func message(directory: String) -> String {
            if let keptAside {
                return "\(directory)/\(segment): damaged (\(problem)); kept all \(keptRecords) valid records, \(droppedBytes) bytes unreadable; the original is kept as \(keptAside) for inspection"
            }
            return "\(directory)/\(segment): kept all \(keptRecords) records, cut a torn tail of \(droppedBytes) bytes (\(problem))"
        }
    }

    /// Name of the lock file the writer holds (`flock`) while the dataset is open.
    public static let lockFileName = "dataset.lock"

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
    /// When the oldest record not yet fsynced was appended (0: none waiting).
    private var oldestUnsyncedNanos: UInt64 = 0
    private var lockFD: Int32 = -1
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
        if !(fm.fileExists(atPath: directory, isDirectory: &isDir) && isDir.boolValue) {
            do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw .system(SystemError("mkdir", directory, errno: EACCES, fix: "check the parent directory exists and is writable"))
            }
        }
        let lock = try Self.acquireLock(directory: directory)
        var locked = true
        defer { if locked { Glibc.close(lock) } }
        if fm.fileExists(atPath: directory + "/" + DatasetSchema.fileName) {
            let onDisk = try DatasetSchema.load(directory: directory)
            guard onDisk.isCompatible(with: schema) else {
                throw .incompatibleSchema(directory, "its schema.json has other channels, task, robot or rate than this recording")
            }
            self.schema = onDisk
            existing = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).compactMap(SegmentFormat.index(ofFileName:)).sorted()
        } else {
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
        segmentIndex = (existing.last ?? -1) + 1
        do throws(SystemError) {
            for index in existing { try recover(index) }
            try openSegment()
        } catch {
            buffer.deallocate()
            scratch.deallocate()
            throw .system(error)
        }
        locked = false
        lockFD = lock
    }

    deinit {
        try? close()
        if lockFD >= 0 { Glibc.close(lockFD) }
        buffer.deallocate()
        scratch.deallocate()
    }

    /// Takes the exclusive lock on `directory/dataset.lock` and writes this process's id and
    /// name into it; refuses, naming the holder, when another writer has it.
    private static func acquireLock(directory: String) throws(DatasetError) -> Int32 {
        let path = directory + "/" + lockFileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .system(SystemError("open", path, errno: errno, fix: "check the dataset directory is writable"))
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if e == EINTR { continue }
            var holder = [UInt8](repeating: 0, count: 256)
            let n = pread(fd, &holder, holder.count, 0)
            Glibc.close(fd)
            guard e == EWOULDBLOCK else {
                throw .system(SystemError("flock", path, errno: e, fix: "use a local file system that supports flock"))
            }
            let text = String(decoding: holder.prefix(max(0, n)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw .locked(directory, text.isEmpty ? "see \(path)" : text)
        }
        let me = "pid \(getpid()), \(ProcessInfo.processInfo.processName)\n"
        _ = ftruncate(fd, 0)
        _ = me.withCString { pwrite(fd, $0, strlen($0), 0) }
        return fd
    }

    /// Recovers existing segment `index` (see the type's documentation).
    private func recover(_ index: Int) throws(SystemError) {
        let name = SegmentFormat.fileName(index)
        let path = directory + "/" + name
        let fd = try FileDescriptor.open(path, O_RDWR)
        defer { fd.close() }
        let size = try fd.size()
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { bytes.deallocate() }
        let n = try fd.read(into: bytes, at: 0)
        let raw = UnsafeRawBufferPointer(rebasing: bytes[0..<n])
        var offsets: [Int] = []
        let scan = SegmentFormat.scan(raw, observationCount: schema.observationCount, actionCount: schema.actionCount) {
            offsets.append($0)
        }
        guard scan.droppedBytes > 0 else { return }
        var recovery = Recovery(
            segment: name, keptRecords: scan.records, droppedBytes: scan.droppedBytes, problem: scan.problem ?? "trailing bytes")
        if scan.isTornTailOnly {
            try fd.truncate(to: scan.validBytes)
            try fd.sync()
        } else {
            // Damaged: keep the original aside, untouched, and put its valid records in a clean
            // segment of the same index so the order of the data is kept.
            var aside = name + ".damaged"
            var k = 1
            while access(directory + "/" + aside, F_OK) == 0 {
                aside = name + ".damaged.\(k)"
                k += 1
            }
            guard rename(path, directory + "/" + aside) == 0 else {
                throw SystemError("rename", path, errno: errno, fix: "check the dataset directory is writable")
            }
            recovery.keptAside = aside
            if !offsets.isEmpty {
                let stride = TransitionLayout.framingBytes + payloadBytes
                let tmp = path + ".tmp"
                let out = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_TRUNC)
                do throws(SystemError) {
                    let header = SegmentFormat.header(
                        index: index, observationCount: schema.observationCount, actionCount: schema.actionCount)
                    let clean = UnsafeMutableRawBufferPointer.allocate(byteCount: header.count + offsets.count * stride, alignment: 16)
                    defer { clean.deallocate() }
                    clean.copyBytes(from: header)
                    for (i, o) in offsets.enumerated() {
                        UnsafeMutableRawBufferPointer(rebasing: clean[(header.count + i * stride)...])
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[o..<(o + stride)]))
                    }
                    try out.writeAll(UnsafeRawBufferPointer(clean))
                    try out.sync()
                } catch {
                    out.close()
                    throw error
                }
                out.close()
                guard rename(tmp, path) == 0 else {
                    throw SystemError("rename", tmp, errno: errno, fix: "check the dataset directory is writable")
                }
            }
            try FileDescriptor.syncDirectory(directory)
        }
        recovered.append(recovery)
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
            if buffered == 0 && writtenNotSynced == 0 { oldestUnsyncedNanos = monotonicNanos() }
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

    /// Writes buffered records and fsyncs once the oldest record not yet fsynced was appended
    /// `fsyncInterval` ago (nothing to do when every record is durable).
    public func syncIfDue() throws(SystemError) {
        guard buffered > 0 || writtenNotSynced > 0 else { return }
        let due = UInt64(options.fsyncInterval * 1e9)
        if monotonicNanos() &- oldestUnsyncedNanos >= due { try sync() }
    }

    /// Writes buffered records and fsyncs the segment now.
    public func sync() throws(SystemError) {
        try writeBuffer()
        if let fd, writtenNotSynced > 0 { try fd.sync() }
        recordsDurable += writtenNotSynced
        writtenNotSynced = 0
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

    /// Writes, fsyncs and closes, then releases the dataset's lock. Further appends fail.
    public func close() throws(SystemError) {
        guard let fd else { return }
        defer {
            fd.close()
            self.fd = nil
            if lockFD >= 0 {
                Glibc.close(lockFD)
                lockFD = -1
            }
        }
        try sync()
    }
}
