import ArgumentParser
import Control
import FixedNN
import Foundation
import H2OTrainer
import Hardware
import Sessions
import Tasks

/// `robotctl eval`: deterministic episodes of a policy on the robot (or the emulated robot),
/// with return statistics. Nothing is trained and nothing is recorded.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run deterministic episodes of a policy on the robot and print return statistics.",
        discussion: """
            Each episode starts with the task's reset phase (unrecorded), then runs the policy's \
            deterministic action for a full episode through the safety layer. The robot and task \
            are files (--robot, --task; default: the emulated pendulum swing-up); without --policy the cached simulator-trained policy \
            (made by `robotctl run`).

            Example: robotctl eval --policy runs/2026-11-28T19-00-00Z/policy.safetensors --episodes 5
            """
    )

    @OptionGroup var shared: SharedOptions

    @OptionGroup var emulator: EmulatorOptions

    @Option(help: ArgumentHelp("Policy to evaluate (.safetensors).", valueName: "policy"))
    var policy: String?

    @Option(help: "Episodes to run.")
    var episodes: Int = 5

    @Flag(help: "Print the statistics as JSON on standard output.")
    var json = false

    func validate() throws {
        if episodes < 1 { throw ValidationError("--episodes must be ≥ 1 (got \(episodes))") }
        try emulator.check()
    }

    func run() throws {
        Console.shared.level = shared.logLevel
        let files = try RobotFiles(shared)
        let setup = files.bringup(emulatorOverrides: emulator.parsedParameters, seed: shared.seed)
        defer { setup.close() }
        let task = files.loopTask
        let actionScale = files.task.actions.map { Float($0.scale) }
        let path: String
        if let p = policy {
            path = p
        } else {
            let cache = "runs/cache"
            func modified(_ name: String) -> Date {
                let attributes = try? FileManager.default.attributesOfItem(atPath: (cache as NSString).appendingPathComponent(name))
                return (attributes?[.modificationDate] as? Date) ?? .distantPast
            }
            let candidates = (try? FileManager.default.contentsOfDirectory(atPath: cache))?
                .filter { $0.hasPrefix("\(task.name)-sim-agent-") }.sorted { modified($0) < modified($1) } ?? []
            guard let name = candidates.last else {
                throw UserError("no --policy given and no simulator-trained policy in \(cache); pass --policy FILE or run `robotctl run` once to train it")
            }
            path = (cache as NSString).appendingPathComponent(name)
        }
        let file: PolicyFile
        if path.contains("-sim-agent-") {
            let checkpoint = try wrap { try AgentFile.read(path: path) }
            file = try wrap { try StartingPolicy.policy(fromCheckpoint: checkpoint, actionScale: actionScale, source: path) }
        } else {
            file = try wrap { try StartingPolicy.load(path: path, task: task) }
        }
        let (sizeIn, sizeOut) = (file.observationSize, file.actionSize)
        try asUserError { try files.task.check(policyObservationSize: sizeIn, actionSize: sizeOut, policyFile: path) }
        let runtime: DeterministicPolicy
        do { runtime = try DeterministicPolicy(file, actionUnit: actionScale, source: path) } catch {
            throw UserError("\(error)")
        }
        try wrap { try StartingPolicy.checkFinite(runtime, observation: [Float](repeating: 0, count: task.observationSize), path: path) }
        try setup.connectOrFail()
        let schema = files.task.datasetSchema(robot: files.robot, calibration: files.calibration, source: "robotctl eval")
        let session = try wrap {
            try EvalSession(
                robot: setup.robot!, task: task, mode: task.mode, policy: runtime, limits: setup.limits, schema: schema,
                episodes: episodes, decisionTicks: files.task.controlTicksPerDecision, seed: shared.seed,
                estop: setup.estop, outputs: setup.outputs)
        }
        Console.shared.log(.info, "eval: \(path) on \(setup.description), \(episodes) episode(s) of \(task.episodeTicks) ticks")
        let interrupt = StopSignal.install()
        interrupt.watch { session.requestStop() }
        let (result, returns) = try session.run { done, last, hz in
            Console.shared.status("eval: episode \(done)/\(episodes)  last return \(last.map { String(format: "%.1f", $0) } ?? "–")  loop \(String(format: "%.1f", hz)) Hz")
        }
        interrupt.finish()
        Console.shared.clearStatus()
        let status = ExitStatus.ofRun(result, signal: interrupt.kind, openEnded: false)
        guard !returns.isEmpty else {
            try status.finish("eval", why: "no episode finished (\(result.endReason))")
            throw CommandFailure(.failure, "eval ended: no episode finished (\(result.endReason))")
        }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let std = (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count)).squareRoot()
        if json {
            let obj: [String: Any] = [
                "policy": path, "episodes": returns.count, "decision_ticks": files.task.controlTicksPerDecision,
                "robot_file": files.robot.source, "task_file": files.task.source,
                "robot": setup.emulated ? "emulated: " + setup.link.emulatorDescription : setup.description, "returns": returns, "mean": mean, "std": std,
                "min": returns.min()!, "max": returns.max()!,
            ]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "eval: %d episodes, return mean %.1f std %.1f min %.1f max %.1f", returns.count, mean, std, returns.min()!, returns.max()!))
            print("returns: " + returns.map { String(format: "%.1f", $0) }.joined(separator: " "))
        }
        try status.finish("eval", why: result.endReason)
    }
}
