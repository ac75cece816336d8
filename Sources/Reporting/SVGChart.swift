// Self-contained SVG charts for reports: line charts with optional spread bands and event
// markers, and bar histograms. Pure string generation, no I/O; viewable offline in any
// browser. Set-up code (not real-time).

import Foundation

/// One line on a chart, optionally with a shaded band (e.g. mean ± standard deviation).
public struct ChartSeries: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Lower and upper edge of a shaded band at each x (same length as `x`), or nil.
    public var band: (lower: [Double], upper: [Double])?
    /// CSS colour; nil picks from the palette.
    public var color: String?
    /// Drawn dashed (a reference line such as a ceiling, not measured data).
    public var dashed: Bool

    public init(name: String, x: [Double], y: [Double], band: (lower: [Double], upper: [Double])? = nil,
                color: String? = nil, dashed: Bool = false) {
        precondition(x.count == y.count, "series \(name): x and y differ in length")
        if let band { precondition(band.lower.count == x.count && band.upper.count == x.count) }
        self.name = name
        self.x = x
        self.y = y
        self.band = band
        self.color = color
        self.dashed = dashed
    }
}

/// A vertical marker at an x position (a policy swap, an e-stop).
public struct ChartMarker: Sendable {
    public var x: Double
    public var label: String
    public var color: String
    public init(x: Double, label: String, color: String = "#999") {
        self.x = x
        self.label = label
        self.color = color
    }
}

/// Colours that stay distinguishable for the usual 2–6 series.
public let chartPalette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]

/// Axis tick positions at "nice" steps (1, 2, 5 × 10^k) covering `low...high`.
public func niceTicks(low: Double, high: Double, approximateCount: Int = 5) -> [Double] {
    guard low.isFinite, high.isFinite else { return [] }
    if low == high { return [low] }
    let (lo, hi) = low < high ? (low, high) : (high, low)
    let rawStep = (hi - lo) / Double(max(1, approximateCount))
    let exponent = floorLog10(rawStep)
    let fraction = rawStep / pow10(exponent)
    let nice: Int = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
    // Tick k is k·nice·10^exponent; dividing by 10^-exponent (an exact integer) instead of
    // multiplying by its inexact reciprocal keeps 0.6 from printing as 0.6000000000000001.
    let value = { (k: Int) -> Double in
        exponent >= 0 ? Double(k * nice) * pow10(exponent) : Double(k * nice) / pow10(-exponent)
    }
    let step = value(1)
    var ticks: [Double] = []
    var k = Int((lo / step).rounded(.up))
    while value(k) <= hi + step * 1e-9 {
        ticks.append(value(k))
        k += 1
    }
    return ticks
}

private func floorLog10(_ v: Double) -> Int {
    var e = 0
    var x = v
    while x >= 10 { x /= 10; e += 1 }
    while x < 1 { x *= 10; e -= 1 }
    return e
}

private func pow10(_ e: Int) -> Double {
    var r = 1.0
    if e >= 0 { for _ in 0..<e { r *= 10 } } else { for _ in 0..<(-e) { r /= 10 } }
    return r
}

/// Formats a tick label compactly (no trailing zeros, scientific for extremes).
public func formatTick(_ v: Double) -> String {
    if v == 0 { return "0" }
    let a = abs(v)
    if a >= 1e5 || a < 1e-3 {
        let e = floorLog10(a)
        let m = v / pow10(e)
        return "\(trimmed(m, digits: 2))e\(e)"
    }
    return trimmed(v, digits: a >= 100 ? 0 : a >= 1 ? 2 : 3)
}

/// A label formatter with enough decimals to tell neighbouring `ticks` apart (so a narrow
/// range such as −1974.2 … −1973.8 does not print as −1974 five times).
func tickFormatter(_ ticks: [Double]) -> (Double) -> String {
    guard ticks.count > 1 else { return formatTick }
    let step = abs(ticks[1] - ticks[0])
    let magnitude = ticks.map(abs).max() ?? 0
    guard step > 0, step < 1, magnitude >= 1e-3, magnitude < 1e5 else { return formatTick }
    let digits = min(8, -floorLog10(step))
    return { trimmed($0, digits: digits) }
}

