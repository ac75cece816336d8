// The files a `robotctl run` (or `teleop`, `train`, `eval`) session leaves in its directory,
// and a tolerant loader for them. Every file is optional to the loader: a run without a
// trainer has no trainer metrics, a run killed early may lack the summary.
//
// Layout of a run directory (all text, UTF-8):
//   run.json             {"command": ..., "started": ISO-8601, "config": {...}, "summary": {...}}
//                        summary.ceiling (optional number): the best return the task allows on
//                        this robot (e.g. an oracle policy's), drawn as a line on the headline;
//                        summary.ceiling_source (optional text) says where it comes from.
//                        config.dataset: where the run recorded its dataset (default RUN_DIR/dataset)
//   episodes.csv         episode,start_s,end_s,ticks,return,policy_version[,aborted,partial_return,late_ticks,exploring]
//   policy_swaps.csv     time_s,tick,version,trainer_updates
//   trainer_metrics.csv  step,time_s,<namespaced metric columns, e.g. losses/critic>
//   events.csv           time_s,tick,kind,detail   (safety events, rejected policies, faults)
//   loop_timing.json     see `LoopTimingReport`
//   streams.mcap         the run's streams as MCAP (`robotctl report --mcap`; docs/mcap-schema.md)
// A `robotctl train` directory holds config.json and metrics.csv (one row per epoch); a
// `robotctl teleop --record` directory is a dataset (schema.json, segments, episodes.jsonl);
// an eval directory holds eval.json (`robotctl eval --json` output) or a run.json whose
// command is "eval".

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
    public static let mcap = "streams.mcap"
    public static let trainConfig = "config.json"
    public static let trainMetrics = "metrics.csv"
    public static let evalResult = "eval.json"
    public static let datasetSchema = "schema.json"
    public static let datasetSubdirectory = "dataset"
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
    case nothingToReport(String)
    case cannotWrite(file: String, reason: String)

    public var description: String {
        switch self {
        case .notADirectory(let path):
            "\(path): not a run directory (no such directory); pass the directory a `robotctl run` printed at exit"
        case .malformed(let file, let reason):
            "\(file): \(reason); the file is damaged — delete it to report without it"
        case .nothingToReport(let path):
            "\(path): holds nothing to report (no run.json, episodes.csv, metrics.csv, eval.json or dataset schema.json); pass the directory that `robotctl run`, `train --out`, `teleop --record` or `eval` wrote"
        case .cannotWrite(let file, let reason):
            "\(file): \(reason); check that its directory exists and is writable"
        }
    }
}

/// `robotctl eval --json` as saved in an eval directory's eval.json.
public struct EvalResult: Sendable, Equatable {
    public var policy: String
    public var robot: String
    public var returns: [Double]
    public var mean: Double
    public var std: Double
}

/// Everything the report shows, loaded from a run, train, teleop (dataset) or eval directory.
public struct RunData: Sendable {
    public var directory: String
    /// run.json as a flat list of key/value pairs (nested keys dotted).
    public var info: [(key: String, value: String)] = []
    /// run.json's `command` ("run", "eval", …), or nil without a run.json.
    public var command: String?
    /// run.json's summary numbers by key (no "summary." prefix).
    public var summaryNumbers: [String: Double] = [:]
    /// summary.ceiling: the best return the task allows here, when the run directory says.
    public var ceiling: Double?
    public var ceilingSource: String?
    public var episodes: NumericTable?
    public var swaps: NumericTable?
    public var trainer: NumericTable?
    public var events: TextTable?
    public var timing: LoopTimingReport?
    /// A train directory's config.json (flat) and metrics.csv (one row per epoch).
    public var trainConfig: [(key: String, value: String)] = []
    public var trainMetrics: NumericTable?
    public var eval: EvalResult?
    /// The dataset this directory recorded (RUN_DIR/dataset, config.dataset, or the directory
    /// itself for a teleop recording), when one with a schema.json exists.
    public var datasetDirectory: String?
    /// config.dataset when it names a dataset that is not there (the report says so).
    public var missingDataset: String?
    /// The dataset's kept records, filled in by a caller that reads datasets (`robotctl report`).
    public var recorded: RecordedStreams?

    /// The info value for a dotted key.
    public func value(_ key: String) -> String? { info.first { $0.key == key }?.value }

    /// True when some file the report can show was found.
    public var isReportable: Bool {
        !info.isEmpty || episodes != nil || trainer != nil || timing != nil || trainMetrics != nil || eval != nil
            || datasetDirectory != nil || (events.map { !$0.rows.isEmpty } ?? false)
    }

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
        func object(_ name: String) throws -> [String: Any]? {
            guard let t = try text(name) else { return nil }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any] else {
                throw ReportError.malformed(file: path(name), reason: "is not a JSON object")
            }
            return obj
        }
        if let obj = try object(RunFiles.runInfo) {
            data.info = flatten(obj, prefix: "")
            data.command = obj["command"] as? String
            if let summary = obj["summary"] as? [String: Any] {
                for (k, v) in summary {
                    if let n = v as? NSNumber { data.summaryNumbers[k] = n.doubleValue }
                }
                if let c = summary["ceiling"] {
                    guard let n = c as? NSNumber, n.doubleValue.isFinite else {
                        throw ReportError.malformed(file: path(RunFiles.runInfo), reason: "field summary.ceiling is not a number")
                    }
                    data.ceiling = n.doubleValue
                    data.ceilingSource = summary["ceiling_source"] as? String
                }
            }
        }
        if let obj = try object(RunFiles.trainConfig) { data.trainConfig = flatten(obj, prefix: "") }
        if let t = try text(RunFiles.trainMetrics) { data.trainMetrics = try NumericTable.parse(t, source: path(RunFiles.trainMetrics)) }
        if let obj = try object(RunFiles.evalResult) {
            guard let returns = obj["returns"] as? [NSNumber], !returns.isEmpty else {
                throw ReportError.malformed(file: path(RunFiles.evalResult), reason: "field returns is missing or empty (expected `robotctl eval --json` output)")
            }
            let r = returns.map(\.doubleValue)
            let mean = r.reduce(0, +) / Double(r.count)
            data.eval = EvalResult(
                policy: obj["policy"] as? String ?? "", robot: obj["robot"] as? String ?? "", returns: r,
                mean: (obj["mean"] as? NSNumber)?.doubleValue ?? mean,
                std: (obj["std"] as? NSNumber)?.doubleValue ?? (r.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(r.count)).squareRoot())
        }
        // The dataset: the run's own subdirectory, where config.dataset points, or this directory.
        let configured = data.value("config.dataset")
        let candidates = [path(RunFiles.datasetSubdirectory)] + (configured.map { [$0] } ?? []) + [directory]
        data.datasetDirectory = candidates.first {
            FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent(RunFiles.datasetSchema))
        }
        if data.datasetDirectory == nil, let configured { data.missingDataset = configured }
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
