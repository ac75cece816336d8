import Control
import Foundation
import Glibc
import H2OTrainer
import Hardware

// Opening "the robot" for teleop and calibrate: the emulated robot (robot-emulator started
// here, beside robotctl) or a real one from a robot configuration file. The run/eval commands
// have their own `RobotSetup` (RunCommand.swift) with GPIO support; the two are meant to be
// merged by the integrator into one.

/// Converts library errors into one-line user errors (teleop, calibrate, dataset, policy).
func asUserError<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as UserError { throw e } catch { throw UserError("\(error)") }
}

/// A configured (inactive) robot, its calibration, and the emulator process if one was started.
///
/// Thread contract: set-up object of the main thread; the robot's `read`/`write` go to the
/// control thread while a session runs.
final class RobotConnection {
    private(set) var calibration: RobotCalibration
    let calibrationPath: String
    private(set) var robot: MotorBusRobot
    let description: String
    let emulated: Bool
    private let port: String
    private let baud: Int
    private var emulator: EmulatorLaunch?

    private init(calibration: RobotCalibration, calibrationPath: String, robot: MotorBusRobot, description: String,
                 emulator: EmulatorLaunch?, port: String, baud: Int) {
        self.calibration = calibration
        self.calibrationPath = calibrationPath
        self.robot = robot
        self.description = description
        self.emulator = emulator
        self.port = port
        self.baud = baud
        emulated = emulator != nil
    }

    /// A configured (inactive) motor-bus robot on `port` with `calibration`'s joints.
    private static func configuredRobot(port: String, baud: Int, calibration: RobotCalibration) throws -> MotorBusRobot {
        var bus = MotorBusConfiguration(devicePath: port)
        bus.baudRate = baud
        bus.robotID = calibration.robotID
        bus.jointNames = calibration.joints.map(\.name)
        bus.calibration = calibration.joints.map {
            Hardware.EncoderConversion(zeroOffsetCounts: Int32($0.zeroOffsetCounts), direction: Int8($0.direction),
                                      countsPerRevolution: Int32($0.encoderCountsPerRevolution))
        }
        let robot = MotorBusRobot(configuration: bus)
        do {
            try robot.configure(RobotConfiguration(
                mode: .torque, watchdogMillis: 100, setpointLimit: calibration.joints.map { Float($0.torqueLimit) }))
        } catch {
            robot.shutdown()
            throw UserError("\(error)")
        }
        return robot
    }

    /// Closes the link and opens it again with `calibration` applied (the emulator keeps running).
    func reopen(with calibration: RobotCalibration) throws {
        robot.shutdown()
        robot = try Self.configuredRobot(port: port, baud: baud, calibration: calibration)
        self.calibration = calibration
    }

    /// The calibration `shared` names, or the emulated pendulum's when no robot is given.
    static func loadCalibration(shared: SharedOptions) throws -> (RobotCalibration, String) {
        var path = shared.calibration
        if path == nil, let robotFile = shared.robot {
            path = try RobotPortFile.load(robotFile).calibration
            if path == nil {
                throw UserError("\(robotFile): field calibration is missing and no --calibration was given; name the robot's calibration file (run `robotctl calibrate` to make one)")
            }
        }
        let p = path ?? defaultEmulatorCalibration()
        return (try asUserError { try RobotCalibration.load(path: p) }, p)
    }

    /// calibration/emulated-pendulum.json in the working directory, else in the package the
    /// executable was built in (.build/<config>/robotctl → ../../calibration).
    static func defaultEmulatorCalibration() -> String {
        let local = "calibration/emulated-pendulum.json"
        if FileManager.default.fileExists(atPath: local) { return local }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let root = ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("../..")
        let beside = ((root as NSString).appendingPathComponent(local) as NSString).standardizingPath
        return FileManager.default.fileExists(atPath: beside) ? beside : local
    }

