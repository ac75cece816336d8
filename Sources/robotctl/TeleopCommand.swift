import ArgumentParser
import Control
import Foundation
import Sessions
import Hardware
import SystemSupport
import Tasks
import LiveView

extension TeleopResetMode: ExpressibleByArgument {}

/// `robotctl teleop`: drive the robot by hand and record every tick as real data.
struct TeleopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teleop",
        abstract: "Drive the robot with the keyboard or a gamepad and record every tick as real data.",
        discussion: """
            The operator's input is the action: the task turns it into a torque, the safety \
            layer (torque, rate, velocity limits, watchdog, e-stop) filters it, and every tick of \
            an episode is recorded with the teleop flag. Between episodes an unrecorded reset \
            brings the robot back (the task's reset controller, or you with --reset operator). \
            Keys: \(KeyboardTeleopMapping.summary). Gamepad: the axis drives the torque, buttons \
            0 next, 1 redo, 2 stop, 3 e-stop. "Redo" marks the episode discarded in the dataset's \
            episode table (episodes.jsonl); its records stay on disk but readers skip them. The \
            dataset survives a crash: records are fsynced at least every 0.5 s and a torn tail is \
            cut when the dataset is reopened.

            Example: robotctl teleop --record data/teleop --episodes 10
            Example: robotctl teleop --record data/teleop --joystick /dev/input/js0
            """)

    @OptionGroup var shared: SharedOptions

    @Option(help: ArgumentHelp(
        "Dataset directory to record into; created, or appended to if it holds the same robot and task.",
        valueName: "dir"))
    var record: String

    @Option(help: ArgumentHelp("Linux joystick device (or a FIFO of js_event records) to drive with.", valueName: "/dev/input/jsN"))
    var joystick: String?

    @Option(help: "Joystick axis of the first teleop joint (default: the task file's teleop section, else 0, the left stick's horizontal).")
    var gamepadAxis: Int?

    @Flag(help: "Flip the sign of the first teleop joint's gamepad axis.")
    var gamepadInvert = false

    @Option(help: "Change of every teleop joint's action per key press, as a fraction of its limit (default: the task file's teleop section, else 0.25).")
    var torqueStep: Float?

    @Option(help: "Who brings the robot back between episodes: task (its reset controller) or operator (you drive, unrecorded, and press n).")
    var reset: TeleopResetMode = .task

    @Option(help: "Stop after this many kept episodes.")
    var episodes: Int?

    @Option(help: "Episode length in seconds before a time-out (default: the task's).")
    var episodeSeconds: Double?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @OptionGroup var emulator: EmulatorOptions

    @OptionGroup var live: LiveViewOptions

    func validate() throws {
        if let episodes, episodes < 1 { throw ValidationError("--episodes must be at least 1") }
        if let s = episodeSeconds, !(s > 0) { throw ValidationError("--episode-seconds must be > 0") }
        if let d = duration, !(d > 0) { throw ValidationError("--duration must be > 0") }
        if let t = torqueStep, !(t > 0 && t <= 1) { throw ValidationError("--torque-step must be in (0, 1]") }
        try emulator.check()
        if let a = gamepadAxis, a < 0 || a >= JoystickState.maxAxes {
            throw ValidationError("--gamepad-axis must be in 0...\(JoystickState.maxAxes - 1)")
        }
    }

    func run() throws {
        Console.shared.level = shared.logLevel
        Console.shared.plainInterval = 1
        // The robot and task files; the emulated robot is the robot file plus its reality gap.
        var files = try RobotFiles(shared)
        if let s = episodeSeconds { try files.setEpisodeSeconds(s) }
        let setup = files.bringup(emulatorOverrides: emulator.parsedParameters, seed: shared.seed)
        defer { setup.close() }
        let task = files.loopTask
        let schema = files.task.datasetSchema(robot: files.robot, calibration: files.calibration, source: "teleop")

        // Check the dataset before anything starts moving.
        let firstEpisode = try asUserError { try TeleopRecording.nextEpisode(directory: record, schema: schema) }

        // The task file's teleop section (keys and axes per joint); the flags override it.
        let teleopNames = files.task.teleopJointNames(robot: files.robot)
        var keys = files.task.keyboardMapping
        if let t = torqueStep { for i in keys.bindings.indices { keys.bindings[i].step = t } }
        var pad = files.task.gamepadMapping
        if let a = gamepadAxis { pad.axis = a }
        if gamepadInvert { pad.invert = true }
        var inputs: [any OperatorInputSource] = []
        var rawMode: RawTerminalMode?
        if isatty(STDIN_FILENO) == 1 {
            rawMode = try asUserError { try RawTerminalMode() }
            inputs.append(KeyboardReader(fileDescriptor: STDIN_FILENO, mapping: keys))
        }
        defer { rawMode?.restore() }
        if let joystick {
            inputs.append(try asUserError { try JoystickReader(path: joystick, mapping: pad) })
        }
        guard !inputs.isEmpty else {
            throw UserError("standard input: not a terminal and no --joystick given; run teleop in a terminal, or pass --joystick /dev/input/js0")
        }

        try setup.connectOrFail()

        let writer = try asUserError { try DatasetWriter(directory: record, schema: schema) }
        for r in writer.recovered {
            Console.shared.log(.warning, r.message(directory: record))
        }
        let table = try asUserError { try EpisodeTableWriter(directory: record) }
        let ring = TransitionRing(capacity: 8192, observationCount: task.observationSize, actionCount: task.actionSize)
        let liveView = try live.start(schema: schema, title: "robotctl teleop — \(task.name) on \(setup.description)")
        defer { liveView?.stop() }
        let logger = TransitionLogger(ring: ring, writer: writer, sink: liveView?.feed)
        let rate = 1 / task.controlPeriod
        let source = try asUserError {
            try OperatorSource(
                inputs: inputs, observationSize: task.observationSize, actionSize: task.actionSize, reset: reset,
                maxEpisodes: episodes)
        }
        let loop = try asUserError {
            try ControlLoop(
                robot: setup.robot!, task: task, source: source, limits: setup.limits, mode: task.mode, ring: ring,
                estop: liveView?.emergencyStop(with: setup.estop) ?? setup.estop, outputs: setup.outputs,
                configuration: LoopConfiguration(
                    pacing: .deadlines(periodNanos: UInt64((task.controlPeriod * 1e9).rounded())),
                    maxTicks: duration.map { UInt64($0 * rate) }, firstEpisode: firstEpisode))
        }
        try asUserError { try logger.start() }
        let stop = StopSignal.install()
        defer { stop.finish() }

        let runner = LoopRunner(loop: loop, realtime: RealtimeOptions(lockMemory: false), threadName: "robotctl-teleop")
        Console.shared.log(.info, "teleop: \(setup.description); recording into \(record) from episode \(firstEpisode), episodes of \(loop.episodeTicks) ticks at \(Int(rate)) Hz; reset: \(reset.rawValue)")
        Console.shared.log(.info, "keys: \(keys.summary(names: teleopNames))\(joystick == nil ? "" : "; gamepad \(joystick!): " + zip(pad.bindings, teleopNames).map { "axis \($0.axis) \($1)" }.joined(separator: ", ") + ", buttons 0 next, 1 redo, 2 stop, 3 e-stop")")

        var outcomes: [EpisodeOutcome] = []
        var tableError: Error?
        let stats = loop.statistics
        func drainOutcomes() {
            while let o = source.outcomes.pop() {
                outcomes.append(o)
                let reasonText = o.reason == .safetyStop ? stats.phase == .finished ? "\(loop.latchedReasons)" : nil : nil
                do { try table.append(o.entry(safetyReason: reasonText)) } catch { tableError = tableError ?? error }
            }
        }
        var meter = RateMeter()
        let jointNames = files.robot.joints.map(\.name), jointUnits = files.robot.joints.map(\.unit)
        let outcome = try asUserError {
            try runner.run(superviseNanos: 100_000_000, supervise: {
                if stop.isSet { loop.requestStop() }
                drainOutcomes()
                let written = logger.written
                let recordsPerSecond = meter.update(count: written)
                let phase = stats.phase == .recording
                    ? "recording ep \(stats.value(.episode)) tick \(stats.value(.episodeTick))/\(loop.episodeTicks)"
                    : "\(stats.phase) (next: ep \(stats.value(.episode)))"
                liveView?.feed.post(status: LiveFeed.Status(
                    seconds: Double(stats.value(.ticks)) / rate, missedDeadlines: stats.value(.missedDeadlines), line: phase))
                Console.shared.status(
                    "teleop | \(phase) | " + TeleopStatus.joints(names: jointNames, units: jointUnits, statistics: stats)
                        + String(format: " | action %+.2f | %.0f rec/s written", source.action, recordsPerSecond)
                        + ", \(logger.durable) durable | kept \(stats.value(.keptEpisodes)), discarded \(stats.value(.discardedEpisodes)) | missed \(stats.value(.missedDeadlines))")
            })
        }
        drainOutcomes()
        let loggerFailure = logger.stop()
        Console.shared.clearStatus()
        if let w = runner.realtimeReport?.warning { Console.shared.log(.debug, "real-time setup: \(w)") }

        let result: LoopResult
        switch outcome {
        case .success(let r): result = r
        case .failure(let e): throw CommandFailure(.robotFailed, "\(e)")
        }
        if let loggerFailure { throw CommandFailure(.recordingFailed, "\(loggerFailure)") }
        if let tableError { throw UserError("\(tableError)") }
        let kept = outcomes.filter { !$0.discarded }
        print("teleop: \(result.records) records in \(outcomes.count) episodes (\(stats.value(.keptEpisodes)) kept, \(stats.value(.discardedEpisodes)) discarded) written to \(record); \(logger.durable) records durable; ring drops \(ring.droppedTotal); stop: \(result.reasons)")
        if !kept.isEmpty {
            print("kept episodes: " + kept.map { "\($0.episode) (\($0.records) ticks, \($0.reason))" }.joined(separator: ", "))
        }
        var ending = RunEnding.completed
        if result.latched {
            var state = RobotState()
            _ = setup.robot?.read(into: &state)
            ending = RunEnding.latched(result.reasons, robotFaults: state.faults)
        } else if stop.isSet {
            ending = .stopRequested
        }
        try ExitStatus(ending: ending, signal: stop.kind, openEnded: duration == nil)
            .finish("teleop", why: "\(ending); the data recorded so far is kept in \(record)")
    }
}

/// Records per second from a growing count, over the last second or so.
struct RateMeter {
    private var lastCount: UInt64 = 0
    private var lastTime = Date()
    private var rate = 0.0

    mutating func update(count: UInt64) -> Double {
        let now = Date()
        let dt = now.timeIntervalSince(lastTime)
        if dt >= 0.5 {
            rate = Double(count &- lastCount) / dt
            lastCount = count
            lastTime = now
        }
        return rate
    }
}
