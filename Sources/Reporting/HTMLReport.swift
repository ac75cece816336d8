// Renders a run directory as one self-contained HTML page (inline CSS and SVG, no scripts,
// no network): summary, episode returns over time with policy swaps marked, trainer learning
// curves, loop-timing histograms, per-stage timing, safety events.

import Foundation

/// Builds the report page for `run`.
public func renderRunReport(_ run: RunData, title: String? = nil) -> String {
    var body = ""
    let heading = title ?? "Run report: \((run.directory as NSString).lastPathComponent)"
    body += "<h1>\(xmlEscaped(heading))</h1>\n"

    if !run.info.isEmpty {
        body += "<h2>Summary</h2>\n<table>\n"
        for (k, v) in run.info { body += "<tr><th>\(xmlEscaped(k))</th><td>\(xmlEscaped(v))</td></tr>\n" }
        body += "</table>\n"
    }

    let swapMarkers = swapMarkersOf(run)
    if let ep = run.episodes, let end = ep.column("end_s"), let ret = ep.column("return") {
        body += "<h2>Episode return on the robot</h2>\n"
        body += "<p>Each point is one episode's undiscounted return, at the time it ended. Dashed lines mark policy swaps (green: a candidate goes on trial or the running policy is restored; red: a candidate kept after its trial on the robot; blue: the onboard simulator calibrated on the robot).</p>\n"
        // Exploring episodes (noise added to the actions for the learner) are drawn apart as
        // dots: they measure no policy. Older runs have no `exploring` column.
        let exploring = ep.column("exploring") ?? [Double](repeating: 0, count: ret.count)
        let plain = ret.indices.filter { exploring[$0] != 1 }
        let noisy = ret.indices.filter { exploring[$0] == 1 }
        let plainX = plain.map { end[$0] }, plainY = plain.map { ret[$0] }
        var series = [ChartSeries(name: noisy.isEmpty ? "episode return" : "episode return (deterministic)", x: plainX, y: plainY)]
        if let versions = ep.column("policy_version") {
            // A running mean over the last 5 episodes makes the trend readable.
            series.append(ChartSeries(name: "mean of last 5", x: plainX, y: runningMean(plainY, window: 5)))
            body += returnByVersionTable(versions: plain.map { versions[$0] }, returns: plainY)
        }
        if !noisy.isEmpty {
            // NaN between points: each exploring episode is its own dot.
            let x = noisy.flatMap { [end[$0], .nan] }, y = noisy.flatMap { [ret[$0], .nan] }
            series.append(ChartSeries(name: "exploring episode (action noise)", x: x, y: y, color: "#aaaaaa"))
        }
        body += lineChartSVG(title: "Episode return", xLabel: "time (s)", yLabel: "return", series: series,
                             markers: swapMarkers + keptMarkersOf(run))
    }

    if let tr = run.trainer {
        let x = tr.column("time_s") ?? tr.column("step") ?? []
        let xLabel = tr.columns.contains("time_s") ? "time (s)" : "update"
        let groups = Dictionary(grouping: tr.columns.filter { $0.contains("/") }) { $0.split(separator: "/")[0] }
        body += "<h2>Trainer</h2>\n"
        for group in groups.keys.sorted() {
            for name in groups[group]!.sorted() {
                guard let y = tr.column(name), y.contains(where: \.isFinite) else { continue }
                body += lineChartSVG(title: name, xLabel: xLabel, yLabel: name,
                                     series: [ChartSeries(name: "", x: x, y: y)], markers: swapMarkers)
            }
        }
    }

    if let t = run.timing {
        body += "<h2>Loop timing</h2>\n"
        body += "<p>Period \(formatTick(t.periodMicros)) µs, \(t.ticks) ticks, \(t.missedTicks) missed deadlines. Real-time set-up: \(xmlEscaped(t.realtime)).</p>\n"
        body += "<table><tr><th>measure</th><th>p50 (µs)</th><th>p99 (µs)</th><th>p99.9 (µs)</th><th>max (µs)</th></tr>\n"
        let rows = [("wake-up latency", t.wakeupLatency)] + stageOrder(t.stages).map { ($0, t.stages[$0]!) }
        for (name, h) in rows {
            body += "<tr><th>\(xmlEscaped(name))</th><td>\(formatTick(h.p50Micros))</td><td>\(formatTick(h.p99Micros))</td><td>\(formatTick(h.p999Micros))</td><td>\(formatTick(h.maxMicros))</td></tr>\n"
        }
        body += "</table>\n"
        let w = t.wakeupLatency
        body += histogramSVG(title: "Wake-up latency (actual − deadline)", xLabel: "µs", edges: w.edgesMicros,
                             counts: w.counts, markers: [ChartMarker(x: w.p99Micros, label: "p99", color: "#d62728")])
        for name in stageOrder(t.stages) {
            let h = t.stages[name]!
            body += histogramSVG(title: "Stage \(name): compute time", xLabel: "µs", edges: h.edgesMicros,
                                 counts: h.counts, markers: [ChartMarker(x: h.p99Micros, label: "p99", color: "#d62728")])
        }
    }

    if let ev = run.events, !ev.rows.isEmpty {
        body += "<h2>Events</h2>\n<table><tr>" + ev.columns.map { "<th>\(xmlEscaped($0))</th>" }.joined() + "</tr>\n"
        for row in ev.rows.prefix(500) { body += "<tr>" + row.map { "<td>\(xmlEscaped($0))</td>" }.joined() + "</tr>\n" }
        if ev.rows.count > 500 { body += "<tr><td colspan=\"\(ev.columns.count)\">… \(ev.rows.count - 500) more in \(RunFiles.events)</td></tr>\n" }
        body += "</table>\n"
    }

    return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(xmlEscaped(heading))</title>
        <style>
        body { font-family: sans-serif; max-width: 760px; margin: 2em auto; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
        th { background: #f4f4f4; }
        svg { display: block; margin: 1em 0; }
        </style></head><body>
        \(body)
        </body></html>

        """
}

private func stageOrder(_ stages: [String: StoredHistogram]) -> [String] {
    let preferred = ["read", "infer", "write", "record", "total"]
    return preferred.filter { stages[$0] != nil } + stages.keys.filter { !preferred.contains($0) }.sorted()
}

private func swapMarkersOf(_ run: RunData) -> [ChartMarker] {
    guard let s = run.swaps, let t = s.column("time_s"), let v = s.column("version") else { return [] }
    return zip(t, v).map { ChartMarker(x: $0, label: "swap to policy v\(Int($1))", color: "#2ca02c") }
}

/// One marker per `policy_kept` event (a candidate that became the running policy, red) and
/// per `simulator_calibrated` event (the onboard simulator fitted to the robot, blue).
private func keptMarkersOf(_ run: RunData) -> [ChartMarker] {
    guard let ev = run.events, let t = ev.columns.firstIndex(of: "time_s"), let k = ev.columns.firstIndex(of: "kind"),
        let d = ev.columns.firstIndex(of: "detail")
    else { return [] }
    return ev.rows.compactMap { row in
        guard row.count > max(t, k, d), let x = Double(row[t]) else { return nil }
        if row[k] == "simulator_calibrated" { return ChartMarker(x: x, label: "simulator calibrated", color: "#1f77b4") }
        guard row[k] == "policy_kept" else { return nil }
        let version = row[d].split(separator: " ").first.map(String.init) ?? ""
        return ChartMarker(x: x, label: "kept \(version)", color: "#d62728")
    }
}

/// Mean of the last `window` values at each index.
public func runningMean(_ values: [Double], window: Int) -> [Double] {
    var out: [Double] = []
    out.reserveCapacity(values.count)
    for i in values.indices {
        let slice = values[max(0, i - window + 1)...i].filter(\.isFinite)
        out.append(slice.isEmpty ? .nan : slice.reduce(0, +) / Double(slice.count))
    }
    return out
}

private func returnByVersionTable(versions: [Double], returns: [Double]) -> String {
    var order: [Int] = []
    var byVersion: [Int: [Double]] = [:]
    for (v, r) in zip(versions, returns) where v.isFinite && r.isFinite {
        let key = Int(v)
        if byVersion[key] == nil { order.append(key) }
        byVersion[key, default: []].append(r)
    }
    guard !order.isEmpty else { return "" }
    var s = "<table><tr><th>policy version</th><th>episodes</th><th>mean return</th><th>std</th></tr>\n"
    for v in order {
        let r = byVersion[v]!
        let mean = r.reduce(0, +) / Double(r.count)
        let std = (r.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, r.count - 1))).squareRoot()
        s += "<tr><td>\(v)</td><td>\(r.count)</td><td>\(formatTick(mean))</td><td>\(r.count > 1 ? formatTick(std) : "–")</td></tr>\n"
    }
    return s + "</table>\n"
}
