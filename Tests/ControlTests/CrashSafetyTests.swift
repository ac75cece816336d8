import Control
import Foundation
import Glibc
import Testing
import TestSupport

/// The CrashRecorder executable built beside this test binary.
private func crashRecorderPath() -> String? {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("CrashRecorder").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// Checks that `t` is exactly what CrashRecorder (and `syntheticTransition`) writes for its tick.
private func isSynthetic(_ t: Transition) -> Bool {
    let f = Float(t.header.tick)
    return t.observation == [f, f + 0.25, f + 0.5] && t.action == [-f * 0.001] && t.header.reward == -f * 0.5
        && t.header.timestampNanos == 1_000_000_000 + t.header.tick * 5_000_000
        && t.header.policyVersion == t.header.tick / 100
}

@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    @Test("a recorder killed with SIGKILL at random moments keeps every record fsynced before the kill, and nothing corrupt")
    func sigkill() throws {
        guard let recorder = crashRecorderPath() else {
            Issue.record("CrashRecorder executable not found beside the test binary; build with `swift build --build-tests`")
            return
        }
        let fsyncInterval = 0.25
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        var totalKept = 0
        for _ in 0..<20 {
            let dir = makeTemporaryDirectory("crash")
            defer { removeTemporaryDirectory(dir) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: recorder)
            process.arguments = [dir, String(fsyncInterval)]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            // Wait for "started", then kill at a random moment 0.1–0.7 s later.
            let handle = out.fileHandleForReading
            var text = ""
            while !text.contains("started\n") {
                let d = handle.availableData
                if d.isEmpty { break }
                text += String(decoding: d, as: UTF8.self)
            }
            let started = monotonicNanos()
            usleep(UInt32.random(in: 100_000...700_000, using: &rng))
            kill(process.processIdentifier, SIGKILL)
            let killedAfter = Double(monotonicNanos() - started) * 1e-9
            process.waitUntilExit()
            kills += 1
            #expect(process.terminationReason == .uncaughtSignal)
            text += String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            let durable = text.split(separator: "\n").compactMap { line -> Int? in
                line.hasPrefix("durable ") ? Int(line.dropFirst(8)) : nil
            }.last ?? 0

            let reader = try DatasetReader(directory: dir)
            let records = reader.transitions()
            totalKept += records.count
            #expect(records.count >= durable, "every record reported durable is there")
            #expect(zip(records, records.dropFirst()).allSatisfy { $1.header.tick > $0.header.tick }, "in order, no duplicates")
            #expect(records.allSatisfy(isSynthetic), "no corrupted record")
            // Bounded loss: the newest record kept is at most one fsync interval (plus scheduling
            // slack on a busy machine) older than the kill. Ticks are deadline indices at 200 Hz.
            let lastTick = Double(records.last?.header.tick ?? 0)
            #expect(lastTick >= killedAfter * 200 - 200 * (fsyncInterval + 0.35),
                    "newest kept tick \(Int(lastTick)), killed at tick ~\(Int(killedAfter * 200))")
            // Reopening for writing cuts any torn tail and appends after it.
            let writer = try DatasetWriter(directory: dir, schema: reader.schema)
            #expect(writer.recovered.reduce(0) { $0 + $1.droppedBytes } == reader.droppedBytes)
            try writer.close()
            #expect(try DatasetReader(directory: dir).droppedBytes == 0)
        }
        #expect(kills == 20)
        #expect(totalKept > 20 * 10)
    }

    @Test("a segment truncated at any offset reads back as its complete records, with the torn bytes reported")
    func truncation() throws {
        let dir = makeTemporaryDirectory("trunc")
        defer { removeTemporaryDirectory(dir) }
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        for i in 0..<200 { try w.append(syntheticTransition(tick: UInt64(i))) }
        try w.close()
        let path = dir + "/segment-000000.rcds"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let stride = 8 + testSchema().payloadBytes
        var rng = SystemRandomNumberGenerator()
        let offsets = [0, 1, 31, 32, 33, 32 + stride - 1, 32 + stride, original.count - 1]
            + (0..<150).map { _ in Int.random(in: 0..<original.count, using: &rng) }
        for cut in offsets {
            try original.prefix(cut).write(to: URL(fileURLWithPath: path))
            let r = try DatasetReader(directory: dir)
            let complete = cut < 32 ? 0 : (cut - 32) / stride
            #expect(r.transitionCount == complete, "cut at \(cut)")
            #expect(r.droppedBytes == (cut < 32 ? cut : (cut - 32) % stride), "cut at \(cut)")
            #expect(r.transitions() == (0..<complete).map { syntheticTransition(tick: UInt64($0)) })
        }
    }

    @Test("random corruption never crashes the reader and never yields a corrupted record")
    func corruption() throws {
        let dir = makeTemporaryDirectory("corrupt")
        defer { removeTemporaryDirectory(dir) }
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        for i in 0..<200 { try w.append(syntheticTransition(tick: UInt64(i))) }
        try w.close()
        let path = dir + "/segment-000000.rcds"
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let stride = 8 + testSchema().payloadBytes
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<300 {
            var bytes = original
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            let span = trial % 3 == 0 ? Int.random(in: 1...64, using: &rng) : 1
            for k in at..<min(bytes.count, at + span) { bytes[k] ^= UInt8.random(in: 1...255, using: &rng) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let r = try DatasetReader(directory: dir)
            let records = r.transitions()
            // Every record the damage does not touch survives (the scan resyncs after it, and
            // past a damaged header); no damaged record is ever returned.
            let end = min(bytes.count, at + span)
            let untouched = (0..<200).filter { i in
                let lo = 32 + i * stride, hi = lo + stride
                return hi <= at || lo >= end
            }
            #expect(records == untouched.map { syntheticTransition(tick: UInt64($0)) }, "corruption at \(at)+\(span)")
            let headerOK = at >= 32
            #expect(r.droppedBytes == bytes.count - (headerOK ? 32 : 0) - untouched.count * stride)
            let firstDamaged = headerOK ? (at - 32) / stride : 0
            let recordsAfterDamage = untouched.contains { $0 > firstDamaged }
            #expect(r.segments[0].scan.isTornTailOnly == (headerOK && !recordsAfterDamage),
                    "damage with records after it is reported as damage, at the end as a torn tail")
        }
        // Garbage and empty segment files are skipped, not fatal.
        try Data((0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: URL(fileURLWithPath: dir + "/segment-000001.rcds"))
        try Data().write(to: URL(fileURLWithPath: dir + "/segment-000002.rcds"))
        let r = try DatasetReader(directory: dir)
        #expect(r.segments.count == 3)
        #expect(r.segments[1].scan.records == 0 && r.segments[1].scan.droppedBytes == 1000)
    }
}
