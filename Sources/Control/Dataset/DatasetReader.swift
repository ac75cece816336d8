import Foundation
import SystemSupport

/// Reads a dataset directory (format: DATASET.md), tolerating crashes and corruption.
///
/// Opening scans every segment and keeps every complete record whose length and CRC-32 check
/// out, resynchronising after a damaged record (`SegmentFormat.scan`). A torn tail after a
/// crash and damaged bytes are skipped and counted in `droppedBytes`; no record that fails its
/// checks is ever returned. The reader never modifies the files.
///
/// Thread contract: immutable after `init`; safe to share between threads.
public struct DatasetReader: Sendable {
    /// One segment file as found on disk.
    public struct Segment: Sendable {
        public var name: String
        public var scan: SegmentFormat.Scan
        /// The segment's valid records, framing included, back to back (header and damage stripped).
        let records: [UInt8]
    }

    public let directory: String
    public let schema: DatasetSchema
    public let segments: [Segment]

    /// Valid records over all segments.
    public var transitionCount: Int { segments.reduce(0) { $0 + $1.scan.records } }
    /// Bytes skipped over all segments (torn tails, corruption).
    public var droppedBytes: Int { segments.reduce(0) { $0 + $1.scan.droppedBytes } }

    /// Largest segment file read into memory (the writer rolls over at 64 MiB by default): a
    /// bigger, e.g. sparse, file is refused instead of allocated.
    public static let maximumSegmentBytes = 4 << 30

    public init(directory: String) throws(DatasetError) {
        self.directory = directory
        let schema = try DatasetSchema.load(directory: directory)
        self.schema = schema
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw .system(SystemError("opendir", directory, errno: ENOENT))
        }
        let indices = names.compactMap(SegmentFormat.index(ofFileName:)).sorted()
        var segments: [Segment] = []
        for index in indices {
            let name = SegmentFormat.fileName(index)
            let path = directory + "/" + name
            var bytes: [UInt8] = []
            var oversized: Int?
            do throws(SystemError) {
                let fd = try FileDescriptor.open(path, O_RDONLY)
                defer { fd.close() }
                let size = try fd.size()
                if size > DatasetReader.maximumSegmentBytes {
                    oversized = size
                } else {
                    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
                    defer { buf.deallocate() }
                    let n = try fd.read(into: buf, at: 0)
                    bytes = Array(buf[0..<n])
                }
            } catch {
                throw .system(error)
            }
            if let oversized {
                throw .invalidSchema(
                    path, "is \(oversized) bytes, more than any segment robotctl writes (limit \(DatasetReader.maximumSegmentBytes)); move it out of the dataset directory")
            }
            let stride = TransitionLayout.framingBytes + schema.payloadBytes
            var body: [UInt8] = []
            let scan = bytes.withUnsafeBytes { raw in
                SegmentFormat.scan(raw, observationCount: schema.observationCount, actionCount: schema.actionCount) { offset in
                    body.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + stride)]))
                }
            }
            segments.append(Segment(name: name, scan: scan, records: body))
        }
        self.segments = segments
    }

    /// Calls `body` with every valid transition, in file order. The buffers are valid only
    /// during the call.
    public func forEach(
        _ body: (TransitionHeader, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>) throws -> Void
    ) rethrows {
        let n = schema.observationCount
        let m = schema.actionCount
        let obs = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        let act = UnsafeMutableBufferPointer<Float>.allocate(capacity: m)
        defer {
            obs.deallocate()
            act.deallocate()
        }
        let stride = TransitionLayout.framingBytes + schema.payloadBytes
        for segment in segments {
            try segment.records.withUnsafeBytes { raw in
                var offset = 0
                while offset + stride <= raw.count {
                    let p = raw.baseAddress! + offset + TransitionLayout.framingBytes
                    for i in 0..<n { obs[i] = TransitionLayout.decodeFloat(p, index: i) }
                    for i in 0..<m { act[i] = TransitionLayout.decodeFloat(p, index: n + i) }
                    try body(TransitionLayout.decodeHeader(p), UnsafeBufferPointer(obs), UnsafeBufferPointer(act))
                    offset += stride
                }
            }
        }
    }

    /// Every valid transition (allocates one array per vector).
    public func transitions() -> [Transition] {
        var out: [Transition] = []
        out.reserveCapacity(transitionCount)
        forEach { h, o, a in out.append(Transition(header: h, observation: Array(o), action: Array(a))) }
        return out
    }
}