    /// Starts the emulator (with `emulatorArguments`, e.g. `--param mass=1.2`) or opens the
    /// configured port, then configures the robot in torque mode (inactive, torque off).
    static func open(shared: SharedOptions, calibration: RobotCalibration, calibrationPath: String,
                     emulatorArguments: [String] = []) throws -> RobotConnection {
        var emulator: EmulatorLaunch?
        let port: String
        var baud = 1_000_000
        let description: String
        if let robotFile = shared.robot {
            let config = try RobotPortFile.load(robotFile)
            port = config.serialPort
            baud = config.baudRate
            description = port
        } else {
            let e = try EmulatorLaunch.start(arguments: ["--seed", "\(shared.seed)"] + emulatorArguments)
            emulator = e
            port = e.ptyPath
            description = "emulated robot (robot-emulator pid \(e.pid), \(e.ptyPath))"
        }
        let robot: MotorBusRobot
        do {
            robot = try configuredRobot(port: port, baud: baud, calibration: calibration)
        } catch {
            emulator?.terminate()
            throw error
        }
        return RobotConnection(calibration: calibration, calibrationPath: calibrationPath, robot: robot,
                               description: description, emulator: emulator, port: port, baud: baud)
    }

    /// The safety limits the calibration asks for; a continuous joint gets a range of ±10⁶ rad.
    var limits: SafetyLimits {
        SafetyLimits(joints: calibration.joints.map { j in
            JointLimits(
                positionMin: Float(j.positionMin ?? -1e6), positionMax: Float(j.positionMax ?? 1e6),
                velocityMax: Float(j.velocityLimit), effortMax: Float(j.torqueLimit), rateMax: Float(j.torqueRateLimit))
        })
    }

    /// Torque off, close the link, stop the emulator. Safe to call twice.
    func close() {
        robot.shutdown()
        emulator?.terminate()
        emulator = nil
    }

    deinit { close() }
}

/// The fields of a robot configuration file (`--robot`, schema in calibration/README.md) that
/// teleop and calibrate use: the serial port, its baud rate and the calibration file.
struct RobotPortFile {
    var serialPort: String
    var baudRate: Int
    var calibration: String?

    static func load(_ path: String) throws -> RobotPortFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("\(path): \(FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"); pass an existing robot configuration file (see calibration/README.md)")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw UserError("\(path): is not a JSON object; see calibration/README.md, \"Robot configuration files\"")
        }
        guard let port = root["serial_port"] as? String, !port.isEmpty else {
            throw UserError("\(path): field serial_port is missing; set it to the motor controller's device, e.g. /dev/ttyACM0")
        }
        var baud = 1_000_000
        if let b = root["baud_rate"] {
            guard let n = b as? Int, n > 0 else { throw UserError("\(path): field baud_rate must be a positive integer") }
            baud = n
        }
        var calibration = root["calibration"] as? String
        if let c = calibration, !c.hasPrefix("/") {
            let dir = (path as NSString).deletingLastPathComponent
            calibration = dir.isEmpty ? c : (dir as NSString).appendingPathComponent(c)
        }
        return RobotPortFile(serialPort: port, baudRate: baud, calibration: calibration)
    }
}

/// The `robot-emulator` beside robotctl, started in its own process group (a Ctrl-C reaches
/// only robotctl, which stops in order and then the emulator). It exits by itself when
/// robotctl dies (it polls its parent).
final class EmulatorLaunch {
    let pid: pid_t
    let ptyPath: String
    private let outPath: String
    private var exited = false

    private init(pid: pid_t, ptyPath: String, outPath: String) {
        self.pid = pid
        self.ptyPath = ptyPath
        self.outPath = outPath
    }

    static func start(arguments: [String]) throws -> EmulatorLaunch {
        let spawned = try SpawnedEmulator.spawn(arguments: arguments)
        let (pid, path, outPath) = (spawned.pid, spawned.path, spawned.outPath)
        for _ in 0..<500 {
            if let ptyPath = spawned.printedPtyPath() {
                return EmulatorLaunch(pid: pid, ptyPath: ptyPath, outPath: outPath)
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let err = spawned.firstErrorLine()
                unlink(outPath)
                unlink(outPath + ".err")
                throw UserError("robot-emulator \(arguments.joined(separator: " ")): exited at start (\(err)); check the options")
            }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, nil, 0)
        unlink(outPath)
        unlink(outPath + ".err")
        throw UserError("\(path): did not print its pseudo-terminal within 5 s; run it by hand to see why")
    }

    /// SIGTERM, wait, remove the temporary files. Safe to call twice.
    func terminate() {
        guard !exited else { return }
        exited = true
        kill(pid, SIGTERM)
        var status: Int32 = 0
        var waited = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if waited == 200 { kill(pid, SIGKILL) }  // not gone after 2 s
            usleep(10_000)
            waited += 1
        }
        unlink(outPath)
        unlink(outPath + ".err")
    }

    deinit { terminate() }
}
