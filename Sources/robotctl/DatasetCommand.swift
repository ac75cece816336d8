import ArgumentParser
import Control
import FixedNN
import Foundation
import H2OTrainer

/// `robotctl dataset`: look at recorded datasets.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Inspect and export recorded datasets (format: Sources/Control/DATASET.md).",
        discussion: "Example: robotctl dataset info runs/teleop-1",
        subcommands: [DatasetInfoCommand.self, DatasetExportCommand.self, DatasetImportCommand.self, DatasetReplayCommand.self, DatasetPlotCommand.self])
}

/// `robotctl dataset info DIR`.
struct DatasetInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a dataset's episodes, transitions, duration, losses and schema.",
        discussion: """
            Opening the dataset checks every record's CRC; a torn tail left by a crash is \
            skipped and reported in bytes (the files are not modified).

            Example: robotctl dataset info runs/teleop-1 --json
            """)

    @Argument(help: "The dataset directory (holds schema.json and segment-*.rcds).")
    var directory: String

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        let summary = DatasetSummary(try DatasetReader(directory: directory))
        if json {
            let e = JSONEncoder()
            e.keyEncodingStrategy = .convertToSnakeCase
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(summary), as: UTF8.self))
            return
        }
        let s = summary.schema
        print("dataset \(summary.directory)")
        print("  robot \(s.robotID), task \(s.task), source \(s.source), \(s.controlRateHz) Hz, created \(s.createdUTC)")
        print("  calibration \(s.calibrationHash.isEmpty ? "(none)" : s.calibrationHash)")
        print("  observation (\(s.observationCount)): " + s.observation.map { "\($0.name) [\($0.unit)]" }.joined(separator: ", "))
        print("  action (\(s.actionCount)): " + s.action.map { "\($0.name) [\($0.unit)]" }.joined(separator: ", "))
        print("  reward: \(s.rewardDefinition)")
        print("  \(summary.transitions) transitions in \(summary.episodes) episodes (\(summary.terminalEpisodes) terminal, \(summary.timeoutEpisodes) time-out, \(summary.abortedEpisodes) aborted), \(String(format: "%.1f", summary.durationSeconds)) s")
        print("  \(summary.policyVersions) policy versions, \(summary.lateTicks) late ticks, \(summary.safetyModified) safety-modified actions, \(summary.nonFiniteRecords) non-finite records (never exported)")
        print("  dropped: \(summary.droppedTransitions) transitions (recorder full), \(summary.droppedBytes) bytes (torn or corrupt)")
        for seg in summary.segments {
            print("  \(seg.name): \(seg.records) records" + (seg.droppedBytes > 0 ? ", \(seg.droppedBytes) bytes dropped: \(seg.problem ?? "trailing bytes")" : ""))
        }
    }
}

/// `robotctl dataset export DIR --output FILE.npz`.
struct DatasetExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a dataset's transitions to a numpy .npz with D4RL key names.",
        discussion: """
            Keys: observations, actions, rewards, next_observations, terminals, timeouts (and \
            infos/policy_version). Records are paired into transitions as DATASET.md describes; \
            load with numpy.load(FILE).

            Example: robotctl dataset export runs/teleop-1 --output teleop-1.npz
            """)

    @Argument(help: "The dataset directory.")
    var directory: String

    @Option(name: .shortAndLong, help: "The .npz file to write.")
    var output: String

    func validate() throws {
        guard output.hasSuffix(".npz") else { throw ValidationError("--output must end in .npz, got \(output)") }
    }

    func run() throws {
        let reader = try DatasetReader(directory: directory)
        // Episodes discarded with teleop's redo (episodes.jsonl) are left out.
        let arrays = try reader.keptD4RLArrays()
        try NumpyArchive.writeNPZ(arrays.numpyArrays(), path: output)
        print("wrote \(arrays.count) transitions to \(output)" + (reader.droppedBytes > 0 ? " (\(reader.droppedBytes) torn bytes skipped)" : ""))
    }
}