private func trimmed(_ v: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = "\(r)"
    if s.contains(".") && !s.contains("e") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s
}

/// Escapes text for SVG/HTML content and attributes.
public func xmlEscaped(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

func num(_ v: Double) -> String { trimmed(v, digits: 2) }

/// Plot-area geometry shared by the chart kinds.
struct Frame {
    let width = 720.0, height = 360.0
    let left = 70.0, right = 20.0, top = 36.0, bottom = 48.0
    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }
}

/// Renders a line chart. Non-finite points are skipped (the line breaks there).
public func lineChartSVG(
    title: String, xLabel: String, yLabel: String, series: [ChartSeries],
    markers: [ChartMarker] = [], yRange: ClosedRange<Double>? = nil
) -> String {
    let f = Frame()
    var xs: [Double] = [], ys: [Double] = []
    for s in series {
        for i in s.x.indices where s.x[i].isFinite && s.y[i].isFinite {
            xs.append(s.x[i]); ys.append(s.y[i])
            if let b = s.band, b.lower[i].isFinite, b.upper[i].isFinite { ys.append(b.lower[i]); ys.append(b.upper[i]) }
        }
    }
    xs += markers.map(\.x).filter(\.isFinite)
    var svg = svgHeader(f, title: title)
    guard let xMin0 = xs.min(), let xMax0 = xs.max(), let yMin0 = ys.min(), let yMax0 = ys.max() else {
        svg += "<text x=\"\(num(f.width / 2))\" y=\"\(num(f.height / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text></svg>"
        return svg
    }
    let (xMin, xMax) = padded(xMin0, xMax0, pad: 0)
    // Headroom above the data for the legend (15 px per entry), so it never covers a line.
    let legendEntries = series.filter { !$0.name.isEmpty }.count + (markers.isEmpty ? 0 : 1)
    let legendHeight = legendEntries > 0 ? 15 * Double(legendEntries) + 6 : 0
    var (yMin, yMax) = yRange.map { ($0.lowerBound, $0.upperBound) } ?? padded(yMin0, yMax0, pad: 0.05)
    if yRange == nil && legendHeight > 0 { yMax += (yMax - yMin) * legendHeight / max(1, f.plotHeight - legendHeight) }
    let sx = { (x: Double) in f.left + (x - xMin) / (xMax - xMin) * f.plotWidth }
    let sy = { (y: Double) in f.top + (1 - (y - yMin) / (yMax - yMin)) * f.plotHeight }
    let xTicks = niceTicks(low: xMin, high: xMax), yTicks = niceTicks(low: yMin, high: yMax)
    svg += axes(f, xTicks: xTicks, yTicks: yTicks, sx: sx, sy: sy, xLabel: xLabel, yLabel: yLabel,
                yFormatter: tickFormatter(yTicks), xFormatter: tickFormatter(xTicks))
    for m in markers where m.x.isFinite {
        let x = num(sx(m.x))
        svg += "<line x1=\"\(x)\" y1=\"\(num(f.top))\" x2=\"\(x)\" y2=\"\(num(f.top + f.plotHeight))\" stroke=\"\(m.color)\" stroke-dasharray=\"3,3\" stroke-width=\"1\"><title>\(xmlEscaped(m.label))</title></line>\n"
    }
    for (k, s) in series.enumerated() {
        let color = s.color ?? chartPalette[k % chartPalette.count]
        if let b = s.band {
            var upper: [String] = [], lower: [String] = []
            for i in s.x.indices where s.x[i].isFinite && b.lower[i].isFinite && b.upper[i].isFinite {
                upper.append("\(num(sx(s.x[i]))),\(num(sy(clamp(b.upper[i], yMin, yMax))))")
                lower.append("\(num(sx(s.x[i]))),\(num(sy(clamp(b.lower[i], yMin, yMax))))")
            }
            if !upper.isEmpty {
                svg += "<polygon points=\"\((upper + lower.reversed()).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
            }
        }
        for segment in finiteSegments(s) {
            let pts = segment.map { "\(num(sx(s.x[$0]))),\(num(sy(clamp(s.y[$0], yMin, yMax))))" }
            // Reference lines (dashed) are not data: a chart of only those has none.
            let cls = s.dashed ? "reference" : "data"
            if pts.count == 1 {
                let p = pts[0].split(separator: ",")
                svg += "<circle class=\"\(cls)\" cx=\"\(p[0])\" cy=\"\(p[1])\" r=\"2.5\" fill=\"\(color)\"/>\n"
            } else {
                let dash = s.dashed ? " stroke-dasharray=\"6,4\"" : ""
                svg += "<polyline class=\"\(cls)\" points=\"\(pts.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\"\(dash)/>\n"
            }
        }
    }
    svg += legend(f, entries: series.enumerated().map { ($1.name, $1.color ?? chartPalette[$0 % chartPalette.count]) }
        + (markers.isEmpty ? [] : [(markerLegend(markers), markers[0].color)]))
    svg += "</svg>\n"
    return svg
}

