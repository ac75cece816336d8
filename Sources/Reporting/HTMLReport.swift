// Renders a run, train, teleop (dataset) or eval directory as one self-contained HTML page
// (inline CSS and SVG, no scripts, no network), written for a person: what was run, a table
// of the figures that matter with what each means, the headline (return over time against
// the ceiling, swaps marked), the joints over a first and a last episode, trainer curves with
// titles and units, loop timing on log axes with percentiles, and an event timeline with
// repeated events folded. The raw run.json values stay available at the end.

import Foundation

/// Builds the report page for `run`.
public func renderRunReport(_ run: RunData, title: String? = nil) -> String {
    let heading = title ?? defaultHeading(run)
    var body = "<h1>\(xmlEscaped(heading))</h1>\n"
    body += "<p class=\"lead\">\(xmlEscaped(leadSentence(run)))</p>\n"
    body += glanceSection(run)
    body += headlineSection(run)
    body += trajectorySection(run)
    body += onRobotTrainerSection(run)
    body += trainingSection(run)
    body += timingSection(run)
    body += eventSection(run)
    body += rawValuesSection(run)
    return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(xmlEscaped(heading))</title>
        <style>
        body { font-family: sans-serif; max-width: 1480px; margin: 2em auto; padding: 0 1em; color: #222; }
        p, table, details { max-width: 960px; }
        p.lead { font-size: 15px; }
        p.note { color: #555; font-size: 13px; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
        th { background: #f4f4f4; }
        td.num { text-align: right; white-space: nowrap; }
        .grid { display: flex; flex-wrap: wrap; gap: 8px; }
        .grid figure { margin: 0; width: 720px; max-width: 100%; }
        figure { margin: 1em 0; }
        figcaption { font-size: 12px; color: #555; max-width: 700px; }
        svg { display: block; max-width: 100%; height: auto; }
        </style></head><body>
        \(body)
        </body></html>

        """
}

// MARK: What this directory is

private func defaultHeading(_ run: RunData) -> String {
    let name = (run.directory as NSString).lastPathComponent
    switch kind(run) {
    case .run: return "Run report: \(name)"
    case .eval: return "Evaluation report: \(name)"
    case .train: return "Training report: \(name)"
    case .dataset: return "Recording report: \(name)"
    }
}

private enum Kind { case run, eval, train, dataset }

private func kind(_ run: RunData) -> Kind {
    if run.command == "eval" || (run.command == nil && run.eval != nil) { return .eval }
    if run.command != nil || run.episodes != nil || run.timing != nil { return .run }
    if run.trainMetrics != nil || !run.trainConfig.isEmpty { return .train }
    return .dataset
}

private func leadSentence(_ run: RunData) -> String {
    var parts: [String] = []
    switch kind(run) {
    case .run:
        let finetuned = !["0", "false"].contains(run.value("config.finetune") ?? "true")
        parts.append("robotctl \(run.command ?? "run") drove the robot with a policy at the control rate"
            + (finetuned ? " while the trainer fine-tuned it on the robot" : " (fine-tuning off)"))
        if let robot = run.value("config.robot") { parts.append("robot: \(robot)") }
        if let task = run.value("config.task") { parts.append("task: \(task)") }
    case .eval:
        parts.append("robotctl eval ran deterministic episodes of a policy on the robot; nothing was trained")
        if let e = run.eval { parts.append("policy \(e.policy) on \(e.robot)") }
    case .train:
        parts.append("robotctl train trained a policy offline on recorded real data plus the onboard simulator")
        if let a = run.trainConfig.first(where: { $0.key == "algorithm" }) { parts.append("algorithm: \(a.value)") }
    case .dataset:
        parts.append("A recorded dataset (robotctl teleop --record, or a run's recording)")
        if let r = run.recorded { parts.append("robot \(r.robotID), task \(r.task), source \(r.source), \(formatTick(r.controlRateHz)) Hz") }
    }
    if let started = run.value("started") { parts.append("started \(started)") }
    return parts.joined(separator: "; ") + "."
}

// MARK: At a glance

private func glanceSection(_ run: RunData) -> String {
    var rows: [(String, String, String)] = []
    let s = run.summaryNumbers
    for e in summaryCatalog {
        let value: Double? = e.key == "ceiling" ? run.ceiling : s[e.key]
        guard let v = value, v.isFinite else { continue }
        var text = formatTick(v)
        if let spread = e.spreadKey, let sd = s[spread], sd.isFinite { text += " ± " + formatTick(sd) }
        if !e.unit.isEmpty { text += " " + e.unit }
        var meaning = e.meaning
        if e.key == "ceiling", let source = run.ceilingSource { meaning += " — \(source)" }
        rows.append((e.label, text, meaning))
    }
    if let reason = run.value("summary.end_reason") { rows.append(("Ended by", reason, "why the run stopped")) }
    if let e = run.eval {
        rows.append(("Return", "\(formatTick(e.mean)) ± \(formatTick(e.std))", "mean ± std over \(e.returns.count) deterministic episodes on the robot"))
        rows.append(("Worst / best", "\(formatTick(e.returns.min()!)) / \(formatTick(e.returns.max()!))", "the lowest and highest episode return"))
    }
    if let m = run.trainMetrics {
        if let epochs = m.column("epoch")?.last { rows.append(("Epochs", formatTick(epochs), "training epochs completed")) }
        if let updates = m.column("updates")?.last { rows.append(("Updates", formatTick(updates), "gradient updates in total")) }
        if let ev = m.column("charts/eval_return")?.last(where: \.isFinite) {
            rows.append(("Last evaluation return", formatTick(ev), metricEntry("charts/eval_return").meaning))
        }
        for key in ["algorithm", "preset", "dataset", "seed"] {
            if let v = run.trainConfig.first(where: { $0.key == key })?.value { rows.append((key.capitalized, v, "from config.json")) }
        }
    }
    if let r = run.recorded, kind(run) == .dataset {
        let eps = r.episodes
        rows.append(("Records", "\(r.count)", "ticks recorded at \(formatTick(r.controlRateHz)) Hz (one record per tick; the action is held between decisions)"))
        rows.append(("Episodes", "\(eps.count)", "\(eps.filter(\.complete).count) ran to their end, \(eps.filter(\.aborted).count) were aborted by a safety stop"))
        if let last = r.timestampNanos.last, let first = r.timestampNanos.first {
            rows.append(("Duration", formatTick(Double(last &- first) * 1e-9) + " s", "from the first to the last record (resets between episodes included)"))
        }
        rows.append(("Reward", r.rewardDefinition, "the reward each record carries"))
    }
    guard !rows.isEmpty else { return "" }
    var html = "<h2>At a glance</h2>\n<table><tr><th>figure</th><th>value</th><th>what it means</th></tr>\n"
    for (label, value, meaning) in rows {
        html += "<tr><th>\(xmlEscaped(label))</th><td class=\"num\">\(xmlEscaped(value))</td><td>\(xmlEscaped(meaning))</td></tr>\n"
    }
    return html + "</table>\n"
}

// MARK: Headline

private func figure(_ svg: String, caption: String = "") -> String {
    "<figure>\(svg)" + (caption.isEmpty ? "" : "<figcaption>\(xmlEscaped(caption))</figcaption>") + "</figure>\n"
}

private func headlineSection(_ run: RunData) -> String {
    if let ep = run.episodes, let end = ep.column("end_s"), let ret = ep.column("return"), ret.contains(where: \.isFinite) {
        var html = "<h2>Return on the robot</h2>\n"
        // Exploring episodes (noise added to the actions for the learner) are drawn apart as
        // dots: they measure no policy. Older runs have no `exploring` column.
        let exploring = ep.column("exploring") ?? [Double](repeating: 0, count: ret.count)
        let plain = ret.indices.filter { exploring[$0] != 1 }
        let noisy = ret.indices.filter { exploring[$0] == 1 }
        let plainX = plain.map { end[$0] }, plainY = plain.map { ret[$0] }
        var series = [ChartSeries(name: noisy.isEmpty ? "episode return" : "episode return (deterministic)", x: plainX, y: plainY)]
        var table = ""
        if let versions = ep.column("policy_version") {
            // A running mean over the last 5 episodes makes the trend readable.
            series.append(ChartSeries(name: "mean of last 5", x: plainX, y: runningMean(plainY, window: 5)))
            table = returnByVersionTable(versions: plain.map { versions[$0] }, returns: plainY)
        }
        if !noisy.isEmpty {
            // NaN between points: each exploring episode is its own dot.
            let x = noisy.flatMap { [end[$0], .nan] }, y = noisy.flatMap { [ret[$0], .nan] }
            series.append(ChartSeries(name: "exploring episode (action noise)", x: x, y: y, color: "#aaaaaa"))
        }
        if let c = run.ceiling, let lo = end.filter(\.isFinite).min(), let hi = end.filter(\.isFinite).max() {
            series.append(ChartSeries(name: String(format: "ceiling %.1f", c), x: [min(0, lo), hi], y: [c, c], color: "#000000", dashed: true))
        }
        let markers = swapMarkersOf(run) + keptMarkersOf(run)
        html += figure(lineChartSVG(title: "Episode return over the run", xLabel: "time since the loop started (s)",
                                    yLabel: "return (sum of rewards per episode)", series: series, markers: markers),
                       caption: "Each point is one episode's undiscounted return, at the time it ended; higher is better. Dashed vertical lines: green, a policy swap (a candidate goes on trial or the running policy is restored); red, a candidate kept after its trial; blue, the onboard simulator calibrated on the robot."
                           + (run.ceiling == nil ? " This run directory states no ceiling (summary.ceiling in run.json)." : " Dashed black: the ceiling."))
        return html + table
    }
    if let e = run.eval {
        let x = e.returns.indices.map { Double($0 + 1) }
        let series = [ChartSeries(name: "episode return", x: x, y: e.returns),
                      ChartSeries(name: "mean \(formatTick(e.mean))", x: [1, Double(max(1, e.returns.count))], y: [e.mean, e.mean], color: "#000000", dashed: true)]
        return "<h2>Return on the robot</h2>\n" + figure(lineChartSVG(title: "Evaluation: return per episode", xLabel: "episode", yLabel: "return", series: series),
                                                        caption: "Deterministic episodes of the evaluated policy; the dashed line is their mean.")
    }
    if let m = run.trainMetrics, let y = m.column("charts/eval_return"), y.contains(where: \.isFinite) {
        let x = m.column("epoch") ?? y.indices.map(Double.init)
        let keep = y.indices.filter { y[$0].isFinite }
        return "<h2>Evaluation return over training</h2>\n"
            + figure(lineChartSVG(title: "Evaluation return", xLabel: "epoch", yLabel: "return",
                                  series: [ChartSeries(name: "deterministic policy, emulated plant", x: keep.map { x[$0] }, y: keep.map { y[$0] })]),
                     caption: metricEntry("charts/eval_return").meaning + "; higher is better.")
    }
    if let r = run.recorded, kind(run) == .dataset {
        let eps = r.episodes
        guard !eps.isEmpty else { return "" }
        let done = eps.filter(\.complete)
        let cut = eps.filter { !$0.complete }
        var series = [ChartSeries(name: "complete episode", x: done.map { Double($0.episode) }, y: done.map(\.rewardSum))]
        if !cut.isEmpty {
            series.append(ChartSeries(name: "aborted or cut off", x: cut.flatMap { [Double($0.episode), .nan] },
                                      y: cut.flatMap { [$0.rewardSum, .nan] }, color: "#aaaaaa"))
        }
        return "<h2>Return per recorded episode</h2>\n"
            + figure(lineChartSVG(title: "Sum of recorded rewards per episode", xLabel: "episode", yLabel: "sum of per-tick rewards", series: series),
                     caption: "Each record carries the reward of its tick (\(formatTick(r.controlRateHz)) Hz), so these sums are over ticks, not over policy decisions: compare them with each other, not with a run's episode returns.")
    }
    return ""
}

// MARK: Joints over an episode

private func trajectorySection(_ run: RunData) -> String {
    guard let r = run.recorded else {
        if let missing = run.missingDataset {
            return "<h2>Joints over an episode</h2>\n<p class=\"note\">The run's dataset (\(xmlEscaped(missing))) is not there, so the joint trajectories are left out; pass the directory it was moved to with --dataset.</p>\n"
        }
        return ""
    }
    let eps = r.episodes
    // The first and last episodes that ran to their end, preferring deterministic ones.
    let complete = eps.filter(\.complete)
    let pool = complete.filter { !$0.exploring }.isEmpty ? complete : complete.filter { !$0.exploring }
    let candidates = pool.isEmpty ? eps : pool
    guard let first = candidates.first, let last = candidates.last else { return "" }
    let picked = first.episode == last.episode && first.range == last.range ? [first] : [first, last]
    func label(_ e: RecordedStreams.EpisodeSummary, _ which: String) -> String {
        "\(which): episode \(e.episode)" + (e.teleop ? " (teleop)" : " (policy v\(e.policyVersion))")
    }
    let names = picked.count == 1 ? [label(first, "only")] : [label(first, "first"), label(last, "last")]
    let colors = ["#1f77b4", "#d62728"]
    var charts: [String] = []
    func overlay(title: String, yLabel: String, unwrap: Bool = false, _ value: (Int) -> Double) {
        var firstStart: Double?
        let series = zip(picked, names).enumerated().map { k, pair in
            let (e, name) = pair
            let t0 = r.timestampNanos[e.range.lowerBound]
            let step = max(1, e.range.count / 2000)
            let idx = Array(stride(from: e.range.lowerBound, to: e.range.upperBound, by: step))
            var y = idx.map(value)
            if unwrap {
                // Each episode continuous, and on the 2π branch nearest the first episode's start.
                y = unwrapped(y)
                if let start = y.first(where: \.isFinite) {
                    if let reference = firstStart {
                        let shift = ((reference - start) / (2 * .pi)).rounded() * 2 * .pi
                        y = y.map { $0 + shift }
                    } else { firstStart = start }
                }
            }
            return ChartSeries(name: name, x: idx.map { Double(r.timestampNanos[$0] &- t0) * 1e-9 }, y: y, color: colors[k])
        }
        guard series.contains(where: { $0.y.contains(where: \.isFinite) }) else { return }
        charts.append(figure(lineChartSVG(title: title, xLabel: "time since the episode started (s)", yLabel: yLabel, series: series)))
    }
    for j in r.joints {
        if j.position != nil {
            // An angle read as atan2(sin, cos) jumps by 2π where it crosses ±π (a hanging
            // pendulum does all the time): unwrapped, the swing is one continuous line.
            let angle = if case .angle = j.position { true } else { false }
            overlay(title: "Joint \(j.name): position" + (angle ? " (angle, unwrapped)" : ""), yLabel: "\(j.name) (\(j.positionUnit))",
                    unwrap: angle) { r.position(j, $0) }
        }
        if j.velocity != nil {
            overlay(title: "Joint \(j.name): velocity", yLabel: "\(j.name) velocity (\(j.velocityUnit))") { r.velocity(j, $0) }
        }
    }
    for (c, ch) in r.actionChannels.enumerated() {
        overlay(title: "Action \(ch.name)", yLabel: "\(ch.name) (\(ch.unit))") { Double(r.action($0, c)) }
    }
    guard !charts.isEmpty else { return "" }
    var caption = "From the dataset \(r.directory) (\(r.count) records)."
    if picked.count == 2 {
        caption += String(format: " First episode's reward sum %.1f, last's %.1f (per-tick rewards).", first.rewardSum, last.rewardSum)
    }
    return "<h2>Joints over an episode: first and last</h2>\n<p class=\"note\">\(xmlEscaped(caption)) The two episodes are overlaid on a common time axis, so the change the learning made shows in the shape of the swing.</p>\n<div class=\"grid\">\n"
        + charts.joined() + "</div>\n"
}

/// `angles` with multiples of 2π added so that no step between neighbours exceeds π
/// (numpy.unwrap); NaN is kept and does not reset the offset.
public func unwrapped(_ angles: [Double]) -> [Double] {
    var out = angles
    var offset = 0.0
    var previous: Double?
    for i in angles.indices where angles[i].isFinite {
        if let p = previous {
            let d = angles[i] - p
            if d > .pi { offset -= 2 * .pi } else if d < -.pi { offset += 2 * .pi }
        }
        previous = angles[i]
        out[i] = angles[i] + offset
    }
    return out
}

// MARK: Trainer curves

private func metricCharts(_ table: NumericTable, x: [Double], xLabel: String, markers: [ChartMarker]) -> String {
    var html = ""
    let names = table.columns.filter { $0.contains("/") }
    var shown = Set<String>()
    func group(_ title: String, _ members: [String]) {
        var charts = ""
        for name in members {
            guard let y = table.column(name), y.contains(where: \.isFinite) else { continue }
            let e = metricEntry(name)
            let keep = y.indices.filter { y[$0].isFinite && $0 < x.count && x[$0].isFinite }
            charts += figure(lineChartSVG(title: "\(e.title) — \(name)", xLabel: xLabel, yLabel: e.unit,
                                          series: [ChartSeries(name: "", x: keep.map { x[$0] }, y: keep.map { y[$0] })], markers: markers),
                             caption: e.meaning)
        }
        if !charts.isEmpty { html += "<h3>\(xmlEscaped(title))</h3>\n<div class=\"grid\">\n\(charts)</div>\n" }
    }
    for (prefix, title) in metricGroups {
        let members = names.filter { $0.hasPrefix(prefix + "/") }
        shown.formUnion(members)
        group(title, members)
    }
    let rest = names.filter { !shown.contains($0) }
    if !rest.isEmpty { group("Other metrics", rest) }
    return html
}

private func onRobotTrainerSection(_ run: RunData) -> String {
    guard let tr = run.trainer, !tr.rows.isEmpty else { return "" }
    let x = tr.column("time_s") ?? tr.column("step") ?? []
    let xLabel = tr.columns.contains("time_s") ? "time since the loop started (s)" : "update"
    let charts = metricCharts(tr, x: x, xLabel: xLabel, markers: swapMarkersOf(run))
    guard !charts.isEmpty else { return "" }
    return "<h2>Trainer on the robot</h2>\n<p class=\"note\">Means over blocks of H2O+ updates while the robot ran; dashed green lines are policy swaps.</p>\n" + charts
}

private func trainingSection(_ run: RunData) -> String {
    guard let m = run.trainMetrics, !m.rows.isEmpty else { return "" }
    let x = m.column("epoch") ?? m.rows.indices.map(Double.init)
    let charts = metricCharts(m, x: x, xLabel: "epoch", markers: [])
    guard !charts.isEmpty else { return "" }
    return "<h2>Training curves</h2>\n<p class=\"note\">One point per epoch (means over its updates), from \(RunFiles.trainMetrics).</p>\n" + charts
}

// MARK: Loop timing

private func timingSection(_ run: RunData) -> String {
    guard let t = run.timing else { return "" }
    var html = "<h2>Loop timing</h2>\n"
    html += "<p>Period \(formatTick(t.periodMicros)) µs, \(t.ticks) ticks, \(t.missedTicks) missed deadlines. Real-time set-up: \(xmlEscaped(t.realtime)).</p>\n"
    html += "<table><tr><th>measure</th><th>p50 (µs)</th><th>p99 (µs)</th><th>p99.9 (µs)</th><th>max (µs)</th><th>what it is</th></tr>\n"
    let rows = [("wake-up latency", t.wakeupLatency)] + stageOrder(t.stages).map { ($0, t.stages[$0]!) }
    for (name, h) in rows {
        html += "<tr><th>\(xmlEscaped(name))</th><td class=\"num\">\(formatTick(h.p50Micros))</td><td class=\"num\">\(formatTick(h.p99Micros))</td><td class=\"num\">\(formatTick(h.p999Micros))</td><td class=\"num\">\(formatTick(h.maxMicros))</td><td>\(xmlEscaped(stageMeaning(name)))</td></tr>\n"
    }
    html += "</table>\n<div class=\"grid\">\n"
    for (name, h) in rows where h.counts.contains(where: { $0 > 0 }) {
        let markers = [ChartMarker(x: h.p50Micros, label: "p50 \(formatTick(h.p50Micros)) µs", color: "#2ca02c"),
                       ChartMarker(x: h.p99Micros, label: "p99 \(formatTick(h.p99Micros)) µs", color: "#ff7f0e"),
                       ChartMarker(x: h.maxMicros, label: "max \(formatTick(h.maxMicros)) µs", color: "#d62728")]
        let title = name == "wake-up latency" ? "Wake-up latency (actual − deadline)" : "Stage \(name): time per tick"
        html += figure(logHistogramSVG(title: title, xLabel: "µs", edges: h.edgesMicros, counts: h.counts, maxValue: h.maxMicros, markers: markers),
                       caption: stageMeaning(name))
    }
    return html + "</div>\n"
}

private func stageMeaning(_ name: String) -> String {
    switch name {
    case "wake-up latency": "how late the loop thread woke after each absolute deadline (the scheduler's share)"
    case "read": "reading the robot's state over the link"
    case "infer": "the policy's forward pass (FixedNN, allocation-free)"
    case "write": "sending the command after the safety filter"
    case "record": "handing the transition to the logger's ring"
    case "total": "the whole tick's work, read to record"
    case "period_error": "|actual period − nominal period| between consecutive ticks"
    default: ""
    }
}

private func stageOrder(_ stages: [String: StoredHistogram]) -> [String] {
    let preferred = ["read", "infer", "write", "record", "total", "period_error"]
    return preferred.filter { stages[$0] != nil } + stages.keys.filter { !preferred.contains($0) }.sorted()
}

// MARK: Events

private func eventList(_ run: RunData) -> [(time: Double, kind: String, detail: String)] {
    guard let ev = run.events, let t = ev.columns.firstIndex(of: "time_s"), let k = ev.columns.firstIndex(of: "kind") else { return [] }
    let d = ev.columns.firstIndex(of: "detail")
    return ev.rows.compactMap { row in
        guard row.count > max(t, k) else { return nil }
        return (Double(row[t]) ?? .nan, row[k], d.flatMap { $0 < row.count ? row[$0] : nil } ?? "")
    }
}

private func eventSection(_ run: RunData) -> String {
    let events = eventList(run)
    guard !events.isEmpty else { return "" }
    var kinds: [String] = []
    for e in events where !kinds.contains(e.kind) { kinds.append(e.kind) }
    let rows = kinds.enumerated().map { i, kind in
        TimelineRow(label: kind, times: events.filter { $0.kind == kind }.map(\.time), color: eventColor(kind, i))
    }
    var range: ClosedRange<Double>?
    if let end = run.summaryNumbers["seconds"], end > 0 { range = 0...end }
    var html = "<h2>Events</h2>\n"
    html += figure(eventTimelineSVG(title: "Events over the run", rows: rows, xRange: range),
                   caption: "One row per kind of event, a mark per event; the count is beside the name.")
    let folded = foldEvents(events)
    html += "<table><tr><th>when (s)</th><th>event</th><th>detail</th></tr>\n"
    for f in folded {
        let when = f.count == 1 ? formatTick(f.firstTime) : "\(formatTick(f.firstTime))–\(formatTick(f.lastTime))"
        let detail = f.count == 1 ? f.firstDetail : "first: \(f.firstDetail) · last: \(f.lastDetail)"
        html += "<tr><td class=\"num\">\(when)</td><td>\(xmlEscaped(f.summary))</td><td>\(xmlEscaped(detail))</td></tr>\n"
    }
    return html + "</table>\n"
}

private func eventColor(_ kind: String, _ index: Int) -> String {
    switch kind {
    case "safety_stop", "trainer_diverged", "fault": "#d62728"
    case "policy_kept": "#2ca02c"
    case "policy_rejected", "policy_reverted": "#ff7f0e"
    case "simulator_calibrated": "#1f77b4"
    default: chartPalette[(index + 4) % chartPalette.count]
    }
}

// MARK: Raw values

private func rawValuesSection(_ run: RunData) -> String {
    let shownAbove = Set(summaryCatalog.map { "summary." + $0.key })
    let entries = run.info.filter { !shownAbove.contains($0.key) }
    let train = run.trainConfig
    guard !entries.isEmpty || !train.isEmpty else { return "" }
    var html = "<details><summary>All recorded settings (\(entries.count + train.count) values from run.json / config.json)</summary>\n<table>\n"
    for (k, v) in entries + train { html += "<tr><th>\(xmlEscaped(k))</th><td>\(xmlEscaped(v))</td></tr>\n" }
    return html + "</table></details>\n"
}

// MARK: Helpers

private func swapMarkersOf(_ run: RunData) -> [ChartMarker] {
    guard let s = run.swaps, let t = s.column("time_s"), let v = s.column("version") else { return [] }
    return zip(t, v).map { ChartMarker(x: $0, label: "swap to policy v\(Int($1))", color: "#2ca02c") }
}

/// One marker per `policy_kept` event (a candidate that became the running policy, red) and
/// per `simulator_calibrated` event (the onboard simulator fitted to the robot, blue).
private func keptMarkersOf(_ run: RunData) -> [ChartMarker] {
    eventList(run).compactMap { e in
        guard e.time.isFinite else { return nil }
        if e.kind == "simulator_calibrated" { return ChartMarker(x: e.time, label: "simulator calibrated", color: "#1f77b4") }
        guard e.kind == "policy_kept" else { return nil }
        let version = e.detail.split(separator: " ").first.map(String.init) ?? ""
        return ChartMarker(x: e.time, label: "kept \(version)", color: "#d62728")
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
