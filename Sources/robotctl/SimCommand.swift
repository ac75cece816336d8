import ArgumentParser
import Benchmarks
import FixedNN
import Foundation
import H2OTrainer
import Tasks

/// `robotctl sim`: the onboard simulator on its own. (Its subcommands share this file, the
/// one the simulator owns in robotctl; each is its own type.)
struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Step the onboard simulator: roll out given actions, list task parameters, measure speed.",
        discussion: """
            Tasks: \(SimTaskName.allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: "; ")).

            Example: robotctl sim rollout --task pendulum --param gravity=12 --init init.npy \
            --actions actions.npy --out rollout.npz
            """,
        subcommands: [
            SimRolloutCommand.self, SimParamsCommand.self, SimCollectCommand.self, SimBenchCommand.self,
        ]
    )
}

/// Parses `--task`.
extension SimTaskName: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// `robotctl sim rollout`.
struct SimRolloutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Step the onboard simulator through an action sequence and write what it saw.",
        discussion: """
            INIT.npy holds start state vectors: shape [S] for one episode or [E, S] for E \
            episodes (pendulum: theta, theta_dot with theta 0 upright; cart-pole: x, x_dot, \
            theta, theta_dot). ACTIONS.npy holds policy actions in [-1, 1] (out-of-range values \
            are clipped): [T] or [T, A] for one episode, [E, T] or [E, T, A] for E. OUT.npz gets \
            observations [E, T+1, O] float32, states [E, T+1, S], rewards [E, T], terminals \
            [E, T], timeouts [E, T] and lengths [E] (the E axis is dropped when INIT is 1-D). \
            An episode stops at a terminal or time-out: later entries repeat the last state \
            with reward 0.

            Example: robotctl sim rollout --task pendulum-gymnasium --init init.npy \
            --actions actions.npy --out out.npz
            """)

    @Option(help: "Task name (see `robotctl sim --help`).")
    var task: SimTaskName

    @Option(
        name: .customLong("param"),
        help: ArgumentHelp(
            "Override a task parameter, repeatable (see `robotctl sim params --task T`).",
            valueName: "name=value"))
    var params: [String] = []

    @Option(name: .customLong("init"), help: ArgumentHelp("Start states (.npy).", valueName: "INIT.npy"))
    var initPath: String

    @Option(name: .customLong("actions"), help: ArgumentHelp("Actions (.npy).", valueName: "ACTIONS.npy"))
    var actionsPath: String

    @Option(name: .customLong("out"), help: ArgumentHelp("Output archive.", valueName: "OUT.npz"))
    var outPath: String

    @Option(help: "Seed of the action noise (when the task has action_noise > 0).")
    var seed: UInt64 = 1

    func run() throws {
        let task = try SimTaskName.parse(self.task.rawValue).make(assignments: params)
        let starts = try NumpyArchive.readNPY(path: initPath)
        let actions = try NumpyArchive.readNPY(path: actionsPath)
        let output = try rollout(task, starts: starts, actions: actions)
        try NumpyArchive.writeNPZ(output, path: outPath)
        Console.shared.log(.info, "sim rollout: wrote \(outPath)")
    }

    private func rollout<T: SimulatedTask>(
        _ task: T, starts: NumpyArray, actions: NumpyArray
    ) throws
        -> [(name: String, array: NumpyArray)]
    {
        let s = task.simStateNames.count
        let a = task.actionSize
        let batched = starts.shape.count == 2
        guard starts.shape.count == 1 || batched, starts.shape.last == s else {
            throw UserError(
                "\(initPath): shape \(starts.shape) is not [\(s)] or [E, \(s)] (\(task.simStateNames.joined(separator: ", "))); write one start state per row"
            )
        }
        let episodes = batched ? starts.shape[0] : 1
        var shape = actions.shape
        if shape.count == (batched ? 2 : 1) && a == 1 { shape.append(1) }
        guard shape.count == (batched ? 3 : 2), shape.last == a, !batched || shape[0] == episodes else {
            let want = batched ? "[\(episodes), T, \(a)]" : "[T, \(a)]"
            throw UserError(
                "\(actionsPath): shape \(actions.shape) does not match \(want); write one action row per step"
            )
        }
        let steps = shape[shape.count - 2]
        let out = try SimRollout.run(
            task: task, starts: starts.doubles(), episodes: episodes,
            actions: actions.floats(), steps: steps, seed: seed)
        let lead = batched ? [episodes] : []
        return [
            ("observations", NumpyArray(out.observations, shape: lead + [steps + 1, out.observationSize])),
            ("states", NumpyArray(out.states, shape: lead + [steps + 1, out.stateSize])),
            ("rewards", NumpyArray(out.rewards, shape: lead + [steps])),
            ("terminals", NumpyArray(out.terminals, shape: lead + [steps])),
            ("timeouts", NumpyArray(out.timeouts, shape: lead + [steps])),
            ("lengths", NumpyArray(out.lengths.map { Int64($0) }, shape: lead)),
        ]
    }
}