private func markerLegend(_ markers: [ChartMarker]) -> String {
    let labels = Set(markers.map(\.label))
    return labels.count == 1 ? "\(labels.first!) (dashed)" : "events (dashed, see the caption)"
}

/// Renders a bar histogram from bucket edges (`edges.count == counts.count + 1`).
/// With `logCounts`, bar heights are log10(1 + count) so rare long tails stay visible.
public func histogramSVG(
    title: String, xLabel: String, edges: [Double], counts: [UInt64], logCounts: Bool = true,
    markers: [ChartMarker] = []
) -> String {
    precondition(edges.count == counts.count + 1, "histogram: need one more edge than counts")
    let f = Frame()
    var svg = svgHeader(f, title: title)
    guard let lo = edges.first, let hi = edges.last, hi > lo, counts.contains(where: { $0 > 0 }) else {
        svg += "<text x=\"\(num(f.width / 2))\" y=\"\(num(f.height / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text></svg>"
        return svg
    }
    let height = { (c: UInt64) -> Double in logCounts ? log10(1 + Double(c)) : Double(c) }
    let top = counts.map(height).max()!
    let sx = { (x: Double) in f.left + (x - lo) / (hi - lo) * f.plotWidth }
    let sy = { (y: Double) in f.top + (1 - y / top) * f.plotHeight }
    let yTicks: [Double] = logCounts ? (0...Int(top.rounded(.up))).map { Double($0) } : niceTicks(low: 0, high: top)
    svg += axes(f, xTicks: niceTicks(low: lo, high: hi, approximateCount: 8), yTicks: yTicks, sx: sx, sy: sy,
                xLabel: xLabel, yLabel: logCounts ? "count (log10 of 1+n)" : "count",
                yFormatter: logCounts ? { "10^\(Int($0))" } : formatTick)
    for i in counts.indices where counts[i] > 0 {
        let x0 = sx(edges[i]), x1 = sx(edges[i + 1]), y = sy(height(counts[i]))
        svg += "<rect class=\"data\" x=\"\(num(x0))\" y=\"\(num(y))\" width=\"\(num(max(0.5, x1 - x0 - 0.5)))\" height=\"\(num(f.top + f.plotHeight - y))\" fill=\"\(chartPalette[0])\"><title>\(formatTick(edges[i]))–\(formatTick(edges[i + 1])): \(counts[i])</title></rect>\n"
    }
    for m in markers where m.x.isFinite && m.x >= lo && m.x <= hi {
        let x = num(sx(m.x))
        svg += "<line x1=\"\(x)\" y1=\"\(num(f.top))\" x2=\"\(x)\" y2=\"\(num(f.top + f.plotHeight))\" stroke=\"\(m.color)\" stroke-dasharray=\"4,3\"/>\n"
        svg += "<text x=\"\(x)\" y=\"\(num(f.top - 4))\" font-size=\"11\" text-anchor=\"middle\" fill=\"\(m.color)\">\(xmlEscaped(m.label))</text>\n"
    }
    svg += "</svg>\n"
    return svg
}

