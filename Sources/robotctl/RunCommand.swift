import ArgumentParser
import Control
import FixedNN
import Foundation
import H2OTrainer
import Sessions
import Hardware
import LiveView
import Reporting
import Synchronization
import SystemSupport
import Tasks

/// `robotctl run`: the 200 Hz loop drives the robot with a policy while the trainer thread
/// fine-tunes it with H2O+ and swaps improved policies in.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Drive the robot with a policy at 200 Hz and fine-tune it on the robot with H2O+.",
        discussion: """
            The robot and the task are files: --robot robots/<name>.json and --task \
            tasks/<name>.json (default: the emulated pendulum swing-up). A robot file whose link \
            port is "emulator" starts the emulated robot (the reference firmware on this machine \
            over a pseudo-terminal, driving the robot file's links) with the differences the \
            file's "emulator" section gives it (the pendulum's motor is weaker than the onboard \
            simulator assumes: j0.gain 0.7; change them with --emulator-param). Without --policy, \
            a policy trained only in the onboard simulator is used (trained once, then cached in \
            runs/cache). The loop runs at the task's control rate; the policy decides at its \
            decision rate and its action is held in between. Every tick is recorded to a dataset in the \
            run directory; on exit (duration reached or Ctrl-C) the run files and an HTML \
            report are written there.

            Example: robotctl run --duration 600
            """
    )

    @OptionGroup var shared: SharedOptions

    @OptionGroup var emulator: EmulatorOptions

    @OptionGroup var live: LiveViewOptions

    @Option(help: ArgumentHelp("Starting policy (.safetensors). Default: the simulator-trained one.", valueName: "policy"))
    var policy: String?

    @Flag(inversion: .prefixedNo, help: "Fine-tune on the robot with H2O+ (default: on for the emulated robot, off for a real one).")
    var finetune: Bool?

    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Option(help: ArgumentHelp("Write this run's dataset here (default: RUN_DIR/dataset).", valueName: "dir"))
    var record: String?

    @Option(help: ArgumentHelp("Earlier datasets to fine-tune on as well (repeatable).", valueName: "dir"))
    var dataset: [String] = []

    @Option(help: ArgumentHelp("Run directory (default: runs/<UTC timestamp>).", valueName: "dir"))
    var runDirectory: String?

    @Option(help: "Simulator pre-training updates when no --policy is given.")
    var pretrainUpdates: Int = 20_000

    @Flag(inversion: .prefixedNo, help: "Calibrate the onboard simulator during the run: fit inertia, actuator gain and friction to the first episodes on the robot (system identification) and fine-tune in the fitted simulator.")
    var calibrateSimulator = true

    func validate() throws {
        if let d = duration, !(d > 0) { throw ValidationError("--duration must be > 0 seconds (got \(d))") }
        try emulator.check()
        if pretrainUpdates < 1 { throw ValidationError("--pretrain-updates must be ≥ 1") }
    }

    func run() throws {
        Console.shared.level = shared.logLevel
        let files = try RobotFiles(shared)
        let setup = files.bringup(emulatorOverrides: emulator.parsedParameters, seed: shared.seed)
        defer { setup.close() }
        let task = files.loopTask
        // The learner sees the task at the policy's time step (decisions every N loop ticks).
        let learnerTask = try wrap { try FileTask(robot: files.robot, task: files.task) }
        let decisionTicks = files.task.controlTicksPerDecision
        let actionScale = files.task.actions.map { Float($0.scale) }
        let finetuning = finetune ?? setup.emulated
        var settings = OnRobotSettings(seed: shared.seed)
        settings.hyperparameters.gamma = learnerTask.discount

        // Starting policy: a file, or the simulator-trained agent (cached).
        var checkpoint: SafeTensors?
        var startDescription: String
        var policyFile: PolicyFile
        if let path = policy {
            policyFile = try wrap { try StartingPolicy.load(path: path, task: task) }
            startDescription = path
        } else {
            var plan = SimPretraining.Plan(hyperparameters: settings.hyperparameters, seed: shared.seed)
            plan.updates = pretrainUpdates
            let bar = ProgressBar(label: "simulator pre-training (SAC, onboard simulator only)", total: plan.updates)
            let got = try wrap {
                try StartingPolicy.simulatorTrained(task: learnerTask, plan: plan, cacheDirectory: "runs/cache") { done, total, ret in
                    bar.update(done, note: ret.map { String(format: "sim return %.0f", $0) } ?? "")
                }
            }
            if got.fromCache {
                Console.shared.log(.info, "starting policy: \(got.cachedPath) (cached; simulator return \(String(format: "%.1f", got.simulatorReturn)))")
            } else {
                bar.finish("simulator return \(String(format: "%.1f", got.simulatorReturn)), cached in \(got.cachedPath)")
            }
            checkpoint = got.checkpoint
            startDescription = got.cachedPath
            policyFile = try wrap {
                try StartingPolicy.policy(fromCheckpoint: got.checkpoint, actionScale: actionScale, source: got.cachedPath)
            }
        }
        let (sizeIn, sizeOut) = (policyFile.observationSize, policyFile.actionSize)
        try asUserError { try files.task.check(policyObservationSize: sizeIn, actionSize: sizeOut, policyFile: startDescription) }
        // The file's action_scale, honoured: the task commands scale · u, the policy asks for action_scale · tanh(μ).
        let runtimePolicy = try wrap {
            try DeterministicPolicy(policyFile, actionUnit: actionScale, source: startDescription)
        }
        if finetuning && runtimePolicy.commandGain.contains(where: { $0 != 1 }) {
            throw UserError("\(startDescription): action_scale \(policyFile.actionScale) is not the task's action scale \(actionScale) (\(files.task.source)), and fine-tuning learns in the task's units; run with --no-finetune, or store action_scale \(actionScale)")
        }
        try wrap { try StartingPolicy.checkFinite(runtimePolicy, observation: [Float](repeating: 0, count: task.observationSize), path: startDescription) }
        let learner: OnlineLearner<FileTask>? = finetuning ? try wrap {
            try StartingPolicy.learner(
                task: learnerTask, checkpoint: checkpoint, policy: policyFile, hyperparameters: settings.hyperparameters,
                settings: settings, realCapacity: 2_000_000, source: startDescription)
        } : nil
        let schema = files.task.datasetSchema(robot: files.robot, calibration: files.calibration, source: "robotctl run")
        if let learner, !dataset.isEmpty {
            let n = try wrap {
                try StartingPolicy.loadPriorData(dataset, into: learner, recording: schema, decisionTicks: decisionTicks)
            }
            Console.shared.log(.info, "real data: \(n) transitions from \(dataset.count) earlier dataset(s)")
        }

        // The robot, then the run directory (nothing is written before the robot answered).
        try setup.connectOrFail()
        let started = Date()
        let runDir = try RunPaths.create(runDirectory)
        let datasetDir = record ?? (runDir as NSString).appendingPathComponent("dataset")
        var options = OnRobotOptions(duration: duration, finetune: finetuning, datasetDirectory: datasetDir)
        options.realtime = RealtimeOptions(fifoPriority: 80, cpu: RealtimeOptions.lastCPU)
        options.decisionTicks = decisionTicks
        let liveView = try live.start(schema: schema, title: "robotctl run — \(task.name) on \(setup.description)")
        defer { liveView?.stop() }
        options.extraSinks = liveView.map { [$0.feed] } ?? []
        let session = try wrap {
            try RunSession(
                robot: setup.robot!, task: task, mode: task.mode, policy: runtimePolicy, limits: setup.limits, schema: schema,
                learner: learner, settings: settings, options: options,
                estop: liveView?.emergencyStop(with: setup.estop) ?? setup.estop, outputs: setup.outputs)
        }
        if calibrateSimulator {
            let nominal = learnerTask.parameters, robotSpec = files.robot, taskSpec = files.task
            session.calibrateSimulator { trajectories in
                OnlineCalibration.fit(trajectories, task: taskSpec, nominal: nominal).flatMap { fit in
                    (try? FileTask(robot: robotSpec, task: taskSpec, parameters: fit.parameters)).map { ($0, fit.describe(nominal: nominal)) }
                }
            }
        }
        for r in session.recorder.writer?.recovered ?? [] { Console.shared.log(.warning, r.message(directory: datasetDir)) }
        Console.shared.log(.info, "run directory: \(runDir)")
        Console.shared.log(.info, "robot: \(setup.description); task \(task.name) (\(files.task.source)) at \(files.task.controlRateHz) Hz, episodes of \(task.episodeTicks) ticks, policy decisions every \(decisionTicks) ticks (\(files.task.decisionRateHz) Hz); fine-tuning \(finetuning ? "on (H2O+, γ \(learnerTask.discount) per decision)" : "off")")
        let interrupt = StopSignal.install()
        interrupt.watch { session.requestStop() }
        let result = try session.run { s in
            Console.shared.status(s.line)
            liveView?.feed.post(status: LiveFeed.Status(s))
        }
        interrupt.finish()
        Console.shared.clearStatus()

        // Files, report, summary.
        let finalPolicyPath = (runDir as NSString).appendingPathComponent("policy.safetensors")
        let final = PolicyFile(
            network: policyFile.network.clone(), head: policyFile.head, logStdScale: policyFile.logStdScale,
            logStdBias: policyFile.logStdBias, observationMean: policyFile.observationMean,
            observationStd: policyFile.observationStd, actionScale: policyFile.actionScale,
            provenance: ["algorithm": finetuning ? "h2o+ on robot" : "none", "run": runDir, "started_from": startDescription])
        var finalCopy = final
        _ = finalCopy.network.parameters.withUnsafeMutableBufferPointer { $0.update(fromContentsOf: result.finalPolicyParameters) }
        try? finalCopy.save(path: finalPolicyPath)
        let summary = RunSummary(result: result)
        var config: [String: Any] = [
            "robot": setup.description, "robot_file": files.robot.source, "task_file": files.task.source,
            "task": task.name, "control_rate_hz": files.task.controlRateHz,
            "episode_ticks": task.episodeTicks, "decision_ticks": decisionTicks,
            "decision_rate_hz": files.task.decisionRateHz, "calibrate_simulator": calibrateSimulator, "gamma": learnerTask.discount, "finetune": finetuning,
            "emulator_parameters": setup.emulated ? setup.link.emulatorDescription : "none (real robot)",
            "starting_policy": startDescription, "dataset": datasetDir, "prior_datasets": dataset,
            "calibration": setup.calibrationPath, "seed": shared.seed,
        ]
        config["duration_s"] = duration ?? NSNull()
        for (k, v) in settings.recorded { config["trainer." + k] = v }
        let writeRunFiles = {
            try RunDirectoryWriter.write(
                result, command: "run", started: started, config: config, summary: summary.json, to: runDir,
                title: "robotctl run — \(task.name) on \(setup.description)")
        }
        if let e = result.datasetError {
            // The dataset could not be written (the loop latched a safety stop at once); the run
            // files, likely on the same full disk, are best effort: the one line is this one.
            _ = try? writeRunFiles()
            throw CommandFailure(.recordingFailed, "dataset \(datasetDir): \(e); the safety layer stopped the motors (\(result.recordsWritten) records written)")
        }
        let report = try wrap { try writeRunFiles() }
        if setup.emulated { print("emulated robot: \(files.robot.source) \(setup.link.emulatorDescription == EmulatedRobot.describe([]) ? "" : "with ")\(setup.link.emulatorDescription) (onboard simulator: the robot file)") }
        for line in summary.lines { print(line) }
        if let servo = setup.robot as? ServoBusRobot { print(servo.busTimeSummary) }
        if let c = result.events.last(where: { $0.kind == "simulator_calibrated" }) { print("onboard simulator calibrated on the robot: \(c.detail)") }
        print("dataset: \(datasetDir) (\(result.recordsWritten) records)")
        print("final policy: \(finalPolicyPath)")
        print("report: \(report)")
        try ExitStatus.ofRun(result, signal: interrupt.kind, openEnded: duration == nil).finish("run", why: result.endReason)
    }
}

/// Converts library errors into one-line user errors.
func wrap<T: ~Copyable>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as UserError { throw e } catch { throw UserError("\(error)") }
}

/// The run directory of `run`.
enum RunPaths {
    /// Creates `requested` or runs/<UTC timestamp> and returns it.
    static func create(_ requested: String?) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH-mm-ss'Z'"
        guard let dir = requested else {
            // Runs started in the same second get their own directory: <stamp>, <stamp>-2, …
            return try wrap { try RunDirectoryWriter.createUnique(parent: "runs", stamp: formatter.string(from: Date())) }
        }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw UserError("\(dir): cannot create the run directory (\((error as NSError).localizedDescription)); choose a writable place with --run-directory")
        }
        return dir
    }
}
