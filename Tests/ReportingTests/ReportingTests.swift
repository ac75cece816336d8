import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import Reporting

/// Parses `text` as XML and returns the parser's error, if any.
private func xmlError(_ text: String) -> Error? {
    let parser = XMLParser(data: Data(text.utf8))
    return parser.parse() ? nil : (parser.parserError ?? CocoaError(.featureUnsupported))
}

private func makeRunDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: (dir as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    try write(RunFiles.runInfo, #"{"command": "robotctl run", "config": {"task": "pendulum", "seed": 7}, "summary": {"episodes": 3}}"#)
    try write(RunFiles.episodes, "episode,start_s,end_s,ticks,return,policy_version\n0,0,10,2000,-1200.5,0\n1,12,22,2000,-900,1\n2,24,34,2000,-400,2\n")
    try write(RunFiles.policySwaps, "time_s,tick,version,trainer_updates\n11.5,2300,1,5000\n23.0,4600,2,10000\n")
    try write(RunFiles.trainerMetrics, "step,time_s,losses/critic,charts/alpha\n0,0,5.0,1.0\n1000,10,2.5,0.5\n2000,20,nan,0.25\n")
    try write(RunFiles.events, "time_s,tick,kind,detail\n5.0,1000,nan_action,\"policy v1 output NaN, held last command\"\n")
    let h = StoredHistogram(edgesMicros: [0, 10, 20, 40, 80], counts: [10, 200, 5, 1], p50Micros: 15, p99Micros: 35,
                            p999Micros: 70, maxMicros: 79)
    let timing = LoopTimingReport(periodMicros: 5000, ticks: 6800, missedTicks: 2, wakeupLatency: h,
                                  stages: ["infer": h, "total": h, "read": h], realtime: "not granted: <SCHED_FIFO>")
    try write(RunFiles.loopTiming, String(decoding: try JSONEncoder().encode(timing), as: UTF8.self))
    return dir
}

@Test("nice ticks step by 1, 2 or 5 times a power of ten and cover the range")
func niceTickSteps() {
    let ticks = niceTicks(low: -1234, high: 87, approximateCount: 5)
    #expect(ticks.first! >= -1234 && ticks.last! <= 87)
    let step = ticks[1] - ticks[0]
    #expect([100.0, 200, 500].contains(step))
    #expect(niceTicks(low: 0, high: 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    #expect(niceTicks(low: 3, high: 3) == [3])
    #expect(niceTicks(low: .nan, high: 1).isEmpty)
}

@Test("a line chart with bands, markers and NaN gaps is well-formed SVG")
func lineChartIsWellFormed() {
    let s = ChartSeries(name: "h2o+ <mean>", x: [0, 1, 2, 3], y: [1, .nan, 3, 4],
                        band: (lower: [0, 0, 2, 3], upper: [2, 2, 4, 5]))
    let svg = lineChartSVG(title: "returns & more", xLabel: "epoch", yLabel: "return", series: [s],
                           markers: [ChartMarker(x: 1.5, label: "swap")])
    #expect(xmlError(svg) == nil)
    #expect(svg.contains("h2o+ &lt;mean&gt;"))
    #expect(svg.contains("<polygon"))
    // The NaN splits the line: one single point, then a two-point polyline.
    #expect(svg.components(separatedBy: "<polyline").count - 1 == 1)
    #expect(svg.contains("<circle"))
}

@Test("an empty chart says so instead of drawing nothing")
func emptyChart() {
    let svg = lineChartSVG(title: "t", xLabel: "x", yLabel: "y", series: [])
    #expect(xmlError(svg) == nil)
    #expect(svg.contains("no data"))
    let h = histogramSVG(title: "t", xLabel: "µs", edges: [0, 1], counts: [0])
    #expect(h.contains("no data"))
}

@Test("CSV cells with commas and quotes survive a round trip")
func csvRoundTrip() {
    let cells = ["plain", "with, comma", "with \"quote\"", ""]
    let line = cells.map(csvCell).joined(separator: ",")
    #expect(splitCSVLine(line) == cells)
}

@Test("the report shows returns by policy version, swaps, trainer curves, timing and events")
func fullReport() throws {
    let dir = try makeRunDirectory()
    let run = try RunData.load(directory: dir)
    #expect(run.info.contains { $0.key == "config.task" && $0.value == "pendulum" })
    let html = renderRunReport(run)
    #expect(xmlError(html.replacingOccurrences(of: "<!DOCTYPE html>", with: "")) == nil)
    #expect(html.contains("swap to policy v1") && html.contains("swap to policy v2"))
    #expect(html.contains("losses/critic") && html.contains("charts/alpha"))
    #expect(html.contains("Stage read") && html.contains("Stage infer") && html.contains("Stage total"))
    // Stages in pipeline order, not alphabetical.
    let read = html.range(of: "Stage read")!.lowerBound, infer = html.range(of: "Stage infer")!.lowerBound
    #expect(read < infer)
    #expect(html.contains("not granted: &lt;SCHED_FIFO&gt;"))
    #expect(html.contains("policy v1 output NaN, held last command"))
    #expect(html.contains("<td>-400</td>"))  // mean return of policy v2
}

@Test("a damaged timing file is named in one line with what to do")
func damagedTimingFile() throws {
    let dir = try makeRunDirectory()
    let path = (dir as NSString).appendingPathComponent(RunFiles.loopTiming)
    try "{\"periodMicros\": 5000}".write(toFile: path, atomically: true, encoding: .utf8)
    #expect {
        _ = try RunData.load(directory: dir)
    } throws: { error in
        let message = "\(error)"
        return message.hasPrefix(path) && message.contains("delete it") && !message.contains("\n")
    }
}

@Test("a missing run directory is a clear error")
func missingDirectory() {
    #expect(throws: ReportError.notADirectory("/nonexistent/run")) {
        _ = try RunData.load(directory: "/nonexistent/run")
    }
}

@Test("running mean over a window ignores NaN")
func runningMeanWindow() {
    let m = runningMean([1, 2, 3, .nan, 5], window: 2)
    #expect(m[0] == 1 && m[1] == 1.5 && m[2] == 2.5 && m[3] == 3 && m[4] == 5)
}

@Test("exploring episodes are drawn apart and left out of the per-version table; kept candidates and calibrations are marked")
func exploringAndKeptMarkers() throws {
    let dir = try makeRunDirectory()
    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: (dir as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    try write(RunFiles.episodes, """
        episode,start_s,end_s,ticks,return,policy_version,aborted,partial_return,late_ticks,exploring
        0,0,10,2000,-600,1,0,-600,0,0
        1,12,22,2000,-900,1,0,-900,0,1
        2,24,34,2000,-500,2,0,-500,0,0

        """)
    try write(RunFiles.events, """
        time_s,tick,kind,detail
        11.0,2200,simulator_calibrated,"inertia 0.354 (nominal 0.333), actuator_gain 0.70 (1.00)"
        35.0,7000,policy_kept,"v2 returned -500.0 (mean -500.0) on the robot, above the running v1's -600.0 over 1 episodes"

        """)
    let html = renderRunReport(try RunData.load(directory: dir))
    #expect(xmlError(html.replacingOccurrences(of: "<!DOCTYPE html>", with: "")) == nil)
    #expect(html.contains("exploring episode (action noise)"))
    #expect(html.contains("kept v2") && html.contains("simulator calibrated"))
    // Policy v1's row counts its one deterministic episode (−600), not the exploring one.
    #expect(html.contains("<tr><td>1</td><td>1</td><td>-600</td>"))
}
