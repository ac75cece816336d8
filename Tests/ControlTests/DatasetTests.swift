import Control
import FixedNN
import Foundation
import SystemSupport
import Testing
import TestSupport

@Suite("Dataset format")
struct DatasetTests {
    @Test("writes and reads back every transition bit for bit")
    func roundTrip() throws {
        let dir = makeTemporaryDirectory("ds-roundtrip")
        defer { removeTemporaryDirectory(dir) }
        let written = (0..<500).map { syntheticTransition(tick: UInt64($0), episode: UInt32($0 / 100)) }
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        for t in written { try w.append(t) }
        try w.close()
        let r = try DatasetReader(directory: dir)
        #expect(r.transitions() == written)
        #expect(r.droppedBytes == 0)
        #expect(r.schema.observation.map(\.name) == ["o0", "o1", "o2"])
    }

    @Test("a segment's byte layout is the one DATASET.md documents")
    func documentedLayout() throws {
        let dir = makeTemporaryDirectory("ds-layout")
        defer { removeTemporaryDirectory(dir) }
        let w = try DatasetWriter(directory: dir, schema: testSchema(observationCount: 2, actionCount: 1))
        try w.append(Transition(
            header: TransitionHeader(timestampNanos: 7, tick: 9, policyVersion: 3, episode: 2,
                                     flags: [.episodeStart, .late], reward: 1.5, droppedBefore: 4),
            observation: [1, -2], action: [0.5]))
        try w.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/segment-000000.rcds")))
        #expect(bytes.count == 32 + 8 + 56)
        #expect(Array(bytes[0..<8]) == Array("RCDSSEG1".utf8))
        func u32(_ o: Int) -> UInt32 { bytes[o..<o + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        func u64(_ o: Int) -> UInt64 { bytes[o..<o + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        #expect(u32(8) == 1 && u32(16) == 2 && u32(20) == 1 && u32(24) == 56)
        #expect(u32(28) == bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<28])) })
        #expect(u32(32) == 56)
        #expect(u32(36) == bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[40...])) })
        let p = 40
        #expect(u64(p) == 7 && u64(p + 8) == 9 && u64(p + 16) == 3 && u32(p + 24) == 2)
        #expect(u32(p + 28) == 0b1001 && Float(bitPattern: u32(p + 32)) == 1.5 && u32(p + 36) == 4)
        #expect(Float(bitPattern: u32(p + 44)) == 1 && Float(bitPattern: u32(p + 48)) == -2)
        #expect(Float(bitPattern: u32(p + 52)) == 0.5)
    }

    @Test("a torn tail is reported in bytes and cut off when the writer reopens")
    func tornTail() throws {
        let dir = makeTemporaryDirectory("ds-torn")
        defer { removeTemporaryDirectory(dir) }
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        for i in 0..<10 { try w.append(syntheticTransition(tick: UInt64(i))) }
        try w.close()
        let path = dir + "/segment-000000.rcds"
        let h = FileHandle(forWritingAtPath: path)!
        h.seekToEndOfFile()
        h.write(Data([0x3C, 0, 0, 0, 1, 2, 3]))  // a record cut off after 7 bytes
        h.closeFile()
        let r = try DatasetReader(directory: dir)
        #expect(r.transitionCount == 10)
        #expect(r.droppedBytes == 7)
        let w2 = try DatasetWriter(directory: dir, schema: testSchema())
        #expect(w2.recovered.map(\.droppedBytes) == [7])
        #expect(w2.segmentIndex == 1)
        try w2.append(syntheticTransition(tick: 10))
        try w2.close()
        let r2 = try DatasetReader(directory: dir)
        #expect(r2.droppedBytes == 0)
        #expect(r2.transitions().map(\.header.tick) == Array(0...10))
    }

    @Test("reopening with another schema is refused with a message naming the directory")
    func incompatibleSchema() throws {
        let dir = makeTemporaryDirectory("ds-schema")
        defer { removeTemporaryDirectory(dir) }
        try DatasetWriter(directory: dir, schema: testSchema()).close()
        #expect(throws: DatasetError.self) { _ = try DatasetWriter(directory: dir, schema: testSchema(observationCount: 4)) }
        do { _ = try DatasetWriter(directory: dir, schema: testSchema(observationCount: 4)) } catch {
            #expect(error.description.contains(dir))
        }
    }

    @Test("a schema with a missing field is rejected naming the file and the field")
    func missingField() throws {
        let dir = makeTemporaryDirectory("ds-badschema")
        defer { removeTemporaryDirectory(dir) }
        try Data("{\"format\": \"robotctl-dataset\"}".utf8).write(to: URL(fileURLWithPath: dir + "/schema.json"))
        do {
            _ = try DatasetReader(directory: dir)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("schema.json") && error.description.contains("missing field"))
        }
    }

    @Test("segments roll over at the size limit and read back in order")
    func segmentRollover() throws {
        let dir = makeTemporaryDirectory("ds-roll")
        defer { removeTemporaryDirectory(dir) }
        let w = try DatasetWriter(directory: dir, schema: testSchema(),
                                  options: .init(segmentBytes: 4096, bufferBytes: 1024))
        for i in 0..<300 { try w.append(syntheticTransition(tick: UInt64(i))) }
        try w.close()
        let r = try DatasetReader(directory: dir)
        #expect(r.segments.count > 3)
        #expect(r.transitions().map(\.header.tick) == Array(0..<300))
    }

    @Test("D4RL pairing: next observations, terminals, and time-outs cut before the unpaired record")
    func d4rlPairing() {
        var recs = (0..<4).map { syntheticTransition(tick: UInt64($0), episode: 0, observationCount: 1) }
        recs[0].header.flags = .episodeStart
        recs[3].header.flags = .timeout
        var e1 = (4..<7).map { syntheticTransition(tick: UInt64($0), episode: 1, observationCount: 1) }
        e1[0].header.flags = .episodeStart
        e1[2].header.flags = .terminal
        let a = D4RLArrays(recs + e1, observationSize: 1, actionSize: 1)
        #expect(a.count == 3 + 3)
        #expect(a.observations == [0, 1, 2, 4, 5, 6])
        #expect(a.nextObservations == [1, 2, 3, 5, 6, 6])
        #expect(a.timeouts == [false, false, true, false, false, false])
        #expect(a.terminals == [false, false, false, false, false, true])
    }

    @Test("the summary counts episodes, drops and late ticks, and the .npz export carries D4RL keys")
    func summaryAndExport() throws {
        let dir = makeTemporaryDirectory("ds-summary")
        defer { removeTemporaryDirectory(dir) }
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        for i in 0..<30 {
            var t = syntheticTransition(tick: UInt64(i), episode: UInt32(i / 10))
            if i % 10 == 0 { t.header.flags.insert(.episodeStart) }
            if i % 10 == 9 { t.header.flags.insert(.timeout) }
            if i == 5 { t.header.flags.insert(.late) }
            if i == 7 { t.header.droppedBefore = 2 }
            try w.append(t)
        }
        try w.close()
        let reader = try DatasetReader(directory: dir)
        let s = DatasetSummary(reader)
        #expect(s.transitions == 30 && s.episodes == 3 && s.timeoutEpisodes == 3)
        #expect(s.droppedTransitions == 2 && s.lateTicks == 1 && s.droppedBytes == 0)
        #expect(abs(s.durationSeconds - 29 * 0.005) < 1e-9)
        let path = dir + "/out.npz"
        let arrays = reader.d4rlArrays()
        try NumpyArchive.writeNPZ(arrays.numpyArrays(), path: path)
        let back = try NumpyArchive.readNPZ(path: path)
        #expect(Set(back.keys).isSuperset(of: ["observations", "actions", "rewards", "next_observations", "terminals", "timeouts"]))
        #expect(back["observations"]?.shape == [arrays.count, 3])
        #expect(back["observations"]?.floats() == arrays.observations)
        #expect(back["timeouts"]?.bools() == arrays.timeouts)
        // Episode 0 loses record 6 (the drop gap before 7) and record 9 (time-out, no successor).
        #expect(arrays.count == 30 - 3 - 1)
    }

    @Test("reads the dataset an independent Python implementation of DATASET.md wrote, torn tail included")
    func pythonWrittenDataset() throws {
        let r = try DatasetReader(directory: controlFixturePath("python_dataset"))
        #expect(r.schema.robotID == "python" && r.schema.observation.map(\.unit) == ["rad", "rad/s"])
        #expect(r.droppedBytes == 13)
        let t = r.transitions()
        #expect(t.count == 10)
        for (i, x) in t.enumerated() {
            let f = Float(i)
            #expect(x.header.tick == UInt64(i) && x.header.episode == UInt32(i / 5) && x.header.policyVersion == 3)
            #expect(x.header.timestampNanos == 1_000_000_000 + UInt64(i) * 5_000_000 && x.header.reward == -f * 0.5)
            #expect(x.observation == [f * 0.5, -f * 0.25] && x.action == [f / 16])
            #expect(x.header.flags == (i % 5 == 0 ? .episodeStart : i % 5 == 4 ? .timeout : []))
        }
    }
}

