import Control
import Foundation
import TestSupport
import Testing

@testable import Hardware

/// `robotctl motors scan|setup` run as a user would, against the servo emulator.
@Suite("robotctl motors scan and setup against the servo emulator", .serialized)
struct ServoBusSetupTests {
    @Test("scan finds two Dynamixel servos at 57600 baud (and none at 1 Mbaud), with their model")
    func scanDynamixel() throws {
        let emu = try startServoEmulator(["--bus", "dynamixel", "--joints", "2", "--baud", "57600"])
        defer { emu.terminate() }
        let r = try runProcess(
            builtProduct("robotctl"),
            ["motors", "scan", "--bus", "dynamixel", "--port", emu.ptyPath, "--baud", "57600", "--baud", "1000000", "--ids", "1-5", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(rows.count == 2, "\(r.stdout)")
        #expect(rows.map { $0["id"] as? Int } == [1, 2])
        #expect(rows.allSatisfy { $0["baud"] as? Int == 57600 && $0["model"] as? String == "XM430-W350" })
    }

    @Test("setup gives a factory Feetech servo id 7 at 500000 baud, saved to EEPROM (unlock, write, lock)")
    func setupFeetech() throws {
        let emu = try startServoEmulator(["--bus", "feetech", "--joints", "1", "--stats"])
        let robotctl = builtProduct("robotctl")
        let r = try runProcess(robotctl, ["motors", "setup", "--bus", "feetech", "--port", emu.ptyPath, "--baud", "1000000", "--new-id", "7", "--new-baud", "500000"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("servo 1 at 1000000 baud: STS3215 (model number 777) is now servo 7 at 500000 baud"), "\(r.stdout)")
        let scan = try runProcess(robotctl, ["motors", "scan", "--bus", "feetech", "--port", emu.ptyPath, "--baud", "500000", "--baud", "1000000", "--ids", "1-10"])
        #expect(scan.status == 0)
        #expect(scan.stdout.contains("7    500000    STS3215 (777)"), "\(scan.stdout)")
        #expect(!scan.stdout.contains("1000000"), "\(scan.stdout)")
        let stats = emu.terminate()
        #expect(stats.contains("servo 7:") && stats.contains("saved id 7 baud 500000"), "\(stats)")
        #expect(!stats.contains("not saved"), "\(stats)")
    }

    @Test("setup refuses when two servos answer, naming both, in one line")
    func setupTwoServos() throws {
        let emu = try startServoEmulator(["--bus", "dynamixel", "--joints", "2", "--baud", "1000000"])
        defer { emu.terminate() }
        let r = try runProcess(
            builtProduct("robotctl"), ["motors", "setup", "--bus", "dynamixel", "--port", emu.ptyPath, "--baud", "1000000", "--new-id", "5"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("2 servos answered") && r.stderr.contains("connect exactly one servo"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test("setup moves a Dynamixel servo to id 4 at 1 Mbaud and a robot then drives it there")
    func setupDynamixelThenDrive() throws {
        let emu = try startServoEmulator(["--bus", "dynamixel", "--joints", "1", "--baud", "57600"])
        defer { emu.terminate() }
        let found = try ServoBusSetup.scan(bus: .dynamixel, devicePath: emu.ptyPath, baudRates: [57600], ids: 1...3)
        #expect(found.count == 1)
        let now = try ServoBusSetup.assign(found[0], devicePath: emu.ptyPath, newID: 4, newBaud: 1_000_000)
        #expect(now.id == 4 && now.baudRate == 1_000_000 && now.modelName == "XM430-W350")
        var c = ServoBusConfiguration(
            bus: .dynamixel, devicePath: emu.ptyPath,
            joints: [ServoJoint(name: "shoulder", id: 4, model: ServoModel.named("xm430-w350")!)])
        c.baudRate = 1_000_000
        let robot = ServoBusRobot(configuration: c) { try TermiosTransport(path: emu.ptyPath, baudRate: 1_000_000) }
        try robot.configure(.init(mode: .position, setpointLimit: [4]))
        try robot.activate()
        var s = RobotState()
        #expect(robot.read(into: &s) == .ok)
        robot.shutdown()
    }
}

@Suite("robotctl run on the emulated Dynamixel pendulum (robots/pendulum-dynamixel.json)", .serialized)
struct ServoBusRunTests {
    @Test("run --robot robots/pendulum-dynamixel.json: 200 Hz on the servo emulator, bus time beside the wire time in the summary")
    func run() throws {
        let root = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let dir = NSTemporaryDirectory() + "servo-run-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runProcess(
            builtProduct("robotctl"),
            ["run", "--robot", root + "/robots/pendulum-dynamixel.json", "--task", root + "/tasks/pendulum-swingup.json",
             "--duration", "6", "--pretrain-updates", "100", "--no-finetune", "--run-directory", dir],
            timeout: 240)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("emulated dynamixel bus (servo-emulator pid") && r.stderr.contains("XM430-W350, chain plant"), "\(r.stderr)")
        #expect(r.stdout.contains("emulated robot: \(root)/robots/pendulum-dynamixel.json with j0.coulomb=0.1, j0.gain=0.7"), "\(r.stdout)")
        let bus = r.stdout.split(separator: "\n").first { $0.hasPrefix("servo bus (Dynamixel Protocol 2.0, 1 joints at 1000000 baud)") }
        #expect(bus != nil, "\(r.stdout)")
        #expect(bus?.contains("wire time 360 µs") == true, "\(bus ?? "")")
        let rate = r.stdout.split(separator: "\n").first { $0.hasPrefix("run:") }.flatMap { line in
            line.split(separator: ",").first { $0.contains(" Hz") }.flatMap { Double($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") }
        }
        #expect((rate ?? 0) > 170, "loop rate \(rate ?? 0) Hz")
    }
}
