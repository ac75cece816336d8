import Foundation
import Testing
import TestSupport

@testable import Reporting

/// The package root (three levels above this file).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The python of a venv holding the `mcap` package (created once by Support/mcap-venv.sh), or
/// nil after printing why (no python3, venv or pip): the caller then skips.
func mcapPython() -> String? {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/mcap-venv.sh").path
    let venv = (packageRoot as NSString).appendingPathComponent(".venv-report-test")
    guard let r = try? runProcess("/bin/bash", [script, venv], timeout: 300), r.status == 0 else {
        let why = (try? runProcess("/bin/bash", [script, venv], timeout: 300))?.stderr ?? "cannot run \(script)"
        print("note: skipping the mcap Python reader check: \(why.trimmingCharacters(in: .whitespacesAndNewlines))")
        return nil
    }
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// What Support/read_mcap.py printed for `file`.
struct MCAPReadout: Decodable {
    struct Channel: Decodable {
        var schema: String
        var schema_encoding: String
        var message_encoding: String
    }
    var channels: [String: Channel]
    var counts: [String: Int]
    var summary_counts: [String: Int]
    var metadata: [String]
    var stream_records: Int
    var file_order_is_time_order: Bool
}

func readWithPython(_ python: String, _ file: String) throws -> MCAPReadout {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/read_mcap.py").path
    let r = try runProcess(python, [script, file], timeout: 120)
    guard r.status == 0 else { throw ReportError.malformed(file: file, reason: "read_mcap.py failed: \(r.stderr)") }
    return try JSONDecoder().decode(MCAPReadout.self, from: Data(r.stdout.utf8))
}

/// The records of an MCAP file in order (opcode and content), checking the framing.
private func mcapRecords(_ bytes: [UInt8]) throws -> [(op: UInt8, start: Int, content: ArraySlice<UInt8>)] {
    #expect(Array(bytes.prefix(8)) == MCAPWriter.magic && Array(bytes.suffix(8)) == MCAPWriter.magic)
    var out: [(UInt8, Int, ArraySlice<UInt8>)] = []
    var i = 8
    while i < bytes.count - 8 {
        let op = bytes[i]
        let length = Int(u64(bytes, i + 1))
        out.append((op, i, bytes[(i + 9)..<(i + 9 + length)]))
        i += 9 + length
    }
    #expect(i == bytes.count - 8)
    return out
}

private func u64(_ b: some Collection<UInt8>, _ at: Int) -> UInt64 {
    let a = Array(b)
    return (0..<8).reduce(UInt64(0)) { $0 | UInt64(a[at + $1]) << (8 * UInt64($1)) }
}

private func u32(_ b: some Collection<UInt8>, _ at: Int) -> UInt32 {
    let a = Array(b)
    return (0..<4).reduce(UInt32(0)) { $0 | UInt32(a[at + $1]) << (8 * UInt32($1)) }
}

/// A run directory with every file the MCAP export reads.
private func runDirectoryForMCAP() throws -> String {
    let h = StoredHistogram(edgesMicros: [0, 10, 100, 1e9], counts: [5, 300, 1], p50Micros: 20, p99Micros: 90, p999Micros: 95, maxMicros: 150)
    let timing = LoopTimingReport(periodMicros: 5000, ticks: 520, missedTicks: 1, wakeupLatency: h, stages: ["total": h], realtime: "none")
    return try directory(with: [
        RunFiles.runInfo: #"{"command": "run", "started": "2026-12-04T18:42:30Z", "config": {"task": "pendulum"}, "summary": {"seconds": 2.6}}"#,
        RunFiles.episodes: "episode,start_s,end_s,ticks,return,policy_version,aborted\n0,0,0.5,100,-50,1,0\n1,0.7,1.2,100,nan,1,1\n",
        RunFiles.policySwaps: "time_s,tick,version,trainer_updates,validation_return\n1.3,260,2,1000,-300\n",
        RunFiles.events: "time_s,tick,kind,detail\n0.9,180,safety_stop,\"watchdog, then \"\"torque off\"\"\"\n",
        RunFiles.trainerMetrics: "step,time_s,losses/critic\n50,1.0,3.5\n100,2.0,2.5\n",
        RunFiles.loopTiming: String(decoding: try JSONEncoder().encode(timing), as: UTF8.self),
    ])
}

@Test("CRC-32 is zlib's (check value of \"123456789\")")
func crcCheckValue() {
    var c = CRC32Accumulator()
    c.update(Array("123456789".utf8))
    #expect(c.value == 0xCBF4_3926)
}

@Test("an MCAP file is framed by the spec: magic, header, chunks with indexes, data end, summary, footer")
func mcapStructure() throws {
    let dir = try runDirectoryForMCAP()
    let path = (dir as NSString).appendingPathComponent(RunFiles.mcap)
    // Small chunks, so several chunks and their indexes are written.
    let written = try RunStreamsMCAP.write(run: try RunData.load(directory: dir), streams: pendulumStreams(episodes: 5, perEpisode: 65), to: path,
                                           chunkBytes: 16 * 1024)
    #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let records = try mcapRecords(bytes)
    #expect(records.first?.op == 0x01 && records.last?.op == 0x02)
    let ops = records.map(\.op)
    let dataEnd = ops.firstIndex(of: 0x0F)!
    #expect(ops[..<dataEnd].filter { $0 == 0x06 }.count > 3 && ops[..<dataEnd].contains(0x07))
    #expect(ops[(dataEnd + 1)...].filter { $0 == 0x08 }.count == ops[..<dataEnd].filter { $0 == 0x06 }.count)
    // The data-section CRC covers every byte before Data End.
    var crc = CRC32Accumulator()
    crc.update(Array(bytes[..<records[dataEnd].start]))
    #expect(u32(records[dataEnd].content, 0) == crc.value)
    // The footer points at the summary and the summary offsets; its CRC covers both.
    let footer = records.last!.content
    let summaryStart = Int(u64(footer, 0)), offsetsStart = Int(u64(footer, 8))
    #expect(summaryStart == records[dataEnd + 1].start)
    var summaryCRC = CRC32Accumulator()
    summaryCRC.update(Array(bytes[summaryStart..<(records.last!.start + 9 + 16)]))
    #expect(u32(footer, 16) == summaryCRC.value)
    #expect(records.contains { $0.op == 0x0E && $0.start == offsetsStart })
    // Statistics: message count equals what was written.
    let stats = records.first { $0.op == 0x0B }!.content
    #expect(u64(stats, 0) == written.total)
    // Per-tick topics: one message per record.
    for topic in RunStreamsMCAP.perTickTopics { #expect(written.messages[topic] == 325) }
    #expect(written.messages["/episode_return"] == 2 && written.messages["/policy_swaps"] == 1)
    #expect(written.messages["/events"] == 1 && written.messages["/trainer_metrics"] == 2 && written.messages["/loop_timing_summary"] == 1)
    #expect(written.messages["/policy_version"] == 3)  // v1, v2, v3 in pendulumStreams
}

@Test("the mcap Python reader opens the export: one channel per stream, counts equal the records")
func mcapPythonReader() throws {
    guard let python = mcapPython() else { return }
    let dir = try runDirectoryForMCAP()
    let path = (dir as NSString).appendingPathComponent(RunFiles.mcap)
    let streams = pendulumStreams(episodes: 3, perEpisode: 257)
    let written = try RunStreamsMCAP.write(run: try RunData.load(directory: dir), streams: streams, to: path)
    let r = try readWithPython(python, path)
    let expected = ["/joint_states", "/observation", "/action", "/reward", "/loop_timing", "/policy_version", "/episode_return",
                    "/policy_swaps", "/events", "/trainer_metrics", "/loop_timing_summary"]
    #expect(Set(r.channels.keys) == Set(expected))
    for topic in RunStreamsMCAP.perTickTopics {
        #expect(r.counts[topic] == streams.count, "\(topic)")
        #expect(r.summary_counts[topic] == streams.count, "\(topic)")
    }
    for (topic, n) in written.messages { #expect(r.counts[topic, default: 0] == Int(n), "\(topic)") }
    #expect(r.channels.values.allSatisfy { $0.schema_encoding == "jsonschema" && $0.message_encoding == "json" })
    #expect(r.channels["/events"]?.schema == "foxglove.Log")
    #expect(r.metadata == ["robotctl"])
    #expect(r.file_order_is_time_order)
    #expect(r.stream_records > Int(written.total))
}

@Test("a writer left unfinished leaves no file under the final name")
func unfinishedWriter() throws {
    let dir = try directory(with: [:])
    let path = (dir as NSString).appendingPathComponent("x.mcap")
    do {
        let w = try MCAPWriter(path: path)
        let s = try w.addSchema(name: "s", encoding: "jsonschema", data: Array("{}".utf8))
        let c = try w.addChannel(topic: "/t", messageEncoding: "json", schemaID: s)
        try w.write(channel: c, logTime: 1, data: Array("{}".utf8))
    }
    #expect(!FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: path + ".partial"))
    let w = try MCAPWriter(path: path)
    #expect(try w.finish() == 0)
    #expect(FileManager.default.fileExists(atPath: path))
    #expect(throws: ReportError.self) { try w.finish() }
}

@Test("JSON text: strings escaped, non-finite numbers null, integers without a fraction")
func jsonText() throws {
    #expect(quoted("a \"b\"\n\\ c/d") == #""a \"b\"\n\\ c/d""#)
    #expect(json(.nan) == "null" && json(.infinity) == "null" && json(3) == "3" && json(-0.5) == "-0.5")
    var o = JSONObject()
    o.string("k,\"", "v\t")
    o.number("n", .nan)
    let back = try JSONSerialization.jsonObject(with: Data(o.text.utf8)) as! [String: Any]
    #expect(back["k,\""] as? String == "v\t" && back["n"] is NSNull)
}
