import Control
import Foundation
import H2OTrainer
import Glibc
import Reporting

/// Writes a session's run directory (the files of `Reporting.RunFiles`) and its HTML report.
/// Every file goes through a temporary file and a rename, so a reader never sees half a file.
///
/// Set-up code: allocates and throws errors naming the file.
public enum RunDirectoryWriter {
    /// Writes run.json, episodes.csv, policy_swaps.csv, trainer_metrics.csv, events.csv,
    /// loop_timing.json and report.html into `directory` (which must exist). `config` and
    /// `summary` become run.json's objects. Returns the report's path.
    @discardableResult
    public static func write(
        _ result: OnRobotResult, command: String, started: Date, config: [String: Any], summary: [String: Any],
        to directory: String, title: String
    ) throws -> String {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let iso = ISO8601DateFormatter().string(from: started)
        let root: [String: Any] = ["command": command, "started": iso, "config": config, "summary": summary]
        let json = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
        try atomicWrite(String(decoding: json, as: UTF8.self) + "\n", to: path(RunFiles.runInfo))

        // An aborted episode (a safety stop cut it short) has no comparable return: `return`
        // is nan there, and what it collected is in `partial_return`.
        var episodes = "episode,start_s,end_s,ticks,return,policy_version,aborted,partial_return,late_ticks,exploring\n"
        for e in result.episodes {
            let ret = e.aborted ? "nan" : fmt(e.episodeReturn)
            episodes += "\(e.episode),\(fmt(e.startSeconds)),\(fmt(e.endSeconds)),\(e.ticks),\(ret),\(e.policyVersion),\(e.aborted ? 1 : 0),\(fmt(e.episodeReturn)),\(e.lateTicks),\(e.exploring ? 1 : 0)\n"
        }
        try atomicWrite(episodes, to: path(RunFiles.episodes))

        var swaps = "time_s,tick,version,trainer_updates,validation_return\n"
        for s in result.swaps {
            swaps += "\(fmt(s.seconds)),\(s.tick),\(s.version),\(s.trainerUpdates),\(fmt(s.validationReturn))\n"
        }
        try atomicWrite(swaps, to: path(RunFiles.policySwaps))

        var metrics = (["step", "time_s"] + result.metricNames).joined(separator: ",") + "\n"
        for r in result.metrics {
            metrics += (["\(r.step)", fmt(r.seconds)] + r.values.map { fmt(Double($0)) }).joined(separator: ",") + "\n"
        }
        try atomicWrite(metrics, to: path(RunFiles.trainerMetrics))

        var events = "time_s,tick,kind,detail\n"
        for e in result.events { events += "\(fmt(e.seconds)),\(e.tick),\(csvCell(e.kind)),\(csvCell(e.detail))\n" }
        try atomicWrite(events, to: path(RunFiles.events))

        let s = result.statistics
        let timing = LoopTimingReport(
            periodMicros: Double(result.periodNanos) / 1000, ticks: s[.ticks], missedTicks: s[.missedDeadlines],
            wakeupLatency: stored(s.wakeLatency),
            stages: ["read": stored(s.read), "infer": stored(s.infer), "write": stored(s.write), "record": stored(s.record),
                     "total": stored(s.total), "period_error": stored(s.periodError)],
            realtime: result.realtime)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try atomicWrite(String(decoding: try encoder.encode(timing), as: UTF8.self) + "\n", to: path(RunFiles.loopTiming))

        var data = try RunData.load(directory: directory)
        // The joints over a first and a last episode come from the dataset the run recorded.
        if let d = data.datasetDirectory { data.recorded = try? RecordedStreams.read(datasetDirectory: d).streams }
        let report = path(RunFiles.report)
        try atomicWrite(renderRunReport(data, title: title), to: report)
        return report
    }

    /// A histogram in microseconds over fixed log-spaced edges, rebuilt from 1000 quantiles of
    /// the loop's histogram (so each bucket's count is exact to 0.1 % of the total).
    static func stored(_ h: HistogramSnapshot) -> StoredHistogram {
        let edges: [Double] = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 1e9]
        var counts = [UInt64](repeating: 0, count: edges.count - 1)
        if h.count > 0 {
            let q = 1000
            for i in 0..<q {
                let v = Double(h.percentile((Double(i) + 0.5) / Double(q))) / 1000
                let b = max(0, min(counts.count - 1, (edges.lastIndex(where: { $0 <= v }) ?? 0)))
                counts[b] += 1
            }
            // Scale the quantile tally to the real count, keeping the sum exact.
            var scaled = counts.map { UInt64((Double($0) / Double(q) * Double(h.count)).rounded(.down)) }
            let missing = h.count - scaled.reduce(0, +)
            if let top = counts.indices.max(by: { counts[$0] < counts[$1] }) { scaled[top] += missing }
            counts = scaled
        }
        func us(_ q: Double) -> Double { Double(h.percentile(q)) / 1000 }
        return StoredHistogram(edgesMicros: edges, counts: counts, p50Micros: us(0.5), p99Micros: us(0.99),
                               p999Micros: us(0.999), maxMicros: Double(h.max) / 1000)
    }

    /// Creates a new run directory `parent/stamp`, or `parent/stamp-2`, `-3`, … when that
    /// exists (two runs started in the same second, even in two processes, never share one:
    /// mkdir(2) is atomic). Creates `parent` if needed. Returns the path.
    public static func createUnique(parent: String, stamp: String) throws -> String {
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw TrainerError.io(path: parent, problem: "cannot create the directory (\((error as NSError).localizedDescription)); choose a writable place with --run-directory")
        }
        let base = (parent as NSString).appendingPathComponent(stamp)
        var dir = base
        var k = 1
        while mkdir(dir, 0o755) != 0 {
            let e = errno
            guard e == EEXIST, k < 10_000 else {
                throw TrainerError.io(path: dir, problem: "cannot create the run directory (\(String(cString: strerror(e)))); choose a writable place with --run-directory")
            }
            k += 1
            dir = "\(base)-\(k)"
        }
        return dir
    }

    static func fmt(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : "nan" }

    static func atomicWrite(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw TrainerError.io(path: path, problem: "cannot write (\((error as NSError).localizedDescription)); check that the directory is writable")
        }
    }
}
