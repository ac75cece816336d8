import ArgumentParser
import Control
import FixedNN
import Foundation
import H2OTrainer
import Hardware
import LiveView
import Reporting
import Synchronization

/// `robotctl run`: the 200 Hz loop drives the robot with a policy while the trainer thread
/// fine-tunes it with H2O+ and swaps improved policies in.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Drive the robot with a policy at 200 Hz and fine-tune it on the robot with H2O+.",
        discussion: """
            Without --robot, the emulated robot is started (the reference firmware on this \
            machine over a pseudo-terminal) with calibration/emulated-pendulum.json and a motor \
            weaker than the onboard simulator assumes (actuator_gain=0.7; change it with \
            --emulator-param). Without --policy, a policy trained only in the onboard simulator \
            is used (trained once, then cached in runs/cache). The loop runs at 200 Hz; the \
            policy decides every --decision-ticks ticks (20 Hz by default, the simulator's time \
            step) and its action is held in between. Every tick is recorded to a dataset in the \
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

    @Option(help: "Drive the pendulum on an emulated servo bus (servo-emulator) instead of robot-emulator: dynamixel.")
    var servoBus: String?

    func validate() throws {
        if let d = duration, !(d > 0) { throw ValidationError("--duration must be > 0 seconds (got \(d))") }
        if let b = servoBus, b != "dynamixel" { throw ValidationError("--servo-bus \(b): the emulated servo pendulum is a Dynamixel one; use --servo-bus dynamixel") }
        try emulator.check()
        if pretrainUpdates < 1 { throw ValidationError("--pretrain-updates must be ≥ 1") }
    }

    func run() throws {
        Console.shared.level = shared.logLevel
        let setup = try shared.bringup(emulatorParameters: EmulatedRobot.parameters(overriding: emulator.parsedParameters))
        setup.servoBusEmulator = servoBus != nil
        defer { setup.close() }
        try setup.requirePendulum("run")
        let task = RobotPendulumTask()
        // The learner sees the task at the policy's time step (decisions every N loop ticks).
        let learnerTask = LearnerPendulumTask(base: task.base.decisionTask(ticksPerDecision: emulator.decisionTicks))
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
            plan.hyperparameters.gamma = task.base.pretrainingTask.discount
            plan.updates = pretrainUpdates
            let bar = ProgressBar(label: "simulator pre-training (SAC, onboard simulator only)", total: plan.updates)
            let got = try wrap {
                try StartingPolicy.simulatorTrained(task: task.base.pretrainingTask, plan: plan, cacheDirectory: "runs/cache") { done, total, ret in
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
                try StartingPolicy.policy(
                    fromCheckpoint: got.checkpoint, actionScale: [Float(task.parameters.maxTorque)], source: got.cachedPath)
            }
        }
        // The file's action_scale, honoured: the task commands maxTorque · u, the policy asks for action_scale · tanh(μ).
        let runtimePolicy = try wrap {
            try DeterministicPolicy(policyFile, actionUnit: [Float(task.parameters.maxTorque)], source: startDescription)
        }
        if finetuning && runtimePolicy.commandGain.contains(where: { $0 != 1 }) {
            throw UserError("\(startDescription): action_scale \(policyFile.actionScale) is not the task's torque limit \(task.parameters.maxTorque) N·m, and fine-tuning learns in the task's units; run with --no-finetune, or store action_scale [\(task.parameters.maxTorque)]")
        }
        try wrap { try StartingPolicy.checkFinite(runtimePolicy, observation: [-1, 0, 0], path: startDescription) }
        let learner: OnlineLearner<LearnerPendulumTask>? = finetuning ? try wrap {
            try StartingPolicy.learner(
                task: learnerTask, checkpoint: checkpoint, policy: policyFile, hyperparameters: settings.hyperparameters,
                settings: settings, realCapacity: 2_000_000, source: startDescription)
        } : nil
        if let learner, !dataset.isEmpty {
            let recording = RunPaths.schema(task: task, calibration: setup.calibration, source: "robotctl run")
            let n = try wrap {
                try StartingPolicy.loadPriorData(dataset, into: learner, recording: recording, decisionTicks: emulator.decisionTicks)
            }
            Console.shared.log(.info, "real data: \(n) transitions from \(dataset.count) earlier dataset(s)")
        }

        // The robot, then the run directory (nothing is written before the robot answered).
        try setup.connectOrFail()
        let started = Date()
        let runDir = try RunPaths.create(runDirectory)
        let datasetDir = record ?? (runDir as NSString).appendingPathComponent("dataset")
        let schema = RunPaths.schema(task: task, calibration: setup.calibration, source: "robotctl run")
        var options = OnRobotOptions(duration: duration, finetune: finetuning, datasetDirectory: datasetDir)
        options.realtime = RealtimeOptions(fifoPriority: 80, cpu: RealtimeOptions.lastCPU)
        options.decisionTicks = emulator.decisionTicks
        let liveView = try live.start(schema: schema, title: "robotctl run — \(task.name) on \(setup.description)")
        defer { liveView?.stop() }
        options.extraSinks = liveView.map { [$0.feed] } ?? []
        let session = try wrap {
            try OnRobotSession(
                robot: setup.robot!, task: task, policy: runtimePolicy, limits: setup.limits, schema: schema,
                learner: learner, settings: settings, options: options,
                estop: liveView?.emergencyStop(with: setup.estop) ?? setup.estop, outputs: setup.outputs)
        }
        if calibrateSimulator {
            let loopParameters = task.parameters
            let ticks = emulator.decisionTicks
            session.calibrateSimulator { trajectories in
                OnlineCalibration.fitPendulum(trajectories, nominal: loopParameters).map { fit in
                    (LearnerPendulumTask(base: PendulumTask(parameters: fit.parameters).decisionTask(ticksPerDecision: ticks)),
                     fit.describe(nominal: loopParameters))
                }
            }
        }
        for r in session.recorder.writer?.recovered ?? [] { Console.shared.log(.warning, r.message(directory: datasetDir)) }
        Console.shared.log(.info, "run directory: \(runDir)")
        Console.shared.log(.info, "robot: \(setup.description); task \(task.name) at \(Int(1 / task.controlPeriod)) Hz, episodes of \(task.episodeTicks) ticks, policy decisions every \(emulator.decisionTicks) ticks (\(String(format: "%g", 1 / learnerTask.controlPeriod)) Hz); fine-tuning \(finetuning ? "on (H2O+, γ \(learnerTask.discount) per decision)" : "off")")
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
            "robot": setup.description, "task": task.name, "control_rate_hz": 1 / task.controlPeriod,
            "episode_ticks": task.episodeTicks, "decision_ticks": emulator.decisionTicks,
            "decision_rate_hz": 1 / learnerTask.controlPeriod, "calibrate_simulator": calibrateSimulator, "gamma": learnerTask.discount, "finetune": finetuning,
            "emulator_parameters": setup.emulated ? EmulatedRobot.describe(setup.emulatorParameters) : "none (real robot)",
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
            throw UserError("dataset \(datasetDir): \(e); the safety layer stopped the motors (\(result.recordsWritten) records written)")
        }
        let report = try wrap { try writeRunFiles() }
        if setup.emulated && !setup.servoBusEmulator { print("emulated robot: \(EmulatedRobot.describe(setup.emulatorParameters)) (onboard simulator: nominal)") }
        for line in summary.lines { print(line) }
        if let servo = setup.robot as? ServoBusRobot { print(servo.busTimeSummary) }
        if let c = result.events.last(where: { $0.kind == "simulator_calibrated" }) { print("onboard simulator calibrated on the robot: \(c.detail)") }
        print("dataset: \(datasetDir) (\(result.recordsWritten) records)")
        print("final policy: \(finalPolicyPath)")
        print("report: \(report)")
    }
}

/// Converts library errors into one-line user errors.
func wrap<T: ~Copyable>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as UserError { throw e } catch { throw UserError("\(error)") }
}

/// The summary printed at the end of `run` and stored in run.json. The return change is the
/// mean of the last `window` deterministic episodes minus that of the starting policy's
/// first episodes (up to `window`, before any candidate ran): the figure the README states,
/// measured the same way in every run.
struct RunSummary {
    static let window = 5
    let lines: [String]
    let json: [String: Any]

    init(result r: OnRobotResult) {
        let done = r.episodes.filter { !$0.aborted }
        // Exploring episodes (action noise for the learner) measure no policy.
        let exploring = done.filter(\.exploring).count
        let measured = done.filter { !$0.exploring }
        let returns = measured.map(\.episodeReturn)
        let n = Self.window
        // The starting policy (version 1) runs the first episodes, before any candidate.
        let first = measured.prefix { $0.policyVersion == 1 }.prefix(n).map(\.episodeReturn), last = returns.suffix(n)
        func mean(_ a: some Collection<Double>) -> Double { a.isEmpty ? .nan : a.reduce(0, +) / Double(a.count) }
        func spread(_ a: some Collection<Double>) -> Double {
            guard a.count > 1 else { return .nan }
            let m = mean(a)
            return (a.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(a.count - 1)).squareRoot()
        }
        let s = r.statistics
        let jitter = Double(s.periodError.percentile(0.99)) / 1000
        let hz = r.seconds > 0 ? Double(s[.ticks]) / r.seconds : 0
        let safety = r.events.filter { $0.kind == "safety_stop" }.count
        let kept = r.events.filter { $0.kind == "policy_kept" }.count
        let reverted = r.events.filter { $0.kind == "policy_reverted" }.count
        let change = mean(last) - mean(first)
        var lines = [
            String(format: "run: %.0f s (%@), %llu ticks, %.1f Hz, period jitter p99 %.0f µs, %llu missed deadlines", r.seconds, r.endReason, s[.ticks], hz, jitter, s[.missedDeadlines]),
            "episodes: \(done.count) finished (\(exploring) exploring), \(r.episodes.count - done.count) aborted; policy swaps \(r.swaps.count) (candidates kept \(kept), reverted \(reverted)), final policy v\(r.finalPolicyVersion); trainer updates \(r.trainerUpdates)",
            String(format: "return (deterministic episodes): first %d (starting policy) %.1f ± %.1f, last %d %.1f ± %.1f, change %+.1f; best %.1f",
                   first.count, mean(first), spread(first), last.count, mean(last), spread(last), change, returns.max() ?? .nan),
            "records: \(r.recordsWritten) written, \(r.droppedRecords) dropped; safety stops \(safety); real-time: \(r.realtime)",
        ]
        if r.episodes.isEmpty { lines[2] = "return: no episode finished (the reset phase or a short duration)" }
        self.lines = lines
        func num(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
        json = [
            "seconds": r.seconds, "end_reason": r.endReason, "ticks": s[.ticks], "loop_hz": hz, "jitter_p99_us": jitter,
            "missed_deadlines": s[.missedDeadlines], "episodes": done.count, "exploring_episodes": exploring, "aborted_episodes": r.episodes.count - done.count,
            "policy_swaps": r.swaps.count, "candidates_kept": kept, "candidates_reverted": reverted,
            "final_policy_version": r.finalPolicyVersion, "trainer_updates": r.trainerUpdates,
            "return_window": n, "return_first_mean": num(mean(first)), "return_last_mean": num(mean(last)),
            "return_first_std": num(spread(first)), "return_last_std": num(spread(last)), "return_change": num(change),
            "return_best": num(returns.max() ?? .nan),
            "records_written": r.recordsWritten, "records_dropped": r.droppedRecords, "safety_stops": safety,
        ]
    }
}

/// Run-directory and dataset-schema helpers shared by run and eval.
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

    static func schema(task: RobotPendulumTask, calibration: RobotCalibration, source: String) -> DatasetSchema {
        DatasetSchema(
            robotID: calibration.robotID, task: task.name, calibrationHash: calibration.contentHash,
            controlRateHz: 1 / task.controlPeriod,
            observation: [DatasetChannel(name: "cos_theta", unit: "1"), DatasetChannel(name: "sin_theta", unit: "1"),
                          DatasetChannel(name: "theta_dot", unit: "rad/s")],
            action: [DatasetChannel(name: "torque", unit: "1 (x \(task.parameters.maxTorque) N*m)")],
            rewardDefinition: "-(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2) * dt/0.05, u = action * max_torque",
            source: source)
    }
}
