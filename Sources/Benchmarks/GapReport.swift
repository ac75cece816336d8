import Foundation
import H2OTrainer
import Reporting

/// The gap benchmark's outputs: a CSV of learning curves, an SVG plot (mean and spread per
/// method over seeds) and a Markdown table (mean ± std over seeds of the final real-plant
/// return, with the reference rows). Pure string generation; set-up code.
public enum GapReport {
    /// Mean, sample standard deviation (n − 1; 0 for one value), min and max.
    public struct Stats: Sendable, Equatable {
        public var count: Int
        public var mean: Double
        public var std: Double
        public var min: Double
        public var max: Double

        public init(_ values: [Double]) {
            count = values.count
            mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
            let m = mean
            std =
                values.count > 1
                ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot() : 0
            min = values.min() ?? .nan
            max = values.max() ?? .nan
        }
    }

    /// Methods in first-appearance order.
    static func methods(_ r: GapBenchmark.Report) -> [String] {
        var names: [String] = []
        for p in r.curves where !names.contains(p.method) { names.append(p.method) }
        return names
    }

    /// Final real-plant return statistics per method, in run order.
    public static func summary(_ r: GapBenchmark.Report) -> [(method: String, real: Stats, sim: Stats, seconds: Stats)] {
        let finals = r.finals
        return methods(r).map { m in
            let f = finals.filter { $0.method == m }
            return (m, Stats(f.map(\.realReturn)), Stats(f.map(\.simReturn)), Stats(f.map(\.seconds)))
        }
    }

    /// One row per curve point, then one per reference:
    /// `task,gap,method,seed,updates,sim_steps,real_return,sim_return,seconds,sim_weight_mean,alpha`
    /// (the last two: means over the epoch before the point; empty where not measured).
    public static func csv(_ r: GapBenchmark.Report) -> String {
        var lines = ["task,gap,method,seed,updates,sim_steps,real_return,sim_return,seconds,sim_weight_mean,alpha"]
        func opt(_ v: Double) -> String { v.isFinite ? number(v) : "" }
        for p in r.curves {
            lines.append(
                "\(r.task.rawValue),\(r.gap),\(p.method),\(p.seed),\(p.updates),\(p.simSteps),\(number(p.realReturn)),\(number(p.simReturn)),\(String(format: "%.2f", p.seconds)),\(opt(p.simWeightMean)),\(opt(p.alpha))"
            )
        }
        for ref in r.references {
            lines.append("\(r.task.rawValue),\(r.gap),reference/\(ref.name),0,0,0,\(number(ref.realReturn)),,0,,")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Real-plant return against updates: per method the mean over seeds with a band of ± one std.
    public static func svg(_ r: GapBenchmark.Report) -> String {
        var series: [ChartSeries] = []
        for m in methods(r) {
            let points = r.curves.filter { $0.method == m }
            let xs = Array(Set(points.map(\.updates))).sorted()
            var mean: [Double] = [], lower: [Double] = [], upper: [Double] = []
            for x in xs {
                let s = Stats(points.filter { $0.updates == x }.map(\.realReturn))
                mean.append(s.mean)
                lower.append(s.mean - s.std)
                upper.append(s.mean + s.std)
            }
            series.append(ChartSeries(name: m, x: xs.map(Double.init), y: mean, band: (lower, upper)))
        }
        let xMax = Double(r.curves.map(\.updates).max() ?? 1)
        for (k, ref) in r.references.enumerated() {
            series.append(
                ChartSeries(
                    name: "reference: \(ref.name)", x: [0, xMax], y: [ref.realReturn, ref.realReturn],
                    color: ["#555", "#999", "#bbb"][k % 3]))
        }
        return lineChartSVG(
            title: "\(r.task.rawValue), gap \(r.gap): real-plant return (mean ± std over \(r.seeds.count) seeds)",
            xLabel: "updates", yLabel: "real-plant return", series: series)
    }

    /// The Markdown section: configuration, the command, the table and the references.
    /// `command` is the exact invocation; `files` names the CSV/SVG written beside it.
    public static func markdown(_ r: GapBenchmark.Report, command: String, date: String, files: [String] = []) -> String {
        let h = r.hyperparameters
        var lines = [
            "### \(r.task.rawValue), gap `\(r.gap)`", "",
            "- Task: \(r.task.summary).",
            "- Real plant (evaluation, real data): the emulated robot's physics (firmware-proto/plant)"
                + (r.plantAssignments.isEmpty ? ", reference parameters" : " with \(r.plantAssignments.joined(separator: ", "))")
                + ": \(r.gapDoc).",
            "- Sim: the onboard simulator's nominal model"
                + (r.simAssignments.isEmpty ? "" : " with \(r.simAssignments.joined(separator: ", "))") + ".",
            "- Real data: \(r.realData.kind.rawValue), \(r.realData.episodes) episodes, \(r.realData.records) records, mean return \(String(format: "%.1f", r.realData.meanReturn)).",
            "- Budget: \(r.budgetUpdates) updates per run (\(r.budgetUpdates / max(r.updatesPerEpoch, 1)) epochs of \(r.simStepsPerEpoch) sim steps then \(r.updatesPerEpoch) updates), hidden \(h.hiddenSize), batch \(h.batchSize), learning rate \(number(h.learningRate)), discriminators \(h.discriminatorHiddenSize), λ \(number(h.exploitCoefficient)), sim weight clip [\(number(h.simWeightMin)), \(number(h.simWeightMax))], τe \(number(h.expectile)), γ \(number(h.gamma)).",
            "- Metric: mean undiscounted return of \(r.evaluationEpisodes) deterministic episodes from hanging on the real plant after the last update; mean ± std (n − 1) over seeds \(r.seeds.map(String.init).joined(separator: ",")). Sim return: the same policy in the onboard simulator from its own reset distribution.",
            "- Run \(date), wall time \(String(format: "%.0f", r.wallSeconds)) s for everything below.",
            "- Command: `\(command)`",
        ]
        if !files.isEmpty { lines.append("- Files: " + files.map { "`\($0)`" }.joined(separator: ", ")) }
        lines += [
            "", "| method | seeds | real return (mean ± std) | min | max | sim return (mean ± std) | s per run |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in summary(r) {
            lines.append(
                "| \(s.method) | \(s.real.count) | \(pm(s.real)) | \(f1(s.real.min)) | \(f1(s.real.max)) | \(pm(s.sim)) | \(String(format: "%.0f", s.seconds.mean)) |"
            )
        }
        for ref in r.references {
            lines.append("| reference: \(ref.name) | – | \(f1(ref.realReturn)) | | | | |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func pm(_ s: Stats) -> String { "\(f1(s.mean)) ± \(f1(s.std))" }
    static func f1(_ v: Double) -> String { String(format: "%.1f", v) }

    /// A number without trailing zeros (`0.6`, `16`, `-123.4567`).
    public static func number(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        if abs(v) < 0.01 { return String(format: "%g", v) }
        var s = String(format: "%.4f", v)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }
}
