import Control
import Foundation
import Glibc

/// The robot a command drives, brought up once for every command (`run`, `eval`, `teleop`,
/// `calibrate`): the emulated robot (a `robot-emulator` beside the executable, started and
/// stopped here) or a real one from a robot configuration file, with its calibration, the
/// motor-bus robot configured in torque mode (inactive, torque off), the GPIO lines the file
/// names, and one watchdog policy (`WatchdogPolicy`).
///
/// `prepare` only reads and validates files (nothing starts moving and nothing is written);
/// `connect` starts the emulator or opens the port; `close` always cleans up.
///
/// Thread contract: set-up object of the main thread; the robot's `read`/`write` go to the
/// control thread while a loop runs.
public final class RobotBringup {
    /// The command watchdogs of a bring-up: the host's (the loop's safety layer, from the
    /// calibration: `RobotCalibration.safetyLimits`) and the firmware's.
    public enum WatchdogPolicy {
        /// The firmware's command watchdog on a real robot: as the host's, 100 ms.
        public static let firmwareMillis = 100
        /// The firmware's command watchdog of the emulated robot: it shares a loaded host,
        /// where its pseudo-terminal stalls when the kernel's pty work waits behind other
        /// processes, so the link gets 250 ms before the firmware latches.
        public static let emulatedFirmwareMillis = 250
        /// Consecutive failed ticks before the emulated robot's link latches its e-stop: 40
        /// (200 ms) instead of `MotorBusConfiguration`'s 10; a real robot keeps the default.
        public static let emulatedMaxConsecutiveFailures = 40
    }

    /// The environment variable naming the default calibration file (used when neither
    /// `--calibration` nor a robot configuration names one).
    public static let calibrationEnvironmentVariable = "ROBOTCTL_CALIBRATION"
    /// The emulated pendulum's calibration, relative to the repository (or working directory).
    public static let emulatedCalibration = "calibration/emulated-pendulum.json"

    public let calibration: RobotCalibration
    public let calibrationPath: String
    /// The robot configuration file (nil: the emulated robot) and its path.
    public let config: RobotConfigFile?
    public let configPath: String?
    /// Plant parameters passed to `robot-emulator` (`EmulatedRobot`); unused for a real robot.
    public let emulatorParameters: [(name: String, value: Double)]
    public let seed: UInt64
    public private(set) var emulator: EmulatorProcess?
    public private(set) var robot: (any RobotInterface)?
    /// The emulated robot is the reference pendulum on an emulated Dynamixel bus
    /// (`servo-emulator`, an XM430-W350 in current mode) instead of `robot-emulator`.
    public var servoBusEmulator = false
    private var servoEmulator: EmulatorProcess?
    public private(set) var estop: GPIOEmergencyStop?
    public private(set) var outputs: GPIOStatusOutputs?
    /// One line naming the robot ("emulated pendulum (…; robot-emulator pid 123, /dev/pts/4)" or the port).
    public private(set) var description = "not connected"
    private var port = ""
    private var baud = 1_000_000

    /// True for the emulated robot.
    public var emulated: Bool { config == nil }

    /// The safety limits the loop enforces: the calibration's (`RobotCalibration.safetyLimits`),
    /// whatever the command and whether the robot is emulated.
    public var limits: SafetyLimits { calibration.safetyLimits }

    /// The firmware's command watchdog this bring-up configures, milliseconds.
    public var firmwareWatchdogMillis: Int { emulated ? WatchdogPolicy.emulatedFirmwareMillis : WatchdogPolicy.firmwareMillis }

    /// "host command watchdog 100 ms, firmware 250 ms" (for the commands' start-up line).
    public var watchdogDescription: String {
        "host command watchdog \(Int((limits.commandTimeout * 1000).rounded())) ms, firmware \(firmwareWatchdogMillis) ms"
    }

    private init(calibration: RobotCalibration, calibrationPath: String, config: RobotConfigFile?, configPath: String?,
                 emulatorParameters: [(name: String, value: Double)], seed: UInt64) {
        self.calibration = calibration
        self.calibrationPath = calibrationPath
        self.config = config
        self.configPath = configPath
        self.emulatorParameters = emulatorParameters
        self.seed = seed
    }

    /// Reads and validates the robot configuration (`robotConfig`, nil: the emulated robot)
    /// and the calibration: `calibration`, else the one the configuration names, else the
    /// default (`defaultCalibrationPath`). No side effects. Errors name the file and field.
    public static func prepare(
        robotConfig: String?, calibration: String?, emulatorParameters: [(name: String, value: Double)] = [], seed: UInt64 = 1
    ) throws(CalibrationError) -> RobotBringup {
        let config = try robotConfig.map { path throws(CalibrationError) in try RobotConfigFile.load(path: path) }
        let path: String
        if let c = calibration {
            path = c
        } else if let c = config?.calibration {
            path = c
        } else if let robotConfig {
            throw CalibrationError(
                file: robotConfig, field: "calibration", problem: "is missing and no --calibration was given",
                fix: "name the robot's calibration file (run `robotctl calibrate` to make one)")
        } else {
            path = defaultCalibrationPath()
        }
        let loaded = try RobotCalibration.load(path: path)
        return RobotBringup(
            calibration: loaded, calibrationPath: path, config: config, configPath: robotConfig,
            emulatorParameters: emulatorParameters, seed: seed)
    }

