import ArgumentParser
import Benchmarks
import Tasks
import Foundation
import H2OTrainer

/// The options of `robotctl bench sim` and `robotctl sim bench`.
struct SimBenchOptions: ParsableArguments {
    @Flag(help: "Print the results as JSON on standard output.")
    var json = false

    @Option(help: "Seconds per repeat.")
    var seconds: Double = 0.3

    @Option(help: "Repeats per path; the median is reported.")
    var repeats: Int = 5

    @Option(help: "Environments stepped together by the batch paths (the pendulum batch rounds up to a multiple of 8).")
    var lanes: Int = 4096

    @Option(help: ArgumentHelp("Measure this robot file's task (with --task) instead of the shipped ones.", valueName: "FILE"))
    var robot: String?

    @Option(help: ArgumentHelp("The task file for --robot.", valueName: "FILE"))
    var task: String?

    @Option(help: ArgumentHelp("Measure only the paths whose name starts with one of these (comma-separated), e.g. pendulum/,acrobot/file.", valueName: "PREFIXES"))
    var only: String?

    func validate() throws {
        guard seconds > 0, repeats > 0, lanes > 0 else {
            throw ValidationError("--seconds, --repeats and --lanes must be positive")
        }
        guard (robot == nil) == (task == nil) else {
            throw ValidationError("--robot and --task go together; give both files or neither")
        }
    }

    /// Runs the benchmark and prints it.
    func run() throws {
        var pairs = TaskFiles.shipped.map { (name: $0.name, robot: TaskFiles.locate($0.robot), task: TaskFiles.locate($0.task)) }
        if let robot, let task {
            let name = ((task as NSString).lastPathComponent as NSString).deletingPathExtension
            pairs = [(name, TaskFiles.locate(robot), TaskFiles.locate(task))]
        }
        let prefixes = only.map { $0.split(separator: ",").map(String.init) }
        let results: [SimBenchmark.Result]
        do {
            results = try SimBenchmark.run(
                seconds: seconds, repeats: repeats, lanes: lanes, fileTasks: pairs,
                include: { name in prefixes.map { $0.contains { name.hasPrefix($0) } } ?? true })
        } catch { throw UserError("bench sim: \(error)") }
        if json {
            struct Row: Encodable {
                let name: String
                let unit: String
                let lanes: Int
                let control_ticks_per_step: Int
                let median_steps_per_second: Double
                let steps_per_second: [Double]
            }
            let rows = results.map {
                Row(
                    name: $0.name, unit: $0.unit, lanes: $0.lanes, control_ticks_per_step: $0.controlTicksPerStep,
                    median_steps_per_second: $0.median,
                    steps_per_second: $0.stepsPerSecond)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            for r in results {
                let rate = String(format: "%10.3f M steps/s", r.median / 1e6)
                print("\(r.name.padding(toLength: 32, withPad: " ", startingAt: 0)) \(rate)  \(r.unit)")
            }
        }
    }
}

/// `robotctl bench sim`.
struct BenchSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Measure simulator steps per second on one core: the shipped robot/task files, scalar and batch.",
        discussion: """
            Measures the onboard simulator on robots/pendulum.json, robots/cartpole.json and \
            robots/acrobot.json with their task files (one step = one policy decision, as \
            Gymnasium's env.step; also per control tick and batched), beside the hand-written \
            pendulum/cart-pole simulators and the real plant. scripts/bench/50-sim.sh runs it \
            interleaved with the Gymnasium and numpy peers.

            Example: robotctl bench sim --json --only acrobot/
            """)

    @OptionGroup var options: SimBenchOptions

    func run() throws { try options.run() }
}

/// `robotctl sim bench`: the same measurement under `sim`.
struct SimBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure simulator steps per second (same as `robotctl bench sim`).",
        discussion: "Example: robotctl sim bench --robot robots/acrobot.json --task tasks/acrobot-swingup.json")

    @OptionGroup var options: SimBenchOptions

    func run() throws { try options.run() }
}
