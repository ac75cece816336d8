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
        for c in r.ceilings {
            lines.append("\(r.task.rawValue),\(r.gap),ceiling/\(c.name),0,0,0,\(number(c.realReturn)),,0,,")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One method's honest score over seeds (`GapStatistics`).
    public struct Score: Sendable, Equatable {
        public var method: String
        /// Per-seed scores: the mean real return of the last `GapStatistics.scorePoints` evaluations.
        public var seedScores: [Double]
        public var mean: Double
        public var interval: GapStatistics.Interval
        /// (R − R_zero)/(R_ceiling − R_zero) of the mean, with its interval (nil without a ceiling).
        public var normalised: Double?
        public var normalisedInterval: GapStatistics.Interval?
        /// (R − R_sac-sim)/(R_ceiling − R_sac-sim), with its interval (nil without a ceiling or sac-sim).
        public var gapClosed: Double?
        public var gapClosedInterval: GapStatistics.Interval?
        /// Mean clipped sim weight over the last evaluation points' epochs (NaN without discriminators).
        public var simWeight: Double
    }

    /// The ceiling the scores are normalised by: the dynamic-programming optimum when measured,
    /// else the `sac-real-oracle` method's per-seed scores; nil when neither ran.
    public static func ceiling(_ r: GapBenchmark.Report) -> (name: String, values: [Double])? {
        if let c = r.ceilings.first { return ("ceiling: \(c.name)", [c.realReturn]) }
        let oracle = GapStatistics.seedScores(r.curves, method: "sac-real-oracle").map(\.score)
        return oracle.isEmpty ? nil : ("sac-real-oracle (mean score)", oracle)
    }

    /// Every method's score with its 95 % bootstrap intervals over seeds, in run order.
    /// Intervals resample each group (the method's seeds, sac-sim's, the oracle's) independently;
    /// the zero-action return and a dynamic-programming ceiling are fixed.
    public static func scores(_ r: GapBenchmark.Report) -> [Score] {
        let zero = r.references.first { $0.name == "zero action" }?.realReturn
        let top = ceiling(r)
        let sac = GapStatistics.seedScores(r.curves, method: "sac-sim").map(\.score)
        return methods(r).map { m in
            let v = GapStatistics.seedScores(r.curves, method: m).map(\.score)
            let weights = r.curves.filter { $0.method == m && $0.updates > 0 && $0.simWeightMean.isFinite }
            let lastWeights = Dictionary(grouping: weights, by: \.seed).values.flatMap { $0.suffix(GapStatistics.scorePoints) }
            var s = Score(
                method: m, seedScores: v, mean: GapStatistics.mean(v), interval: GapStatistics.meanInterval(v),
                simWeight: lastWeights.isEmpty ? .nan : GapStatistics.mean(lastWeights.map(\.simWeightMean)))
            if let zero, let top {
                let c = GapStatistics.mean(top.values)
                s.normalised = GapStatistics.normalised(s.mean, zero: zero, ceiling: c)
                s.normalisedInterval = GapStatistics.bootstrap([v, top.values]) {
                    GapStatistics.normalised(GapStatistics.mean($0[0]), zero: zero, ceiling: GapStatistics.mean($0[1]))
                }
                if !sac.isEmpty && m != "sac-sim" {
                    s.gapClosed = GapStatistics.gapClosed(s.mean, baseline: GapStatistics.mean(sac), ceiling: c)
                    s.gapClosedInterval = GapStatistics.bootstrap([v, sac, top.values]) {
                        GapStatistics.gapClosed(
                            GapStatistics.mean($0[0]), baseline: GapStatistics.mean($0[1]), ceiling: GapStatistics.mean($0[2]))
                    }
                }
            }
            return s
        }
    }

    /// The stated tests: H2O+ against every other competitor, and every competitor against
    /// sac-sim (one-sided "A beats B" on per-seed scores). Ceilings are not competitors.
    public static func comparisons(_ r: GapBenchmark.Report) -> [GapStatistics.Comparison] {
        let all = methods(r)
        let competitors = all.filter { $0 != "sac-real-oracle" && $0 != "sac-matched-sim" }
        func scores(_ m: String) -> [Double] { GapStatistics.seedScores(r.curves, method: m).map(\.score) }
        var pairs: [(String, String)] = []
        if competitors.contains("h2o+") { pairs += competitors.filter { $0 != "h2o+" }.map { ("h2o+", $0) } }
        if competitors.contains("sac-sim") {
            for m in competitors where m != "sac-sim" && m != "h2o+" { pairs.append((m, "sac-sim")) }
        }
        return pairs.map { GapStatistics.compare($0.0, scores($0.0), $0.1, scores($0.1)) }
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
            "- Sim training starts: \(r.simReset.rawValue) (`--sim-reset`).",
            "- Score: per seed, the mean real-plant return (undiscounted, deterministic, from hanging) of the last \(GapStatistics.scorePoints) evaluation points × \(r.evaluationEpisodes) episodes; the table gives the mean over seeds \(r.seeds.map(String.init).joined(separator: ",")) with a 95 % percentile-bootstrap interval over seeds (\(GapStatistics.bootstrapResamples) resamples, seeded). Normalised: (R − R_zero)/(R_ceiling − R_zero). Gap closed: (R − R_sac-sim)/(R_ceiling − R_sac-sim). Final: the last point alone. Sim return: the last policy in the onboard simulator from its own reset distribution. w_c: mean clipped sim weight over the scored epochs. References and ceilings: \(r.referenceEpisodes) episodes each.",
            "- Run \(date), wall time \(String(format: "%.0f", r.wallSeconds)) s for everything below.",
            "- Command: `\(command)`",
        ]
        if !files.isEmpty { lines.append("- Files: " + files.map { "`\($0)`" }.joined(separator: ", ")) }
        let top = ceiling(r)
        lines += [
            "", "Normalised by: \(top?.name ?? "no ceiling measured")." , "",
            "| method | seeds | score [95 % CI] | normalised [95 % CI] | gap closed vs sac-sim [95 % CI] | final (mean ± std) | sim return | w_c | s per run |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        let summaries = Dictionary(summary(r).map { ($0.method, $0) }, uniquingKeysWith: { a, _ in a })
        for s in scores(r) {
            let f = summaries[s.method]!
            lines.append(
                "| \(s.method) | \(s.seedScores.count) | \(f1(s.mean)) [\(interval(s.interval, f1))] | \(optional(s.normalised, s.normalisedInterval)) | \(optional(s.gapClosed, s.gapClosedInterval)) | \(pm(f.real)) | \(pm(f.sim)) | \(s.simWeight.isFinite ? String(format: "%.2f", s.simWeight) : "–") | \(String(format: "%.0f", f.seconds.mean)) |"
            )
        }
        let zero = r.references.first { $0.name == "zero action" }?.realReturn
        for c in r.ceilings {
            lines.append("| ceiling: \(c.name) | – | \(f1(c.realReturn)) | 1.00 | | | | | |")
        }
        for ref in r.references {
            let n = zero.flatMap { z in top.map { GapStatistics.normalised(ref.realReturn, zero: z, ceiling: GapStatistics.mean($0.values)) } }
            lines.append("| reference: \(ref.name) | – | \(f1(ref.realReturn)) | \(n.map(f2) ?? "") | | | | | |")
        }
        let tests = comparisons(r)
        if !tests.isEmpty {
            lines += [
                "",
                "\"A beats B\" on per-seed scores: one-sided permutation test (stated test; exact over all relabellings where they are at most 10⁶, else 100 000 seeded ones) and Welch's one-sided t beside it.",
                "",
                "| A | B | mean A − B | permutation p | Welch t (df), p |", "|---|---|---|---|---|",
            ]
            for t in tests {
                let w = t.welch.map { String(format: "%.2f (%.1f), %.4f", $0.t, $0.degreesOfFreedom, $0.pOneSided) } ?? "–"
                lines.append(
                    "| \(t.a) | \(t.b) | \(f1(t.meanDifference)) | \(String(format: "%.4f", t.permutation.pOneSided))\(t.permutation.exact ? " (exact, \(t.permutation.count))" : "") | \(w) |"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func f2(_ v: Double) -> String { String(format: "%.2f", v) }
    static func interval(_ i: GapStatistics.Interval, _ format: (Double) -> String) -> String { "\(format(i.lower)), \(format(i.upper))" }
    static func optional(_ v: Double?, _ i: GapStatistics.Interval?) -> String {
        guard let v else { return "–" }
        return i.map { "\(f2(v)) [\(interval($0, f2))]" } ?? f2(v)
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
