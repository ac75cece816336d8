import ArgumentParser
import Control
import Foundation
import Hardware
import Tasks

/// Flags every robot-facing command shares (`run`, `teleop`, `calibrate`, `eval`).
struct SharedOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Robot file (robots/<name>.json, format robotctl-robot/1): joints, actuators, link, GPIO, calibration. Default: robots/pendulum.json (the emulated pendulum).",
        valueName: "robot.json"))
    var robot: String?

    @Option(help: ArgumentHelp(
        "Task file (tasks/<name>.json, format robotctl-task/1) for the robot file's joints. Default: tasks/pendulum-swingup.json with the default robot.",
        valueName: "task.json"))
    var task: String?

    @Option(help: ArgumentHelp(
        "Calibration file (encoder zero, limits, fitted simulator parameters). Default: the robot file's \"calibration\", else (emulated robot) the one its encoders match.",
        valueName: "calibration.json"))
    var calibration: String?

    @Option(help: "How much to log: error, warning, info or debug.")
    var logLevel: LogLevel = .info

    @Option(help: "Seed for every random draw (network initialisation, sampling, simulator noise).")
    var seed: UInt64 = 1
}

/// Verbosity of a command's log lines on standard error.
enum LogLevel: String, ExpressibleByArgument, CaseIterable, Comparable {
    case error, warning, info, debug

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// The files a robot-facing command drives: the robot file, the task file, the calibration,
/// read, validated and checked against each other (joint count and names, robot id, control
/// rate) before anything starts or moves; each failure one line naming the file and the fix.
struct RobotFiles {
    static let defaultRobot = "robots/pendulum.json"
    static let defaultTask = "tasks/pendulum-swingup.json"

    let robot: RobotSpec
    private(set) var task: TaskSpec
    let calibration: RobotCalibration
    /// The task as the 200 Hz loop runs it.
    private(set) var loopTask: GenericTask
    /// The calibration file, or "emulated calibration of <robot file>" when derived from it.
    let calibrationPath: String

    /// Reads `--robot`, `--task` and `--calibration` (or their defaults, found from any working
    /// directory by `RobotBringup.defaultFile`).
    init(_ o: SharedOptions) throws {
        let robotPath = o.robot ?? RobotBringup.defaultFile(Self.defaultRobot)
        let robot = try asUserError { try RobotSpec.load(path: robotPath) }
        guard let taskPath = o.task ?? (o.robot == nil ? RobotBringup.defaultFile(Self.defaultTask) : nil) else {
            throw UserError("--task: \(robotPath) needs a task file; pass --task tasks/<name>.json written for robot '\(robot.id)'")
        }
        let task = try asUserError { try TaskSpec.load(path: taskPath, robot: robot) }
        if let m = robot.link.servoModels.enumerated().first(where: { ServoModel.named($0.element) == nil }) {
            throw UserError("\(robotPath): link.models[\(m.offset)]: '\(m.element)' is not a servo model robotctl knows; use one of \(ServoModel.known.map(\.name).joined(separator: ", "))")
        }
        let environment = ProcessInfo.processInfo.environment[RobotBringup.calibrationEnvironmentVariable]
        let path = o.calibration ?? (o.robot == nil ? environment.flatMap { $0.isEmpty ? nil : $0 } : nil) ?? robot.calibration
        let calibration: RobotCalibration, calibrationPath: String
        if let path {
            calibration = try asUserError { try RobotCalibration.load(path: path) }
            calibrationPath = path
        } else if RobotLink.isEmulated(port: robot.link.port, bus: RobotLink.Bus(rawValue: robot.link.bus.rawValue) ?? .firmware) {
            calibration = robot.emulatedCalibration(controlRateHz: task.controlRateHz, task: task.name)
            calibrationPath = "emulated calibration of \(robotPath)"
        } else {
            throw UserError("\(robotPath): calibration: is missing and no --calibration was given; name the robot's calibration file (run `robotctl calibrate --robot \(robotPath)` to make one)")
        }
        try asUserError {
            try robot.check(calibration: calibration, file: calibrationPath)
            try task.check(calibration: calibration, file: calibrationPath)
        }
        self.calibrationPath = calibrationPath
        self.robot = robot
        self.task = task
        self.calibration = calibration
        loopTask = try asUserError { try GenericTask(robot: robot, task: task) }
    }

    /// Episodes of `seconds` instead of the task file's (`teleop --episode-seconds`).
    mutating func setEpisodeSeconds(_ seconds: Double) throws {
        task.episodeSeconds = seconds
        loopTask = try asUserError { try GenericTask(robot: robot, task: task) }
    }

    /// The one bring-up of this robot: the robot file's link and GPIO lines, and for the
    /// emulated robot (robot-emulator, the emulated MCU or servo-emulator) the chain plant
    /// from the robot file plus its reality gap (`emulator.params`, overridden by `overrides`).
    func bringup(emulatorOverrides overrides: [(name: String, value: Double)], seed: UInt64) -> RobotBringup {
        let r = robot
        var link = RobotLink(
            bus: RobotLink.Bus(rawValue: r.link.bus.rawValue) ?? .firmware, port: r.link.port, baud: r.link.baud)
        link.servoIDs = r.link.servoIDs
        link.servoModels = r.link.servoModels
        if let g = r.gpio {
            link.estop = g.estopLine.map { RobotLink.Line(chip: g.chip, offset: $0, activeLow: g.estopActiveLow) }
            link.enable = g.enableLine.map { RobotLink.Line(chip: g.chip, offset: $0) }
            link.led = g.ledLine.map { RobotLink.Line(chip: g.chip, offset: $0) }
        }
        let gap = r.emulatorGap(overriding: overrides)
        if link.emulated {
            // robot-emulator (or the MCU) runs the robot file's chain behind our firmware,
            // servo-emulator the same chain behind the servos; the bring-up formats it.
            link.plantParameters = r.plantParameters(controlRateHz: task.controlRateHz) + gap
            link.firmwareRateHz = r.sensing.firmwareRateHz
            link.emulatorDescription = EmulatedRobot.describe(gap)
        }
        let b = RobotBringup(link: link, calibration: calibration, calibrationPath: calibrationPath, seed: seed)
        b.mode = loopTask.mode
        return b
    }
}

extension RobotBringup {
    /// Starts or opens the robot (`connect`) with one-line errors: a robot that does not
    /// answer (or too slowly, or in another protocol) exits with `ExitStatus.robotFailed`, a
    /// wrong port or file with `badInput`.
    func connectOrFail(gpio: Bool = true, joints: RobotCalibration? = nil) throws {
        do {
            try connect(gpio: gpio, joints: joints)
        } catch let e as HardwareError where ExitStatus(hardware: e) == .robotFailed {
            throw CommandFailure(.robotFailed, e.description)
        } catch {
            throw UserError("\(error)")
        }
        Console.shared.log(.info, "robot: \(description); \(watchdogDescription)")
        if let emulator, !emulator.isRealtime {
            Console.shared.log(.debug, "emulator runs at normal priority (SCHED_FIFO not permitted)")
        }
    }
}