    /// The default calibration, the same for every command from any working directory: the
    /// file `ROBOTCTL_CALIBRATION` names; else `calibration/emulated-pendulum.json` in the
    /// working directory; else in the package the executable was built in (it lives in
    /// `.build/<triple>/<config>/` or `.build/<config>/`, so the nearest parent directory
    /// holding that file); else the relative path (whose "does not exist" error names it).
    /// (`workingDirectory` and `executable` stand in for the process's, in tests.)
    public static func defaultCalibrationPath(
        environment: [String: String] = ProcessInfo.processInfo.environment, workingDirectory: String? = nil,
        executable: String? = nil
    ) -> String {
        if let e = environment[calibrationEnvironmentVariable], !e.isEmpty { return e }
        let local = emulatedCalibration
        if FileManager.default.fileExists(atPath: workingDirectory.map { ($0 as NSString).appendingPathComponent(local) } ?? local) {
            return local
        }
        let exe = executable ?? ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        var dir = (exe as NSString).deletingLastPathComponent
        for _ in 0..<6 where !dir.isEmpty && dir != "/" {
            let candidate = (dir as NSString).appendingPathComponent(local)
            if FileManager.default.fileExists(atPath: candidate) { return (candidate as NSString).standardizingPath }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return local
    }

    /// Starts the emulator (or opens the configured port), configures the robot in torque mode
    /// with `calibration`'s joints and limits, and requests the configured GPIO lines
    /// (`gpio: false` skips them, e.g. for calibration). `joints`: configure the robot with
    /// another calibration's joints (the calibration wizard reads raw counts through an
    /// identity one). Throws one-line errors.
    public func connect(gpio: Bool = true, joints: RobotCalibration? = nil) throws {
        if servoBusEmulator && config == nil {
            let (e, r) = try EmulatedServoBus.pendulum(seed: seed)
            servoEmulator = e
            robot = r
            description = "emulated Dynamixel pendulum (servo-emulator pid \(e.processID), XM430-W350 in current mode, \(e.ptyPath))"
            do {
                try r.configure(RobotConfiguration(
                    mode: .torque, watchdogMillis: UInt16(WatchdogPolicy.firmwareMillis),
                    setpointLimit: (joints ?? calibration).joints.map { Float($0.torqueLimit) }))
            } catch {
                close()
                throw error
            }
            return
        }
        if let config {
            port = config.serialPort
            baud = config.baudRate
            description = config.serialPort
        } else {
            let e = try EmulatorProcess(
                executable: try EmulatorProcess.locateBesideExecutable(),
                arguments: ["--seed", "\(seed)"] + EmulatedRobot.arguments(emulatorParameters), realtimePriority: 70)
            emulator = e
            port = e.ptyPath
            baud = 1_000_000
            description = "emulated robot (\(EmulatedRobot.describe(emulatorParameters)); robot-emulator pid \(e.processID), \(e.ptyPath))"
        }
        do {
            robot = try configuredRobot(joints ?? calibration)
            if gpio, let config {
                func address(_ l: RobotConfigFile.Line) -> GPIOLineAddress {
                    GPIOLineAddress(chip: l.chip, line: .offset(l.offset), activeLow: l.activeLow)
                }
                if let e = config.estop { estop = try GPIOEmergencyStop(line: address(e)) }
                if let en = config.enable { outputs = try GPIOStatusOutputs(enable: address(en), led: config.led.map(address)) }
            }
        } catch {
            close()
            throw error
        }
    }

    /// Closes the link and opens it again with `calibration`'s joints (the emulator keeps
    /// running). Set-up only, after `connect`.
    public func reopen(with calibration: RobotCalibration) throws {
        robot?.shutdown()
        robot = nil
        robot = try configuredRobot(calibration)
    }

    /// A configured (inactive) motor-bus robot on the connected port with `calibration`'s joints.
    private func configuredRobot(_ calibration: RobotCalibration) throws -> MotorBusRobot {
        var bus = MotorBusConfiguration(devicePath: port)
        bus.baudRate = baud
        if emulated { bus.maxConsecutiveFailures = max(bus.maxConsecutiveFailures, WatchdogPolicy.emulatedMaxConsecutiveFailures) }
        bus.robotID = calibration.robotID
        bus.jointNames = calibration.joints.map(\.name)
        bus.calibration = calibration.joints.map { EncoderConversion($0) }
        let robot = MotorBusRobot(configuration: bus)
        do {
            try robot.configure(RobotConfiguration(
                mode: .torque, watchdogMillis: UInt16(firmwareWatchdogMillis),
                setpointLimit: calibration.joints.map { Float($0.torqueLimit) }))
        } catch {
            robot.shutdown()
            throw error
        }
        return robot
    }

    /// Torque off, close the link and the GPIO lines, stop the emulator. Safe to call twice.
    public func close() {
        robot?.shutdown()
        robot = nil
        servoEmulator?.terminate()
        servoEmulator = nil
        estop = nil
        outputs = nil
        emulator?.terminate()
        emulator = nil
    }

    deinit { close() }
}
