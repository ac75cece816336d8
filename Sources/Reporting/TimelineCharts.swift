// Charts for loop timing and events: a histogram on a logarithmic x axis (loop timings span
// 1 µs to seconds) with percentile markers, and an event timeline with one row per kind.
// Also the folding of repeated events for the report's event table. Set-up code.

import Foundation

/// A histogram whose bucket edges are spaced logarithmically, drawn on a log10 x axis from the
/// first to the last non-empty bucket. A first edge of 0 is drawn at half the second edge; an
/// open last bucket (e.g. up to 1e9 µs) is cut at twice `maxValue` so it does not flatten the rest.
public func logHistogramSVG(
    title: String, xLabel: String, edges: [Double], counts: [UInt64], maxValue: Double? = nil,
    markers: [ChartMarker] = []
) -> String {
    precondition(edges.count == counts.count + 1, "histogram: need one more edge than counts")
    let f = Frame()
    var svg = svgHeader(f, title: title)
    guard let first = counts.firstIndex(where: { $0 > 0 }), let last = counts.lastIndex(where: { $0 > 0 }) else {
        svg += "<text x=\"\(num(f.width / 2))\" y=\"\(num(f.height / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text></svg>"
        return svg
    }
    // Drawn edges: all positive, the open tail cut near the maximum.
    var drawn = edges
    if drawn[0] <= 0 { drawn[0] = drawn.count > 1 && drawn[1] > 0 ? drawn[1] / 2 : 0.5 }
    if let m = maxValue, m.isFinite, m > 0 {
        let cut = max(drawn[last] * 1.5, m * 2)
        if drawn[last + 1] > cut { drawn[last + 1] = cut }
    }
    for i in 1..<drawn.count where drawn[i] <= drawn[i - 1] { drawn[i] = drawn[i - 1] * 1.01 }
    let lo = log10(drawn[first]), hi = log10(drawn[last + 1])
    let span = max(hi - lo, 1e-9)
    let sx = { (x: Double) in f.left + (log10(max(x, drawn[first])) - lo) / span * f.plotWidth }
    let heights = counts.map { log10(1 + Double($0)) }
    let top = heights.max()!
    let sy = { (y: Double) in f.top + (1 - y / top) * f.plotHeight }
    let decades = Array(Int(lo.rounded(.down))...Int(hi.rounded(.up))).map { pow(10, Double($0)) }
        .filter { $0 >= drawn[first] * 0.999 && $0 <= drawn[last + 1] * 1.001 }
    svg += axes(f, xTicks: decades, yTicks: (0...Int(top.rounded(.up))).map(Double.init), sx: sx, sy: sy,
                xLabel: xLabel + " (log scale)", yLabel: "ticks (log scale)", yFormatter: { decadeLabel(pow(10, $0)) },
                xFormatter: decadeLabel)
    for i in first...last where counts[i] > 0 {
        let x0 = sx(drawn[i]), x1 = sx(drawn[i + 1]), y = sy(heights[i])
        svg += "<rect class=\"data\" x=\"\(num(x0))\" y=\"\(num(y))\" width=\"\(num(max(0.5, x1 - x0 - 0.5)))\" height=\"\(num(f.top + f.plotHeight - y))\" fill=\"\(chartPalette[0])\" fill-opacity=\"0.8\"><title>\(formatTick(edges[i]))–\(formatTick(edges[i + 1])) \(xmlEscaped(xLabel)): \(counts[i]) ticks</title></rect>\n"
    }
    for (k, m) in markers.enumerated() where m.x.isFinite {
        let x = num(sx(min(max(m.x, drawn[first]), drawn[last + 1])))
        svg += "<line x1=\"\(x)\" y1=\"\(num(f.top))\" x2=\"\(x)\" y2=\"\(num(f.top + f.plotHeight))\" stroke=\"\(m.color)\" stroke-width=\"1.5\" stroke-dasharray=\"4,3\"/>\n"
        svg += "<text x=\"\(x)\" dx=\"3\" y=\"\(num(f.top + 12 + 13 * Double(k)))\" font-size=\"11\" fill=\"\(m.color)\">\(xmlEscaped(m.label))</text>\n"
    }
    svg += "</svg>\n"
    return svg
}

/// "1", "10", "100", "1000", "1e4" … for decade ticks; other values as `formatTick`.
func decadeLabel(_ v: Double) -> String {
    let e = log10(v)
    if abs(e - e.rounded()) < 1e-9 && e >= 4 { return "1e\(Int(e.rounded()))" }
    return formatTick(v)
}

