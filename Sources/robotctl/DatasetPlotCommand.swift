import ArgumentParser
import Control
import Foundation
import H2OTrainer
import Reporting

/// `robotctl dataset plot DIR`: observations, actions and rewards over time.
struct DatasetPlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot a dataset's observations, actions and rewards over time, with episode boundaries.",
        discussion: """
            Writes one self-contained HTML page (three SVG charts, viewable offline) or, with an \
            output ending in .svg, the observation chart alone. Dashed lines mark episode starts; \
            discarded (redo) episodes are left out. Time is the records' host clock, in seconds \
            from the first record, so gaps (resets, late ticks) are visible.

            Example: robotctl dataset plot data/teleop --output teleop.html
            """)

    @Argument(help: "The dataset directory.")
    var directory: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The .html or .svg file to write.", valueName: "file"))
    var output: String

    @Option(help: "Plot at most this many points per series (records are decimated evenly).")
    var maxPoints: Int = 4000

    func validate() throws {
        guard output.hasSuffix(".html") || output.hasSuffix(".svg") else {
            throw ValidationError("--output must end in .html or .svg, got \(output)")
        }
        guard maxPoints >= 10 else { throw ValidationError("--max-points must be at least 10") }
    }

    func run() throws {
        let reader = try asUserError { try DatasetReader(directory: directory) }
        let table = try asUserError { try reader.episodeTable() }
        let records = reader.keptTransitions(table)
        guard !records.isEmpty else {
            throw UserError("\(directory): holds no records to plot; record some first (robotctl teleop --record \(directory))")
        }
        let s = reader.schema
        let t0 = records[0].header.timestampNanos
        let step = max(1, records.count / maxPoints)
        let picked = stride(from: 0, to: records.count, by: step).map { records[$0] }
        // A NaN point between episodes breaks each line there: a reset is not drawn as a jump.
        let broken = brokenAtEpisodes(picked)
        let time = broken.map { $0.map { Double($0.header.timestampNanos &- t0) * 1e-9 } ?? .nan }
        func values(_ value: (Transition) -> Float) -> [Double] { broken.map { $0.map { Double(value($0)) } ?? .nan } }
        let starts = records.filter { $0.header.flags.contains(.episodeStart) }
            .map { ChartMarker(x: Double($0.header.timestampNanos &- t0) * 1e-9, label: "episode \($0.header.episode)") }
        let observations = s.observation.enumerated().map { i, c in
            ChartSeries(name: "\(c.name) [\(c.unit)]", x: time, y: values { $0.observation[i] })
        }
        let actions = s.action.enumerated().map { i, c in
            ChartSeries(name: "\(c.name) [\(c.unit)]", x: time, y: values { $0.action[i] })
        }
        let rewards = [ChartSeries(name: "reward", x: time, y: values(\.header.reward))]
        let obsChart = lineChartSVG(title: "Observations", xLabel: "time, s", yLabel: "value", series: observations, markers: starts)
        let text: String
        if output.hasSuffix(".svg") {
            text = obsChart
        } else {
            let title = "Dataset \(xmlEscaped(directory)): \(xmlEscaped(s.task)) on \(xmlEscaped(s.robotID))"
            text = """
                <!DOCTYPE html>
                <html><head><meta charset="utf-8"><title>\(title)</title>
                <style>body{font-family:sans-serif;max-width:760px;margin:2em auto}</style></head><body>
                <h1>\(title)</h1>
                <p>\(records.count) records in \(Set(records.map(\.header.episode)).count) episodes (\(table.discarded.count) discarded episodes left out), \(s.controlRateHz) Hz, source \(xmlEscaped(s.source)). Reward: \(xmlEscaped(s.rewardDefinition)).</p>
                \(obsChart)
                \(lineChartSVG(title: "Actions", xLabel: "time, s", yLabel: "action", series: actions, markers: starts))
                \(lineChartSVG(title: "Rewards", xLabel: "time, s", yLabel: "reward", series: rewards, markers: starts))
                </body></html>

                """
        }
        try writeFileAtomically(text, to: output)
        print("wrote \(output): \(picked.count) points per series from \(records.count) records, \(starts.count) episodes")
    }
}

/// The records with nil between two of different episodes (or before an episode start).
func brokenAtEpisodes(_ records: [Transition]) -> [Transition?] {
    var out: [Transition?] = []
    out.reserveCapacity(records.count + 16)
    for (i, r) in records.enumerated() {
        if i > 0 && (r.header.episode != records[i - 1].header.episode || r.header.flags.contains(.episodeStart)) { out.append(nil) }
        out.append(r)
    }
    return out
}
