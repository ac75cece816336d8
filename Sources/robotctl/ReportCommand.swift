import ArgumentParser
import Foundation
import Reporting

/// `robotctl report RUN_DIR`: writes an offline HTML report of a run.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML page with plots of a run: returns, policy swaps, learning curves, loop timing.",
        discussion: """
            The page is self-contained (inline SVG, no scripts) and opens offline in any browser. \
            It is written to RUN_DIR/report.html unless --out is given.

            Example: robotctl report runs/2026-11-28T18-30-00
            """
    )

    @Argument(help: "The run directory a `robotctl run`, `teleop` or `train` session wrote.")
    var runDirectory: String

    @Option(help: "Where to write the HTML page (default: RUN_DIR/report.html).")
    var out: String?

    func run() throws {
        let data: RunData
        do { data = try RunData.load(directory: runDirectory) } catch let error as ReportError {
            throw UserError(error.description)
        }
        let destination = out ?? (runDirectory as NSString).appendingPathComponent(RunFiles.report)
        try writeFileAtomically(renderRunReport(data), to: destination)
        print("report: wrote \(destination)")
    }
}
