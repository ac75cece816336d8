// The files a `robotctl run` (or `teleop`, `train`) session leaves in its run directory,
// and a tolerant loader for them. Every file is optional to the loader: a run without a
// trainer has no trainer metrics, a run killed early may lack the summary.
//
// Layout (all text, UTF-8):
//   run.json             {"command": ..., "started": ISO-8601, "config": {...}, "summary": {...}}
//   episodes.csv         episode,start_s,end_s,ticks,return,policy_version[,aborted,partial_return,late_ticks,exploring]
//   policy_swaps.csv     time_s,tick,version,trainer_updates
//   trainer_metrics.csv  step,time_s,<namespaced metric columns, e.g. losses/critic>
//   events.csv           time_s,tick,kind,detail   (safety events, rejected policies, faults)
//   loop_timing.json     see `LoopTimingReport`

import Foundation

/// File names inside a run directory.
public enum RunFiles {
    public static let runInfo = "run.json"
    public static let episodes = "episodes.csv"
    public static let policySwaps = "policy_swaps.csv"
    public static let trainerMetrics = "trainer_metrics.csv"
    public static let events = "events.csv"
    public static let loopTiming = "loop_timing.json"
    public static let report = "report.html"
}

/// A numeric CSV table: a header row and rows of numbers (non-numeric cells read as NaN).
public struct NumericTable: Sendable {
    public var columns: [String]
    public var rows: [[Double]]

    public init(columns: [String], rows: [[Double]]) {
        self.columns = columns
        self.rows = rows
    }

    /// The values of `name`, or nil if there is no such column.
    public func column(_ name: String) -> [Double]? {
        guard let i = columns.firstIndex(of: name) else { return nil }
        return rows.map { i < $0.count ? $0[i] : .nan }
    }

    /// Parses CSV text. Throws `ReportError.malformed` naming `source` on a header-less file.
    public static func parse(_ text: String, source: String) throws -> NumericTable {
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { throw ReportError.malformed(file: source, reason: "is empty (no header row)") }
        let header = splitCSVLine(lines.removeFirst())
        let rows = lines.filter { !$0.isEmpty }.map { splitCSVLine($0).map { Double($0) ?? .nan } }
        return NumericTable(columns: header, rows: rows)
    }
}

/// A text CSV table (for events, whose cells are words).
public struct TextTable: Sendable {
    public var columns: [String]
    public var rows: [[String]]
    public static func parse(_ text: String) -> TextTable {
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { return TextTable(columns: [], rows: []) }
        let header = splitCSVLine(lines.removeFirst())
        return TextTable(columns: header, rows: lines.map(splitCSVLine))
    }
}

/// Splits one CSV line, honouring double-quoted cells with "" escapes.
public func splitCSVLine(_ line: String) -> [String] {
    var cells: [String] = []
    var cell = ""
    var quoted = false
    var iterator = line.makeIterator()
    while let c = iterator.next() {
        if quoted {
            if c == "\"" {
                if let next = iterator.next() {
                    if next == "\"" { cell.append("\"") } else {
                        quoted = false
                        if next == "," { cells.append(cell); cell = "" } else { cell.append(next) }
                    }
                } else { quoted = false }
            } else { cell.append(c) }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            cells.append(cell); cell = ""
        } else { cell.append(c) }
    }
    cells.append(cell)
    return cells
}

/// Quotes a CSV cell when needed.
public func csvCell(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
        ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}

/// A histogram with explicit bucket edges, as stored in loop_timing.json.
public struct StoredHistogram: Codable, Sendable, Equatable {
    /// Bucket edges in microseconds; `edgesMicros.count == counts.count + 1`.
    public var edgesMicros: [Double]
    public var counts: [UInt64]
    public var p50Micros: Double
    public var p99Micros: Double
    public var p999Micros: Double
    public var maxMicros: Double

    public init(edgesMicros: [Double], counts: [UInt64], p50Micros: Double, p99Micros: Double,
                p999Micros: Double, maxMicros: Double) {
        self.edgesMicros = edgesMicros
        self.counts = counts
        self.p50Micros = p50Micros
        self.p99Micros = p99Micros
        self.p999Micros = p999Micros
        self.maxMicros = maxMicros
    }
}

