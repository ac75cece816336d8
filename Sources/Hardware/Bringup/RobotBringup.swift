import Control
import Foundation
import Glibc

/// Where a robot is and how to reach it: the robot file's `link` and `gpio` sections as
/// Hardware needs them (Hardware does not read robot files; robotctl composes this from a
/// `RobotSpec`, the emulator's arguments included, so the one parser stays in Tasks).
public struct RobotLink: Sendable {
    /// Which bus the robot speaks.
    public enum Bus: String, Sendable, Equatable {
        /// Our firmware-proto motor controller (the reference firmware).
        case firmware, dynamixel, feetech
    }

    /// A GPIO line: chip (name like "gpiochip0" or a path) and offset, optionally active-low.
    public struct Line: Sendable, Equatable {
        public var chip: String
        public var offset: Int
        public var activeLow: Bool
        public init(chip: String, offset: Int, activeLow: Bool = false) {
            self.chip = chip
            self.offset = offset
            self.activeLow = activeLow
        }
    }

    /// The device path for port "emulator": start the emulated robot instead of opening one.
    public static let emulatorPort = "emulator"

    public var bus: Bus
    /// A device path, or "emulator".
    public var port: String
    public var baud: Int
    /// Servo IDs and models per joint (servo buses); empty for `firmware`. An empty model list
    /// means the bus's reference model for every joint.
    public var servoIDs: [Int] = []
    public var servoModels: [String] = []
    /// E-stop input (asserted = stop), motor-driver enable output, status LED output.
    public var estop: Line?
    public var enable: Line?
    public var led: Line?
    /// The emulated robot's plant parameters (names of firmware-proto/plant/include/plant.h):
    /// the robot file's mechanism as one `chain` (`RobotSpec.plantParameters`), then its
    /// reality gap (later values win). Empty: the emulator's reference pendulum. The bring-up
    /// formats them once (`EmulatedRobot.arguments`) for robot-emulator, the MCU or
    /// servo-emulator.
    public var plantParameters: [(name: String, value: Double)] = []
    /// The emulated firmware's tick rate (the robot file's `sensing.firmware_rate_hz`).
    public var firmwareRateHz = 1000
    /// One line naming the emulated robot's differences from its file ("j0.gain=0.7, …").
    public var emulatorDescription = ""

    /// True for a port that starts an emulated robot: "emulator" (robot-emulator or
    /// servo-emulator) or "qemu-stm32f405" (`MCUEmulator.port`, the firmware bus only).
    public static func isEmulated(port: String, bus: Bus) -> Bool {
        port == emulatorPort || (bus == .firmware && port == MCUEmulator.port)
    }

    public var emulated: Bool { Self.isEmulated(port: port, bus: bus) }
    /// True when the firmware runs on the emulated STM32F405 under qemu-system-arm.
    public var onEmulatedMCU: Bool { bus == .firmware && port == MCUEmulator.port }

    /// robot-emulator's (and the MCU runner's) arguments for `plantParameters`: the chain at
    /// `firmwareRateHz`, or nothing (the reference pendulum) when there are none.
    public var firmwareEmulatorArguments: [String] {
        plantParameters.isEmpty ? [] : ["--task", "chain", "--rate", "\(firmwareRateHz)"] + EmulatedRobot.arguments(plantParameters)
    }

    public init(bus: Bus, port: String, baud: Int = 1_000_000) {
        self.bus = bus
        self.port = port
        self.baud = baud
    }
}