/// `robotctl sim params`.
struct SimParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params",
        abstract: "List a task's parameters (the gap parameters among them) with their preset values.",
        discussion: "Example: robotctl sim params --task cartpole")

    @Option(help: "Task name.")
    var task: SimTaskName

    func run() throws {
        for row in task.parameterTable() {
            let name = row.name.padding(toLength: 16, withPad: " ", startingAt: 0)
            let value = "\(row.value)".padding(toLength: 10, withPad: " ", startingAt: 0)
            print("\(name) \(value) \(row.doc)")
        }
    }
}

/// `robotctl sim collect`.
struct SimCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract:
            "Record an offline real-domain dataset: a scripted noisy operator swings up the real plant.",
        discussion: """
            The operator is the energy-pumping swing-up controller with a per-episode effort \
            scale and correlated noise; the plant is the emulated robot's physics \
            (firmware-proto/plant) stepped directly. The dataset is written in the project's \
            format (Sources/Control/DATASET.md) with the teleop flag. Pendulum only.

            Example: robotctl sim collect --out data/teleop --episodes 20 --noise 0.3 \
            --plant-param coulomb=0.15
            """)

    @Option(help: "Dataset directory (created, or appended to when compatible).")
    var out: String

    @Option(help: "Episodes to record (each 2000 ticks, 10 s at 200 Hz).")
    var episodes: Int = 20

    @Option(help: "Std of the operator's noise, in action units (1 = full torque).")
    var noise: Double = 0.3

    @Option(help: "Each episode scales the controller's effort by U[1 - spread, 1].")
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
                throw ValidationError("--plant-param \(assignment) is not name=number; example: coulomb=0.15")
            }
            options.plantParameters[parts[0]] = value
        }
        let summary = try TeleopDataset.recordPendulum(
            task: PendulumTask(parameters: .rate200Hz), directory: out, options: options)
        let mean = summary.returns.reduce(0, +) / Double(max(1, summary.returns.count))
        Console.shared.log(
            .info,
            "sim collect: \(summary.records) records in \(out), mean episode return \(String(format: "%.1f", mean))"
        )
    }
}

/// `robotctl sim bench` (also `robotctl bench sim`).
struct SimBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure simulator steps per second on one core (scalar, vectorised batch, real plant).",
        discussion: "Example: robotctl sim bench --json > sim.json")

    @Flag(help: "Print the results as JSON on standard output.")
    var json = false

    @Option(help: "Seconds per repeat.")
    var seconds: Double = 0.3

    @Option(help: "Repeats per path; the median is reported.")
    var repeats: Int = 5

    @Option(help: "Pendulums stepped together by the batch path (rounded up to a multiple of 8).")
    var lanes: Int = 4096

    func validate() throws {
        guard seconds > 0, repeats > 0, lanes > 0 else {
            throw ValidationError("--seconds, --repeats and --lanes must be positive")
        }
    }

    func run() throws {
        let results = try SimBenchmark.run(seconds: seconds, repeats: repeats, lanes: lanes)
        if json {
            struct Row: Encodable {
                let name: String
                let unit: String
                let lanes: Int
                let median_steps_per_second: Double
                let steps_per_second: [Double]
            }
            let rows = results.map {
                Row(
                    name: $0.name, unit: $0.unit, lanes: $0.lanes, median_steps_per_second: $0.median,
                    steps_per_second: $0.stepsPerSecond)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            for r in results {
                let rate = String(format: "%10.3f M steps/s", r.median / 1e6)
                print("\(r.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(rate)  \(r.unit)")
            }
        }
    }
}

/// `robotctl bench sim`: the same measurement under `bench`.
struct BenchSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Measure simulator steps per second (same as `robotctl sim bench`).",
        discussion: "Example: robotctl bench sim --json")

    @OptionGroup var options: SimBenchOptions

    func run() throws {
        var command = SimBenchCommand()
        command.json = options.json
        command.seconds = options.seconds
        command.repeats = options.repeats
        command.lanes = options.lanes
        try command.validate()
        try command.run()
    }
}

/// The options of `bench sim`.
struct SimBenchOptions: ParsableArguments {
    @Flag(help: "Print the results as JSON on standard output.")
    var json = false
    @Option(help: "Seconds per repeat.")
    var seconds: Double = 0.3
    @Option(help: "Repeats per path; the median is reported.")
    var repeats: Int = 5
    @Option(help: "Pendulums stepped together by the batch path.")
    var lanes: Int = 4096
}
