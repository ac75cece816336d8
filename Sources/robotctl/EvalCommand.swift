import ArgumentParser
import Control
import FixedNN
import Foundation
import H2OTrainer
import Hardware

/// `robotctl eval`: deterministic episodes of a policy on the robot (or the emulated robot),
/// with return statistics. Nothing is trained and nothing is recorded.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run deterministic episodes of a policy on the robot and print return statistics.",
        discussion: """
            Each episode starts with the task's reset phase (unrecorded), then runs the policy's \
            deterministic action for a full episode through the safety layer. Without --robot the \
            emulated robot is used; without --policy the cached simulator-trained policy \
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
        let setup = try shared.bringup(emulatorParameters: EmulatedRobot.parameters(overriding: emulator.parsedParameters))
        defer { setup.close() }
        try setup.requirePendulum("eval")
        let task = RobotPendulumTask()
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
            file = try wrap { try StartingPolicy.policy(fromCheckpoint: checkpoint, actionScale: [Float(task.parameters.maxTorque)], source: path) }
        } else {
            file = try wrap { try StartingPolicy.load(path: path, task: task) }
        }
        let runtime: DeterministicPolicy
        do { runtime = try DeterministicPolicy(file, actionUnit: [Float(task.parameters.maxTorque)], source: path) } catch {
            throw UserError("\(error)")
        }
        try wrap { try StartingPolicy.checkFinite(runtime, observation: [-1, 0, 0], path: path) }
        try setup.connectOrFail()
        let schema = RunPaths.schema(task: task, calibration: setup.calibration, source: "robotctl eval")
        var options = OnRobotOptions(duration: nil, maxEpisodes: episodes, finetune: false, datasetDirectory: nil)
        options.decisionTicks = emulator.decisionTicks
        let session = try wrap {
            try OnRobotSession<RobotPendulumTask, LearnerPendulumTask>(
                robot: setup.robot!, task: task, policy: runtime, limits: setup.limits, schema: schema,
                learner: nil, settings: OnRobotSettings(seed: shared.seed), options: options, estop: setup.estop,
                outputs: setup.outputs)
        }
        Console.shared.log(.info, "eval: \(path) on \(setup.description), \(episodes) episode(s) of \(task.episodeTicks) ticks")
        let interrupt = StopSignal.install()
        interrupt.watch { session.requestStop() }
        let result = try session.run { s in
            Console.shared.status("eval: episode \(s.episodes)/\(episodes)  last return \(s.lastEpisodeReturn.map { String(format: "%.1f", $0) } ?? "–")  loop \(String(format: "%.1f", s.loopHz)) Hz")
        }
        interrupt.finish()
        Console.shared.clearStatus()
        let returns = result.episodes.filter { !$0.aborted }.prefix(episodes).map(\.episodeReturn)
        let status = ExitStatus.ofRun(result, signal: interrupt.kind, openEnded: false)
        guard !returns.isEmpty else {
            try status.finish("eval", why: "no episode finished (\(result.endReason))")
            throw CommandFailure(.failure, "eval ended: no episode finished (\(result.endReason))")
        }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let std = (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count)).squareRoot()
        if json {
            let obj: [String: Any] = [
                "policy": path, "episodes": returns.count, "decision_ticks": emulator.decisionTicks,
                "robot": setup.emulated ? "emulated: " + EmulatedRobot.describe(setup.emulatorParameters) : setup.description, "returns": returns, "mean": mean, "std": std,
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