/// The robot a command drives, brought up once for every command (`run`, `eval`, `teleop`,
/// `calibrate`) from the robot file's link section (`RobotLink`): with port "emulator" the
/// emulated robot (`robot-emulator` or, on a servo bus, `servo-emulator`, beside the
/// executable, started and stopped here), with port "qemu-stm32f405" our firmware on the
/// emulated Cortex-M4F (`MCUEmulator`, qemu-system-arm), otherwise the device: `MotorBusRobot` for our
/// firmware, `ServoBusRobot` for Dynamixel/Feetech servos; with its calibration, configured
/// (inactive, torque off), the GPIO lines the file names, and one watchdog policy
/// (`WatchdogPolicy`).
///
/// `init` only records what to bring up (nothing starts moving and nothing is written);
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

    /// The environment variable naming the default calibration file.
    public static let calibrationEnvironmentVariable = "ROBOTCTL_CALIBRATION"
    /// The emulated pendulum's calibration, relative to the repository (or working directory).
    public static let emulatedCalibration = "calibration/emulated-pendulum.json"

    public let link: RobotLink
    public let calibration: RobotCalibration
    /// Where the calibration came from (a path, or a phrase like "emulated from robots/x.json").
    public let calibrationPath: String
    public let seed: UInt64
    /// Joint count and mode the servo path configures (the task's).
    public var mode: ControlMode = .torque
    public private(set) var emulator: EmulatorProcess?
    public private(set) var robot: (any RobotInterface)?
    public private(set) var estop: GPIOEmergencyStop?
    public private(set) var outputs: GPIOStatusOutputs?
    /// One line naming the robot ("emulated robot (…; robot-emulator pid 123, /dev/pts/4)" or the port).
    public private(set) var description = "not connected"
    private var port = ""

    /// True for the emulated robot.
    public var emulated: Bool { link.emulated }

    /// The safety limits the loop enforces: the calibration's (`RobotCalibration.safetyLimits`),
    /// whatever the command and whether the robot is emulated.
    public var limits: SafetyLimits { calibration.safetyLimits }

    /// The firmware's command watchdog this bring-up configures, milliseconds.
    public var firmwareWatchdogMillis: Int { emulated ? WatchdogPolicy.emulatedFirmwareMillis : WatchdogPolicy.firmwareMillis }

    /// "host command watchdog 100 ms, firmware 250 ms" (for the commands' start-up line).
    public var watchdogDescription: String {
        "host command watchdog \(Int((limits.commandTimeout * 1000).rounded())) ms, firmware \(firmwareWatchdogMillis) ms"
    }

    /// Records the robot to bring up: `link` (from the robot file), its `calibration` (read
    /// and checked against the robot file by the caller) and the emulator's seed. No side effects.
    public init(link: RobotLink, calibration: RobotCalibration, calibrationPath: String, seed: UInt64 = 1) {
        self.link = link
        self.calibration = calibration
        self.calibrationPath = calibrationPath
        self.seed = seed
    }

    /// A default file (`relative`, e.g. "robots/pendulum.json"), the same for every command
    /// from any working directory: the file `environmentVariable` names (when given and set);
    /// else `relative` in the working directory; else in the package the executable was built
    /// in (it lives in `.build/<triple>/<config>/` or `.build/<config>/`, so the nearest parent
    /// directory holding that file); else the relative path (whose "does not exist" error
    /// names it). (`workingDirectory` and `executable` stand in for the process's, in tests.)
    public static func defaultFile(
        _ relative: String, environmentVariable: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, workingDirectory: String? = nil,
        executable: String? = nil
    ) -> String {
        if let v = environmentVariable, let e = environment[v], !e.isEmpty { return e }
        if FileManager.default.fileExists(atPath: workingDirectory.map { ($0 as NSString).appendingPathComponent(relative) } ?? relative) {
            return relative
        }
        let exe = executable ?? ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        var dir = (exe as NSString).deletingLastPathComponent
        for _ in 0..<6 where !dir.isEmpty && dir != "/" {
            let candidate = (dir as NSString).appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate) { return (candidate as NSString).standardizingPath }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return relative
    }

    /// The default calibration (`defaultFile` of `emulatedCalibration`, `ROBOTCTL_CALIBRATION` first).
    public static func defaultCalibrationPath(
        environment: [String: String] = ProcessInfo.processInfo.environment, workingDirectory: String? = nil,
        executable: String? = nil
    ) -> String {
        defaultFile(
            emulatedCalibration, environmentVariable: calibrationEnvironmentVariable, environment: environment,
            workingDirectory: workingDirectory, executable: executable)
    }

    /// Starts the emulator (or opens the configured port), configures the robot with
    /// `calibration`'s joints and limits (in `mode`; torque for our firmware), and requests
    /// the configured GPIO lines (`gpio: false` skips them, e.g. for calibration). `joints`:
    /// configure the robot with another calibration's joints (the calibration wizard reads raw
    /// counts through an identity one). Throws one-line errors.
    public func connect(gpio: Bool = true, joints: RobotCalibration? = nil) throws {
        let cal = joints ?? calibration
        do {
            switch link.bus {
            case .firmware:
                let differences = link.emulatorDescription.isEmpty ? "as its robot file" : link.emulatorDescription
                if link.onEmulatedMCU {
                    // The same firmware core and plant, on the emulated Cortex-M4F (run-qemu.sh
                    // builds the image when it is missing or stale).
                    let e = try MCUEmulator.start(arguments: link.firmwareEmulatorArguments, seed: seed, realtimePriority: 70)
                    emulator = e
                    port = e.ptyPath
                    description = "emulated robot on an STM32F405 under qemu-system-arm (\(differences); \(MCUEmulator.runnerName) pid \(e.processID), \(e.ptyPath))"
                } else if emulated {
                    let e = try EmulatorProcess(
                        executable: try EmulatorProcess.locateBesideExecutable(),
                        arguments: ["--seed", "\(seed)"] + link.firmwareEmulatorArguments, realtimePriority: 70)
                    emulator = e
                    port = e.ptyPath
                    description = "emulated robot (\(differences); robot-emulator pid \(e.processID), \(e.ptyPath))"
                } else {
                    port = link.port
                    description = link.port
                }
                robot = try configuredRobot(cal)
            case .dynamixel, .feetech:
                robot = try servoRobot(cal)
            }
            if gpio {
                func address(_ l: RobotLink.Line) -> GPIOLineAddress {
                    GPIOLineAddress(chip: l.chip, line: .offset(l.offset), activeLow: l.activeLow)
                }
                if let e = link.estop { estop = try GPIOEmergencyStop(line: address(e)) }
                if let en = link.enable { outputs = try GPIOStatusOutputs(enable: address(en), led: link.led.map(address)) }
            }
        } catch {
            close()
            throw error
        }
    }

    /// A configured (inactive) servo-bus robot for `calibration`'s joints: on the servo
    /// emulator when the port is "emulator" (started on the first call, kept by `reopen`),
    /// else on the device. The robot file's ids (default 1...n) and models (default the bus's
    /// reference model) as one `ServoLink`; on a device the calibration's encoder zero and
    /// direction, on the emulator its servos' own (the middle of their range, +1, which the
    /// emulated calibration's 0 offsets match).
    private func servoRobot(_ calibration: RobotCalibration) throws -> ServoBusRobot {
        let n = calibration.joints.count
        let servoLink = try ServoLink(
            bus: link.bus.rawValue, port: link.port, baud: link.baud,
            ids: link.servoIDs.isEmpty ? Array(1...max(1, n)) : link.servoIDs, models: link.servoModels,
            jointNames: calibration.joints.map(\.name),
            directions: emulated ? [] : calibration.joints.map(\.direction),
            zeroOffsetCounts: emulated ? [] : calibration.joints.map(\.zeroOffsetCounts),
            robotID: calibration.robotID, file: "robot file link")
        let robot: ServoBusRobot
        if emulated {
            // The robot file's servos in front of one coupled chain plant (its links, friction
            // and gap: `link.plantParameters`).
            if let e = emulator {
                robot = EmulatedServoBus.robot(link: servoLink, emulator: e)
            } else {
                let (e, r) = try EmulatedServoBus.start(link: servoLink, plantParameters: link.plantParameters, seed: seed)
                emulator = e
                robot = r
            }
            description = "emulated \(servoLink.bus.rawValue) bus (servo-emulator pid \(emulator!.processID), \(servoLink.models.map(\.name).joined(separator: " + ")), chain plant, \(emulator!.ptyPath))"
        } else {
            robot = servoLink.robot()
            description = "\(link.port) (\(servoLink.bus.rawValue) bus)"
        }
        do {
            try robot.configure(RobotConfiguration(
                mode: mode, watchdogMillis: UInt16(firmwareWatchdogMillis),
                setpointLimit: calibration.joints.map { Float(mode == .torque ? $0.torqueLimit : $0.velocityLimit) }))
        } catch {
            robot.shutdown()
            throw error
        }
        return robot
    }

    /// Closes the link and opens it again with `calibration`'s joints (the emulator keeps
    /// running). Set-up only, after `connect`.
    public func reopen(with calibration: RobotCalibration) throws {
        robot?.shutdown()
        robot = nil
        switch link.bus {
        case .firmware: robot = try configuredRobot(calibration)
        case .dynamixel, .feetech: robot = try servoRobot(calibration)
        }
    }

    /// A configured (inactive) motor-bus robot on the connected port with `calibration`'s joints.
    private func configuredRobot(_ calibration: RobotCalibration) throws -> MotorBusRobot {
        var bus = MotorBusConfiguration(devicePath: port)
        bus.baudRate = emulated ? 1_000_000 : link.baud
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
        estop = nil
        outputs = nil
        emulator?.terminate()
        emulator = nil
    }

    deinit { close() }
}
