import Control
import Foundation
import Glibc
import SystemSupport
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

/// Runs CrashRecorder into `dir` at `fsyncInterval`, SIGKILLs it `killAfterMicros` after it
/// said "started", and returns when the kill happened (seconds after "started"), the last
/// "durable N" it reported and whether it died of the signal.
private func recordAndKill(
    _ recorder: String, dir: String, fsyncInterval: Double, killAfterMicros: UInt32
) throws -> (killedAfter: Double, durable: Int, killed: Bool) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: recorder)
    process.arguments = [dir, String(fsyncInterval)]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let handle = out.fileHandleForReading
    var text = ""
    while !text.contains("started\n") {
        let d = handle.availableData
        if d.isEmpty { break }
        text += String(decoding: d, as: UTF8.self)
    }
    let started = monotonicNanos()
    usleep(killAfterMicros)
    kill(process.processIdentifier, SIGKILL)
    let killedAfter = Double(monotonicNanos() - started) * 1e-9
    process.waitUntilExit()
    text += String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    let durable = text.split(separator: "\n").compactMap { line -> Int? in
        line.hasPrefix("durable ") ? Int(line.dropFirst(8)) : nil
    }.last ?? 0
    return (killedAfter, durable, process.terminationReason == .uncaughtSignal)
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
            // Kill at a random moment 0.1–0.7 s after "started".
            let (killedAfter, durable, killed) = try recordAndKill(
                recorder, dir: dir, fsyncInterval: fsyncInterval, killAfterMicros: UInt32.random(in: 100_000...700_000, using: &rng))
            kills += 1
            #expect(killed)

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

    /// One SIGKILL of CrashRecorder at `killAfter` seconds: what was produced, reported durable,
    /// kept after reopening (replay) and lost.
    struct KillRow {
        var killedAfter: Double
        var produced: Int
        var durable: Int
        var kept: Int
        var tornBytes: Int
        var lost: Int { max(0, produced - kept) }
    }

    @Test("kill/replay table: 20 SIGKILLs at the default fsync interval lose at most that interval of records")
    func killReplayTable() throws {
        guard let recorder = crashRecorderPath() else {
            Issue.record("CrashRecorder executable not found beside the test binary; build with `swift build --build-tests`")
            return
        }
        let fsyncInterval = DatasetWriter.Options().fsyncInterval
        var rng = SystemRandomNumberGenerator()
        var rows: [KillRow] = []
        for _ in 0..<20 {
            let dir = makeTemporaryDirectory("killtable")
            defer { removeTemporaryDirectory(dir) }
            let (killedAfter, durable, killed) = try recordAndKill(
                recorder, dir: dir, fsyncInterval: fsyncInterval, killAfterMicros: UInt32.random(in: 300_000...2_000_000, using: &rng))
            #expect(killed)
            // Replay: reopen for writing (recovery), then read everything back.
            let before = try DatasetReader(directory: dir)
            let writer = try DatasetWriter(directory: dir, schema: before.schema)
            try writer.close()
            let records = try DatasetReader(directory: dir).transitions()
            #expect(records.allSatisfy(isSynthetic) && records.count >= durable)
            #expect(writer.recovered.allSatisfy { $0.keptAside == nil }, "a kill tears only the tail")
            let produced = Int(killedAfter * 200)
            rows.append(KillRow(killedAfter: killedAfter, produced: produced, durable: durable,
                                kept: records.last.map { Int($0.header.tick) + 1 } ?? 0, tornBytes: before.droppedBytes))
        }
        // Bounded loss: at most the fsync interval + the 2 ms poll + scheduling slack on a busy machine.
        for r in rows {
            #expect(Double(r.lost) / 200 <= fsyncInterval + 0.35, "lost \(r.lost) records (\(Double(r.lost) / 200) s) at a kill after \(r.killedAfter) s")
        }
        let lostSeconds = rows.map { Double($0.lost) / 200 }
        let table = rows.enumerated().map { i, r in
            String(format: "| %d | %.3f | %d | %d | %d | %d | %d | %.3f |", i + 1, r.killedAfter, r.produced, r.durable, r.kept, r.tornBytes, r.lost,
                   Double(r.lost) / 200)
        }
        let summary = String(
            format: "%d kills, fsync interval %.2f s: records lost per kill min %d, median %d, max %d (max %.3f s of data; bound %.3f s = interval + 2 ms poll, plus the fsync's own time)",
            rows.count, fsyncInterval, rows.map(\.lost).min() ?? 0, rows.map(\.lost).sorted()[rows.count / 2], rows.map(\.lost).max() ?? 0,
            lostSeconds.max() ?? 0, fsyncInterval + 0.002)
        print(summary)
        if let path = ProcessInfo.processInfo.environment["ROBOTCTL_DURABILITY_TABLE"] {
            let text = (["| kill | killed after (s) | produced | reported durable | kept after replay | torn bytes | lost | lost (s) |",
                         "|---|---|---|---|---|---|---|---|"] + table + ["", summary]).joined(separator: "\n") + "\n"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
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
