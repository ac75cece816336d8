import ArgumentParser
import Control
import FixedNN
import Foundation
import H2OTrainer

/// `robotctl dataset import FILE.npz --like DIR --output NEWDIR`.
struct DatasetImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Make a dataset from a D4RL-style .npz (observations, actions, rewards, next_observations, terminals, timeouts).",
        discussion: """
            The new dataset takes its schema (robot, task, channels, rate) from an existing \
            dataset given with --like, and the archive's shapes must match it. Episodes are \
            rebuilt from the transitions, so exporting the imported dataset gives the same \
            arrays. The dataset is written into a temporary directory and renamed into place \
            when complete: an error leaves nothing behind.

            Example: robotctl dataset import sim.npz --like data/teleop --output data/imported --source sim
            """)

    @Argument(help: ArgumentHelp("The .npz archive to import.", valueName: "file.npz"))
    var archive: String

    @Option(help: ArgumentHelp("A dataset whose schema the imported data follows.", valueName: "dir"))
    var like: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The new dataset directory (must not exist).", valueName: "dir"))
    var output: String

    @Option(help: "Where the data came from: real, teleop or sim (sim marks every record simulated).")
    var source: String = "real"

    func validate() throws {
        guard ["real", "teleop", "sim"].contains(source) else { throw ValidationError("--source must be real, teleop or sim") }
    }

    func run() throws {
        guard !FileManager.default.fileExists(atPath: output) else {
            throw UserError("\(output): already exists; choose a new directory with --output (import never appends)")
        }
        let template = try asUserError { try DatasetReader(directory: like) }.schema
        guard FileManager.default.fileExists(atPath: archive) else {
            throw UserError("\(archive): does not exist; give the .npz written by `robotctl dataset export` or by numpy.savez")
        }
        let npz = try asUserError { try NumpyArchive.readNPZ(path: archive) }
        let arrays = try asUserError {
            try D4RLImport.arrays(
                from: npz.mapValues { a in
                    (floats: a.dtype == .float32 || a.dtype == .float64 ? a.floats() : nil,
                     bools: a.dtype == .bool || a.dtype == .uint8 ? a.bools() : nil, shape: a.shape)
                },
                observationSize: template.observationCount, actionSize: template.actionCount, file: archive)
        }
        var schema = template
        schema.source = source
        schema.createdUTC = DatasetSchema.nowUTC()
        let records = D4RLImport.records(arrays, controlRateHz: schema.controlRateHz, extraFlags: source == "sim" ? .simulated : [])
        let parent = (output as NSString).deletingLastPathComponent
        let partial = (parent.isEmpty ? "." : parent) + "/.\((output as NSString).lastPathComponent).partial-\(getpid())"
        do {
            let writer = try DatasetWriter(directory: partial, schema: schema)
            for r in records { try writer.append(r) }
            try writer.close()
            guard rename(partial, output) == 0 else {
                throw UserError("\(output): cannot move the imported dataset into place (\(String(cString: strerror(errno)))); check the directory")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw UserError("\(error)")
        }
        print("imported \(arrays.count) transitions into \(output) (\(records.count) records in \(Set(records.map(\.header.episode)).count) episodes)")
    }
}
