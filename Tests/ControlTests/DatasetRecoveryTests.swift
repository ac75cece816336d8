@testable import Control
import Foundation
import Glibc
import Testing
import TestSupport
import SystemSupport

/// Writes `count` synthetic records (ticks 0..<count) into a new dataset at `dir`.
private func writeSynthetic(_ dir: String, count: Int, options: DatasetWriter.Options = .init()) throws {
    let w = try DatasetWriter(directory: dir, schema: testSchema(), options: options)
    for i in 0..<count { try w.append(syntheticTransition(tick: UInt64(i))) }
    try w.close()
}

private func flipBit(_ path: String, at offset: Int) throws {
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    bytes[offset] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

@Suite("Dataset recovery, lock and durability", .serialized)
struct DatasetRecoveryTests {
    static let stride = 8 + testSchema().payloadBytes

    @Test("a flipped bit in the middle of a segment loses one record: reopening keeps the other 4999 and the damaged file")
    func flippedBitKeepsIntactRecords() throws {
        let dir = makeTemporaryDirectory("flip")
        defer { removeTemporaryDirectory(dir) }
        try writeSynthetic(dir, count: 5000)
        let path = dir + "/segment-000000.rcds"
        let damaged = 1234
        try flipBit(path, at: 32 + damaged * Self.stride + 20)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))

        let reader = try DatasetReader(directory: dir)
        #expect(reader.transitionCount == 4999, "the reader resyncs after the damaged record")
        #expect(reader.droppedBytes == Self.stride)
        #expect(reader.segments[0].scan.skippedBytes == Self.stride && !reader.segments[0].scan.isTornTailOnly)

        let w = try DatasetWriter(directory: dir, schema: testSchema())
        try w.append(syntheticTransition(tick: 5000))
        try w.close()
        let r = try #require(w.recovered.first)
        #expect(w.recovered.count == 1)
        #expect(r.keptRecords == 4999 && r.droppedBytes == Self.stride && r.keptAside == "segment-000000.rcds.damaged")
        let line = r.message(directory: dir)
        #expect(line.contains("segment-000000.rcds") && line.contains("4999") && line.contains(".damaged") && !line.contains("\n"))
        // The damaged original is kept byte for byte; nothing was deleted.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".damaged")) == original)
        let after = try DatasetReader(directory: dir)
        let expected = (0...5000).filter { $0 != damaged }.map { syntheticTransition(tick: UInt64($0)) }
        #expect(after.transitions() == expected)
        #expect(after.droppedBytes == 0, "the clean copy holds only valid records")
    }

    @Test("a corrupted segment header hides no record: all are kept and the original is kept aside")
    func damagedHeader() throws {
        let dir = makeTemporaryDirectory("hdr")
        defer { removeTemporaryDirectory(dir) }
        try writeSynthetic(dir, count: 100)
        try flipBit(dir + "/segment-000000.rcds", at: 13)
        #expect(try DatasetReader(directory: dir).transitionCount == 100)
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        try w.close()
        #expect(w.recovered.first?.keptAside == "segment-000000.rcds.damaged")
        let r = try DatasetReader(directory: dir)
        #expect(r.transitions() == (0..<100).map { syntheticTransition(tick: UInt64($0)) } && r.droppedBytes == 0)
    }

    @Test("only a torn tail is cut, with its size in bytes; nothing is kept aside")
    func tornTailOnly() throws {
        let dir = makeTemporaryDirectory("torn")
        defer { removeTemporaryDirectory(dir) }
        try writeSynthetic(dir, count: 50)
        let path = dir + "/segment-000000.rcds"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 17).write(to: URL(fileURLWithPath: path))
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        try w.close()
        let r = try #require(w.recovered.first)
        #expect(r.keptRecords == 49 && r.droppedBytes == Self.stride - 17 && r.keptAside == nil)
        #expect(r.message(directory: dir).contains("torn tail of \(Self.stride - 17) bytes"))
        #expect(!FileManager.default.fileExists(atPath: path + ".damaged"))
        #expect(try DatasetReader(directory: dir).transitionCount == 49)
    }

    @Test("a second writer on the same dataset is refused with one line naming the holder; after close it opens")
    func exclusiveLock() throws {
        let dir = makeTemporaryDirectory("lock")
        defer { removeTemporaryDirectory(dir) }
        let first = try DatasetWriter(directory: dir, schema: testSchema())
        do {
            _ = try DatasetWriter(directory: dir, schema: testSchema())
            Issue.record("a second writer opened a locked dataset")
        } catch {
            let line = error.description
            #expect(error == .locked(dir, "pid \(getpid()), \(ProcessInfo.processInfo.processName)"))
            #expect(line.contains(dir) && line.contains("pid \(getpid())") && line.contains("another directory") && !line.contains("\n"))
        }
        try first.close()
        let second = try DatasetWriter(directory: dir, schema: testSchema())
        try second.close()
    }

    @Test("a record with a NaN or an infinity is flagged nonFinite when encoded and never becomes a transition")
    func nonFiniteFlagged() throws {
        let dir = makeTemporaryDirectory("nan")
        defer { removeTemporaryDirectory(dir) }
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        for i in 0..<10 {
            var t = syntheticTransition(tick: UInt64(i), flags: i == 0 ? .episodeStart : [])
            if i == 4 { t.action[0] = .nan }
            if i == 7 { t.observation[1] = .infinity }
            try w.append(t)
        }
        try w.close()
        let reader = try DatasetReader(directory: dir)
        let flagged = reader.transitions().filter { $0.header.flags.contains(.nonFinite) }.map(\.header.tick)
        #expect(flagged == [4, 7])
        #expect(DatasetSummary(reader).nonFiniteRecords == 2, "dataset info counts them")
        let arrays = reader.d4rlArrays()
        let allFinite = (arrays.observations + arrays.actions + arrays.nextObservations + arrays.rewards).allSatisfy { $0.isFinite }
        #expect(allFinite)
        // Pairs 0→1, 1→2, 2→3, 5→6, 8→9; 3 and 6 have no finite successor, 9 is the end.
        #expect(arrays.count == 5)
        #expect(arrays.observations.enumerated().filter { $0.offset % 3 == 0 }.map(\.element) == [0, 1, 2, 5, 8])
        #expect(arrays.timeouts == [false, false, true, true, true])
        // The ring flags it too (the control thread path).
        let ring = TransitionRing(capacity: 4, observationCount: 3, actionCount: 1)
        ring.push(TransitionHeader(), observation: [0, .nan, 0], action: [0])
        var popped: TransitionFlags = []
        _ = ring.pop { p in popped = TransitionLayout.decodeHeader(p.baseAddress!).flags }
        #expect(popped.contains(.nonFinite))
    }

    @Test("the writer fsyncs when its oldest unsynced record is fsyncInterval old, not on a fixed beat")
    func fsyncByRecordAge() throws {
        let dir = makeTemporaryDirectory("age")
        defer { removeTemporaryDirectory(dir) }
        let w = try DatasetWriter(directory: dir, schema: testSchema(), options: .init(fsyncInterval: 0.2))
        usleep(400_000)  // idle longer than the interval: the next record is still not synced at once
        try w.append(syntheticTransition(tick: 0))
        try w.syncIfDue()
        #expect(w.recordsDurable == 0)
        let appended = monotonicNanos()
        while w.recordsDurable == 0 {
            usleep(1000)
            try w.syncIfDue()
        }
        let age = Double(monotonicNanos() - appended) * 1e-9
        #expect(age >= 0.2 && age < 0.2 + 0.5, "synced \(age) s after the append")
        try w.close()
    }

    @Test("a write error latches a recordingFailed safety stop in the loop through the ring's flag")
    func writeErrorStopsLoop() throws {
        let dir = makeTemporaryDirectory("werr")
        defer { removeTemporaryDirectory(dir) }
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .deadlines(periodNanos: 1_000_000), maxTicks: 200_000))
        let schema = DatasetSchema(
            robotID: "fake", task: fx.task.name, controlRateHz: 200, observation: fx.task.observationChannels,
            action: fx.task.actionChannels, rewardDefinition: fx.task.rewardDefinition)
        let writer = try DatasetWriter(directory: dir, schema: schema)
        try writer.close()  // every append now fails: the logger's first write is an error
        let logger = TransitionLogger(ring: fx.ring!, writer: writer)
        try logger.start()
        let r = try fx.loop.run()
        let failure = logger.stop()
        #expect(r.latched && r.reasons.contains(.recordingFailed))
        #expect(r.ticks < 20_000, "stopped soon after the failure, not at maxTicks (\(r.ticks) ticks)")
        #expect(failure != nil && fx.ring!.consumerFailed)
        #expect(StopReason.recordingFailed.description == "dataset write failure")
    }

    @Test("a full disk (tmpfs) stops the loop at once with one line naming the file and the fix")
    func fullDisk() throws {
        guard getuid() == 0 else {
            print("skipped: mounting a small tmpfs needs root (uid \(getuid())); the write-error test above covers the stop")
            return
        }
        let mountPoint = makeTemporaryDirectory("fulldisk")
        defer { removeTemporaryDirectory(mountPoint) }
        guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=256k") == 0 else {
            print("skipped: mount(tmpfs) refused (errno \(errno)) in this environment")
            return
        }
        defer { umount(mountPoint) }
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .deadlines(periodNanos: 200_000), maxTicks: 400_000),
                                 ringCapacity: 8192)
        let schema = DatasetSchema(
            robotID: "fake", task: fx.task.name, controlRateHz: 200, observation: fx.task.observationChannels,
            action: fx.task.actionChannels, rewardDefinition: fx.task.rewardDefinition)
        let dir = mountPoint + "/dataset"
        let logger = TransitionLogger(ring: fx.ring!, writer: try DatasetWriter(directory: dir, schema: schema, options: .init(bufferBytes: 4096)))
        try logger.start()
        let r = try fx.loop.run()
        let failure = try #require(logger.stop())
        #expect(r.latched && r.reasons.contains(.recordingFailed))
        let capacity = 256 * 1024 / (8 + schema.payloadBytes)
        #expect(r.ticks < UInt64(capacity) + 40_000, "\(r.ticks) ticks for a disk of ~\(capacity) records")
        let line = failure.description
        #expect(line.contains(dir + "/segment-") && line.contains("errno \(ENOSPC)") && line.contains("disk is full") && !line.contains("\n"))
        print("full disk: the loop stopped after \(r.ticks) ticks (~\(capacity) records fit); line: \(line)")
        // What reached the disk reads back intact.
        let reader = try DatasetReader(directory: dir)
        #expect(reader.transitionCount > 0 && reader.transitionCount <= capacity)
    }
}