/// One row of the event timeline: a kind and the times of its events.
public struct TimelineRow: Sendable {
    public var label: String
    public var times: [Double]
    public var color: String
    public init(label: String, times: [Double], color: String) {
        self.label = label
        self.times = times
        self.color = color
    }
}

/// Events over time, one row per kind (a tick mark per event), so bursts and quiet spells
/// show at a glance.
public func eventTimelineSVG(title: String, rows: [TimelineRow], xRange: ClosedRange<Double>? = nil) -> String {
    let rowHeight = 22.0
    let left = 170.0, right = 20.0, top = 36.0, bottom = 40.0
    let width = 720.0
    let height = top + bottom + rowHeight * Double(max(1, rows.count))
    let times = rows.flatMap(\.times).filter(\.isFinite)
    var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(num(width)) \(num(height))\" width=\"\(num(width))\" height=\"\(num(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    svg += "<text x=\"\(num(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(xmlEscaped(title))</text>\n"
    guard let tMin = xRange?.lowerBound ?? times.min(), let tMax0 = xRange?.upperBound ?? times.max() else {
        svg += "<text x=\"\(num(width / 2))\" y=\"\(num(height / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text></svg>"
        return svg
    }
    let tMax = tMax0 > tMin ? tMax0 : tMin + 1
    let plotWidth = width - left - right
    let sx = { (t: Double) in left + (t - tMin) / (tMax - tMin) * plotWidth }
    let plotBottom = top + rowHeight * Double(rows.count)
    for t in niceTicks(low: tMin, high: tMax, approximateCount: 8) {
        let x = num(sx(t))
        svg += "<line x1=\"\(x)\" y1=\"\(num(top))\" x2=\"\(x)\" y2=\"\(num(plotBottom))\" stroke=\"#eee\"/>"
        svg += "<text x=\"\(x)\" y=\"\(num(plotBottom + 16))\" text-anchor=\"middle\">\(formatTick(t))</text>\n"
    }
    svg += "<text x=\"\(num(left + plotWidth / 2))\" y=\"\(num(height - 8))\" text-anchor=\"middle\">time (s)</text>\n"
    for (k, row) in rows.enumerated() {
        let yMid = top + rowHeight * (Double(k) + 0.5)
        svg += "<text x=\"\(num(left - 8))\" y=\"\(num(yMid))\" dy=\"4\" text-anchor=\"end\">\(xmlEscaped(row.label)) (\(row.times.count))</text>\n"
        svg += "<line x1=\"\(num(left))\" y1=\"\(num(yMid))\" x2=\"\(num(left + plotWidth))\" y2=\"\(num(yMid))\" stroke=\"#ddd\"/>\n"
        // One path per row keeps a page with thousands of events light.
        let marks = row.times.filter(\.isFinite).map { "M\(num(sx($0))),\(num(yMid - 7))v14" }
        if !marks.isEmpty {
            svg += "<path class=\"data\" d=\"\(marks.joined())\" stroke=\"\(row.color)\" stroke-width=\"2\"/>\n"
        }
    }
    svg += "<rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(plotWidth))\" height=\"\(num(plotBottom - top))\" fill=\"none\" stroke=\"#333\"/>\n"
    svg += "</svg>\n"
    return svg
}

/// A run of consecutive events of one kind, folded into one table row.
public struct FoldedEvent: Sendable, Equatable {
    public var kind: String
    public var count: Int
    public var firstTime: Double
    public var lastTime: Double
    public var firstDetail: String
    public var lastDetail: String

    /// "policy_rejected ×180 between 12.5 s and 530 s", or the kind alone for one event.
    public var summary: String {
        count == 1 ? kind : "\(kind) ×\(count) between \(formatTick(firstTime)) s and \(formatTick(lastTime)) s"
    }
}

/// Folds consecutive events of the same kind (in file order) into one row each.
public func foldEvents(_ events: [(time: Double, kind: String, detail: String)]) -> [FoldedEvent] {
    var out: [FoldedEvent] = []
    for e in events {
        if var lastRow = out.last, lastRow.kind == e.kind {
            lastRow.count += 1
            lastRow.lastTime = e.time
            lastRow.lastDetail = e.detail
            out[out.count - 1] = lastRow
        } else {
            out.append(FoldedEvent(kind: e.kind, count: 1, firstTime: e.time, lastTime: e.time, firstDetail: e.detail,
                                   lastDetail: e.detail))
        }
    }
    return out
}