private func clamp(_ v: Double, _ lo: Double, _ hi: Double) -> Double { min(max(v, lo), hi) }

private func padded(_ lo: Double, _ hi: Double, pad: Double) -> (Double, Double) {
    if lo == hi { return (lo - 1, hi + 1) }
    let p = (hi - lo) * pad
    return (lo - p, hi + p)
}

private func finiteSegments(_ s: ChartSeries) -> [[Int]] {
    var segments: [[Int]] = [], current: [Int] = []
    for i in s.x.indices {
        if s.x[i].isFinite && s.y[i].isFinite { current.append(i) } else if !current.isEmpty {
            segments.append(current); current = []
        }
    }
    if !current.isEmpty { segments.append(current) }
    return segments
}

func svgHeader(_ f: Frame, title: String) -> String {
    "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(num(f.width)) \(num(f.height))\" width=\"\(num(f.width))\" height=\"\(num(f.height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        + "<text x=\"\(num(f.width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(xmlEscaped(title))</text>\n"
}

func axes(
    _ f: Frame, xTicks: [Double], yTicks: [Double], sx: (Double) -> Double, sy: (Double) -> Double,
    xLabel: String, yLabel: String, yFormatter: (Double) -> String = formatTick,
    xFormatter: (Double) -> String = formatTick
) -> String {
    let bottom = f.top + f.plotHeight
    var s = "<rect x=\"\(num(f.left))\" y=\"\(num(f.top))\" width=\"\(num(f.plotWidth))\" height=\"\(num(f.plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
    for t in xTicks {
        let x = num(sx(t))
        s += "<line x1=\"\(x)\" y1=\"\(num(f.top))\" x2=\"\(x)\" y2=\"\(num(bottom))\" stroke=\"#eee\"/>"
        s += "<text x=\"\(x)\" y=\"\(num(bottom + 16))\" text-anchor=\"middle\">\(xmlEscaped(xFormatter(t)))</text>\n"
    }
    for t in yTicks {
        let y = num(sy(t))
        s += "<line x1=\"\(num(f.left))\" y1=\"\(y)\" x2=\"\(num(f.left + f.plotWidth))\" y2=\"\(y)\" stroke=\"#eee\"/>"
        s += "<text x=\"\(num(f.left - 6))\" y=\"\(y)\" dy=\"4\" text-anchor=\"end\">\(xmlEscaped(yFormatter(t)))</text>\n"
    }
    s += "<text x=\"\(num(f.left + f.plotWidth / 2))\" y=\"\(num(f.height - 8))\" text-anchor=\"middle\">\(xmlEscaped(xLabel))</text>\n"
    s += "<text transform=\"translate(16 \(num(f.top + f.plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscaped(yLabel))</text>\n"
    return s
}

private func legend(_ f: Frame, entries allEntries: [(String, String)]) -> String {
    let entries = allEntries.filter { !$0.0.isEmpty }
    guard !entries.isEmpty else { return "" }
    var s = ""
    var y = f.top + 14
    for (name, color) in entries {
        s += "<rect x=\"\(num(f.left + 10))\" y=\"\(num(y - 9))\" width=\"12\" height=\"3\" fill=\"\(color)\"/>"
        s += "<text x=\"\(num(f.left + 28))\" y=\"\(num(y - 4))\" font-size=\"11\">\(xmlEscaped(name))</text>\n"
        y += 15
    }
    return s
}
