import Foundation
import Testing
import TestSupport

@testable import Reporting

/// Debian's chromium (installed by `make test-deps`), or nil after printing why not.
func headlessChromium() -> String? {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    if found == nil { print("note: skipping the browser check of the report: chromium is not installed (make test-deps installs it)") }
    return found
}

/// Loads `file` in headless chromium: the DOM after rendering, and the console messages the
/// page produced (chromium logs each as `CONSOLE` on stderr; SVG attribute errors included).
func renderInChromium(_ chromium: String, _ file: String, screenshot: String? = nil) throws -> (dom: String, console: [String]) {
    let common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--user-data-dir=" + FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)").path]
    let r = try runProcess(chromium, common + ["--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + file], timeout: 120)
    #expect(r.status == 0, "chromium --dump-dom failed: \(r.stderr.suffix(2000))")
    let console = r.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
    if let screenshot {
        let s = try runProcess(chromium, common + ["--hide-scrollbars", "--window-size=1480,2400", "--screenshot=" + screenshot, "file://" + file],
                               timeout: 120)
        #expect(s.status == 0, "chromium --screenshot failed: \(s.stderr.suffix(2000))")
    }
    return (r.stdout, console)
}

/// The rendered charts (`<svg class="chart">` … `</svg>`) of a DOM.
func charts(in dom: String) -> [(title: String, svg: String)] {
    dom.components(separatedBy: "<svg class=\"chart\"").dropFirst().map { part in
        let svg = part.components(separatedBy: "</svg>")[0]
        let title = svg.components(separatedBy: "font-weight=\"bold\">").dropFirst().first?.components(separatedBy: "<")[0] ?? "?"
        return (title, svg)
    }
}

@Test("the report of a short real run renders in headless chromium with data in every chart and no console errors; its MCAP opens in Python",
      .timeLimit(.minutes(10)))
func browserReportOfARealRun() throws {
    guard let chromium = headlessChromium() else { return }
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("browser-report-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let robotctl = builtProduct("robotctl")
    let runDir = (work as NSString).appendingPathComponent("run")
    // A short run on the emulated robot: one full episode (10 s) and part of a second. The
    // starting policy gets 20 simulator updates only (a poor swing-up; the report, not the
    // learning, is under test), so the test stays near a minute in debug builds too.
    let run = try runProcess(robotctl, ["run", "--duration", "24", "--pretrain-updates", "20", "--run-directory", runDir, "--seed", "3"],
                             currentDirectory: work, timeout: 300)
    try #require(run.status == 0, "robotctl run failed: \(run.stderr.suffix(3000))")

    let report = try runProcess(robotctl, ["report", runDir, "--mcap"], timeout: 120)
    try #require(report.status == 0, "robotctl report failed: \(report.stderr)")
    #expect(report.stdout.contains("report: wrote") && report.stdout.contains("mcap: wrote"))
    let page = (runDir as NSString).appendingPathComponent(RunFiles.report)
    let shot = (work as NSString).appendingPathComponent("report.png")
    let (dom, console) = try renderInChromium(chromium, page, screenshot: shot)

    // The page rendered: its heading and sections are in the DOM chromium built.
    #expect(dom.contains("<h1>") && dom.contains("At a glance") && dom.contains("Loop timing"))
    let rendered = charts(in: dom)
    let titles = rendered.map(\.title)
    #expect(titles.contains("Episode return over the run"), "\(titles)")
    #expect(titles.contains { $0.hasPrefix("Joint pendulum: position") }, "\(titles)")
    #expect(titles.contains("Wake-up latency (actual − deadline)"), "\(titles)")
    #expect(rendered.count >= 6, "\(titles)")
    for chart in rendered {
        #expect(chart.svg.contains("class=\"data\""), "chart \"\(chart.title)\" has no data marks")
        #expect(!chart.svg.contains("no data"), "chart \"\(chart.title)\" says no data")
    }
    #expect(console.isEmpty, "console messages: \(console.joined(separator: "\n"))")
    let png = try Data(contentsOf: URL(fileURLWithPath: shot))
    #expect(png.count > 20_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    print("browser report test: \(rendered.count) charts with data, screenshot \(shot)")

    // The MCAP export of the same run: one channel per stream, one message per dataset record.
    let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: (runDir as NSString).appendingPathComponent(RunFiles.runInfo)))) as! [String: Any]
    let records = ((info["summary"] as! [String: Any])["records_written"] as! NSNumber).intValue
    #expect(records > 1000)
    if let python = mcapPython() {
        let r = try readWithPython(python, (runDir as NSString).appendingPathComponent(RunFiles.mcap))
        for topic in ["/joint_states", "/observation", "/action", "/reward", "/loop_timing", "/policy_version", "/episode_return", "/events",
                      "/loop_timing_summary"] {
            #expect(r.channels[topic] != nil, "no channel \(topic)")
        }
        for topic in RunStreamsMCAP.perTickTopics { #expect(r.counts[topic] == records, "\(topic): \(r.counts[topic] ?? 0) vs \(records) records") }
    }

    // `dataset plot` breaks its lines between episodes: one polyline per series and episode in
    // the observation chart (3 series), none drawn across a reset.
    let plot = (work as NSString).appendingPathComponent("plot.html")
    let p = try runProcess(robotctl, ["dataset", "plot", (runDir as NSString).appendingPathComponent("dataset"), "--output", plot], timeout: 120)
    try #require(p.status == 0, "dataset plot failed: \(p.stderr)")
    let episodesPlotted = Int(p.stdout.components(separatedBy: " episodes")[0].split(separator: " ").last ?? "") ?? 0
    #expect(episodesPlotted >= 2, "\(p.stdout)")
    let observationChart = charts(in: try String(contentsOfFile: plot, encoding: .utf8)).first { $0.title == "Observations" }
    #expect(observationChart.map { $0.svg.components(separatedBy: "<polyline").count - 1 } == 3 * episodesPlotted)

    // A directory with nothing to report: one line on stderr and a non-zero exit.
    let empty = (work as NSString).appendingPathComponent("empty")
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    let none = try runProcess(robotctl, ["report", empty], timeout: 60)
    #expect(none.status != 0)
    #expect(none.stderr.contains("holds nothing to report") && none.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1)
    #expect(!FileManager.default.fileExists(atPath: (empty as NSString).appendingPathComponent(RunFiles.report)))
}

