import ArgumentParser
import Benchmarks
import Tasks
import Foundation
import H2OTrainer

/// `robotctl sim collect`.
struct SimCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Record an offline real-domain dataset: a scripted noisy operator drives the robot's emulated plant.",
        discussion: """
            The plant is the emulated robot's physics (firmware-proto/plant, its chain built \
            from the robot file) stepped directly; one record per policy decision. The \
            operator pushes a wandering (correlated-noise) stick on each driven joint with a \
            per-episode effort scale. Written in the project's format \
            (Sources/Control/DATASET.md) with the teleop flag. --plant-param sets the \
            plant's parameters (plant.h names, e.g. j0.coulomb).

            Example: robotctl sim collect --robot robots/pendulum.json \
            --task tasks/pendulum-swingup.json --out data/teleop --episodes 20 --noise 0.5
            """)

    @Option(help: ArgumentHelp("Robot file (found from any working directory).", valueName: "FILE"))
    var robot = TaskFiles.defaultRobot

    @Option(help: ArgumentHelp("Task file for that robot (found from any working directory).", valueName: "FILE"))
    var task = TaskFiles.defaultTask

    @Option(help: "Dataset directory (created, or appended to when compatible).")
    var out: String

    @Option(help: "Episodes to record (each the task's episode length).")
    var episodes: Int = 20

    @Option(help: "Std of the operator's stick, in action units (1 = full effort).")
    var noise: Double = 0.5

    @Option(help: "Each episode scales the operator's effort by U[1 - spread, 1].")
    var effortSpread: Double = 0.5

    @Option(
        name: .customLong("plant-param"),
        help: ArgumentHelp(
            "Override a real plant parameter, repeatable (names in firmware-proto/plant/include/plant.h).",
            valueName: "name=value"))
    var plantParams: [String] = []

    @Option(help: "Seed of the operator's noise and the plant's sensor noise.")
    var seed: UInt64 = 1

    func validate() throws {
        guard episodes > 0, noise >= 0, (0...1).contains(effortSpread) else {
            throw ValidationError(
                "--episodes must be positive, --noise non-negative, --effort-spread in 0...1")
        }
    }

    func run() throws {
        var options = TeleopDataset.Options()
        options.episodes = episodes
        options.noise = noise
        options.effortSpread = effortSpread
        options.seed = seed
        for assignment in plantParams {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw ValidationError("--plant-param \(assignment) is not name=number; example: j0.coulomb=0.15")
            }
            options.plantParameters[parts[0]] = value
        }
        let summary = try asUserError {
            try FileTaskDataset.record(task: try TaskFiles.load(robot: robot, task: task), directory: out, options: options)
        }
        let mean = summary.returns.reduce(0, +) / Double(max(1, summary.returns.count))
        Console.shared.log(
            .info,
            "sim collect: \(summary.records) records in \(out), mean episode return \(String(format: "%.1f", mean))"
        )
    }
}
