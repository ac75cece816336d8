import ArgumentParser
import Foundation
import Sessions
import H2OTrainer
import Reporting

/// `robotctl report DIR`: writes an offline HTML report of a run, train, teleop or eval
/// directory, and with --mcap the run's streams as an MCAP file.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML page of a run, training, recording or evaluation; with --mcap, the run's streams as MCAP.",
        discussion: """
            The page is self-contained (inline SVG, no scripts) and opens offline in any browser: \
            the figures that matter with what each means, return over time against the ceiling \
            with policy swaps marked, the joints over a first and a last episode (from the \
            dataset the run recorded), trainer curves, loop timing and events. It is written to \
            DIR/report.html unless --out is given. DIR is what `robotctl run` printed at exit, a \
            `train --out` directory, a `teleop --record` dataset, or a directory holding the \
            output of `robotctl eval --json` as eval.json.

            With --mcap the run's streams (joint states, observation, action, reward, loop \
            timing, policy version, episode returns, swaps, events, trainer metrics) are also \
            written as MCAP (DIR/streams.mcap unless --mcap-out is given), which Foxglove and \
            PlotJuggler open; its channels are documented in docs/mcap-schema.md.

            Example: robotctl report runs/2026-11-28T18-30-00Z
            Example: robotctl report runs/2026-11-28T18-30-00Z --mcap
            """
    )

    @Argument(help: "The directory a `robotctl run`, `train`, `teleop --record` or `eval` session wrote.")
    var runDirectory: String

    @Option(help: ArgumentHelp("Where to write the HTML page (default: DIR/report.html).", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("The run's dataset, if it is not where run.json says (default: DIR/dataset or config.dataset).", valueName: "dir"))
    var dataset: String?

    @Flag(help: "Also write the run's streams as an MCAP file.")
    var mcap = false

    @Option(help: ArgumentHelp("Where to write the MCAP file (implies --mcap; default: DIR/streams.mcap).", valueName: "file"))
    var mcapOut: String?

    func validate() throws {
        if let m = mcapOut, !m.hasSuffix(".mcap") { throw ValidationError("--mcap-out must end in .mcap, got \(m)") }
    }

    func run() throws {
        var data: RunData
        do { data = try RunData.load(directory: runDirectory) } catch let error as ReportError {
            throw UserError(error.description)
        }
        if let dataset {
            guard FileManager.default.fileExists(atPath: (dataset as NSString).appendingPathComponent(RunFiles.datasetSchema)) else {
                throw UserError("\(dataset): not a dataset (no \(RunFiles.datasetSchema)); pass the directory a run or teleop recorded into")
            }
            data.datasetDirectory = dataset
            data.missingDataset = nil
        }
        guard data.isReportable else { throw UserError(ReportError.nothingToReport(runDirectory).description) }
        var created: String?
        if let dir = data.datasetDirectory {
            let (streams, schemaCreated) = try asUserError { try RecordedStreams.read(datasetDirectory: dir) }
            data.recorded = streams
            created = schemaCreated
        }
        let destination = out ?? (runDirectory as NSString).appendingPathComponent(RunFiles.report)
        try writeFileAtomically(renderRunReport(data), to: destination)
        print("report: wrote \(destination)")
        if mcap || mcapOut != nil {
            let path = mcapOut ?? (runDirectory as NSString).appendingPathComponent(RunFiles.mcap)
            let written = try wrap { try RunStreamsMCAP.write(run: data, streams: data.recorded, to: path, createdUTC: created) }
            let perTopic = written.messages.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("mcap: wrote \(path): \(written.total) messages on \(written.messages.count) channels (\(perTopic))")
        }
    }
}
