import ArgumentParser
import Control
import Hardware

/// Flags every robot-facing command shares (`run`, `teleop`, `calibrate`, `eval`, `train`).
struct SharedOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Robot configuration JSON (serial port, GPIO lines). Without it, the emulated robot is started.",
        valueName: "config.json"))
    var robot: String?

    @Option(help: ArgumentHelp(
        "Calibration file (encoder zero, limits, fitted simulator parameters).",
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

extension SharedOptions {
    /// The robot these options name (`--robot`, `--calibration`, or the emulated pendulum with
    /// the default calibration), read and validated by the one bring-up every command uses.
    func bringup(emulatorParameters: [(name: String, value: Double)]) throws -> RobotBringup {
        try asUserError {
            try RobotBringup.prepare(robotConfig: robot, calibration: calibration, emulatorParameters: emulatorParameters, seed: seed)
        }
    }
}

extension RobotBringup {
    /// Refuses a calibration that is not the one-joint pendulum's (what `command` drives).
    func requirePendulum(_ command: String) throws {
        guard calibration.task == "pendulum" else {
            throw UserError("\(calibrationPath): field task is \"\(calibration.task)\"; robotctl \(command) drives the pendulum task (use a pendulum calibration)")
        }
        guard calibration.joints.count == 1 else {
            throw UserError("\(calibrationPath): field joints lists \(calibration.joints.count) joints, the pendulum task has 1; use a pendulum calibration")
        }
    }

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
            Console.shared.log(.debug, "robot-emulator runs at normal priority (SCHED_FIFO not permitted)")
        }
    }
}