@Test("a recording (teleop-style dataset) and a train directory render in chromium with data in every chart")
func browserReportOfOtherDirectories() throws {
    guard let chromium = headlessChromium() else { return }
    var recording = try RunData.load(directory: try directory(with: [RunFiles.datasetSchema: "{}"]))
    recording.recorded = pendulumStreams(episodes: 3, perEpisode: 100)
    let train = try RunData.load(directory: try directory(with: [
        RunFiles.trainConfig: #"{"algorithm": "h2o+"}"#,
        RunFiles.trainMetrics: "epoch,updates,losses/critic,charts/alpha,charts/eval_return\n1,1000,3,0.5,\n2,2000,2,0.4,-700\n3,3000,1.5,0.3,-500\n",
    ]))
    for data in [recording, train] {
        let page = (data.directory as NSString).appendingPathComponent(RunFiles.report)
        try renderRunReport(data).write(toFile: page, atomically: true, encoding: .utf8)
        let (dom, console) = try renderInChromium(chromium, page)
        let rendered = charts(in: dom)
        #expect(rendered.count >= 3, "\(rendered.map(\.title))")
        for chart in rendered { #expect(chart.svg.contains("class=\"data\""), "chart \"\(chart.title)\" has no data marks") }
        #expect(console.isEmpty, "console messages: \(console.joined(separator: "\n"))")
    }
}