/// Loop timing of a run: per-stage compute times and wake-up latency, from `loop_timing.json`.
public struct LoopTimingReport: Codable, Sendable, Equatable {
    public var periodMicros: Double
    public var ticks: UInt64
    public var missedTicks: UInt64
    /// Wake-up latency: actual wake time minus the absolute deadline.
    public var wakeupLatency: StoredHistogram
    /// Per-stage compute time, keyed by stage name ("read", "infer", "write", "record", "total").
    public var stages: [String: StoredHistogram]
    /// What real-time set-up was granted (e.g. "SCHED_FIFO 80, mlockall, CPU 1") or refused.
    public var realtime: String

    public init(periodMicros: Double, ticks: UInt64, missedTicks: UInt64, wakeupLatency: StoredHistogram,
                stages: [String: StoredHistogram], realtime: String) {
        self.periodMicros = periodMicros
        self.ticks = ticks
        self.missedTicks = missedTicks
        self.wakeupLatency = wakeupLatency
        self.stages = stages
        self.realtime = realtime
    }
}

/// Errors reading a run directory.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    case notADirectory(String)
    case malformed(file: String, reason: String)

    public var description: String {
        switch self {
        case .notADirectory(let path):
            "\(path): not a run directory (no such directory); pass the directory a `robotctl run` printed at exit"
        case .malformed(let file, let reason):
            "\(file): \(reason); the file is damaged — delete it to report without it"
        }
    }
}

/// Everything the report shows, loaded from a run directory.
public struct RunData: Sendable {
    public var directory: String
    /// run.json as a flat list of key/value pairs for the summary table (nested keys dotted).
    public var info: [(key: String, value: String)] = []
    public var episodes: NumericTable?
    public var swaps: NumericTable?
    public var trainer: NumericTable?
    public var events: TextTable?
    public var timing: LoopTimingReport?

    /// Loads whatever files exist in `directory`.
    public static func load(directory: String) throws -> RunData {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw ReportError.notADirectory(directory)
        }
        var data = RunData(directory: directory)
        func text(_ name: String) throws -> String? {
            let path = (directory as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            guard let t = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ReportError.malformed(file: path, reason: "is not UTF-8 text")
            }
            return t
        }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        if let t = try text(RunFiles.runInfo) {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any] else {
                throw ReportError.malformed(file: path(RunFiles.runInfo), reason: "is not a JSON object")
            }
            data.info = flatten(obj, prefix: "")
        }
        if let t = try text(RunFiles.episodes) { data.episodes = try NumericTable.parse(t, source: path(RunFiles.episodes)) }
        if let t = try text(RunFiles.policySwaps) { data.swaps = try NumericTable.parse(t, source: path(RunFiles.policySwaps)) }
        if let t = try text(RunFiles.trainerMetrics) { data.trainer = try NumericTable.parse(t, source: path(RunFiles.trainerMetrics)) }
        if let t = try text(RunFiles.events) { data.events = TextTable.parse(t) }
        if let t = try text(RunFiles.loopTiming) {
            do { data.timing = try JSONDecoder().decode(LoopTimingReport.self, from: Data(t.utf8)) } catch {
                throw ReportError.malformed(file: path(RunFiles.loopTiming), reason: "does not match the loop timing schema (\(error))")
            }
        }
        return data
    }
}

private func flatten(_ obj: [String: Any], prefix: String) -> [(key: String, value: String)] {
    var out: [(key: String, value: String)] = []
    for key in obj.keys.sorted() {
        let full = prefix.isEmpty ? key : "\(prefix).\(key)"
        switch obj[key] {
        case let nested as [String: Any]: out += flatten(nested, prefix: full)
        case let n as NSNumber: out.append((full, "\(n)"))
        case let s as String: out.append((full, s))
        case let a as [Any]: out.append((full, a.map { "\($0)" }.joined(separator: ", ")))
        default: out.append((full, "null"))
        }
    }
    return out
}
