import Foundation
import Glibc
import Testing
import TestSupport

private func scratch(_ tag: String) -> String {
    let dir = NSTemporaryDirectory() + "robotctl-bringup-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The lines of `stderr` that report an error.
private func errorLines(_ r: ProcessResult) -> [Substring] { r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") } }

/// The "host command watchdog …" part of a command's start-up line, or nil.
private func watchdog(_ stderr: String) -> String? {
    guard let r = stderr.range(of: "host command watchdog ") else { return nil }
    return String(stderr[r.lowerBound...].prefix { $0 != "\n" })
}

/// Every robot-facing command goes through the one bring-up (Hardware's `RobotBringup`): the
/// same robot-file parser, the same default calibration from any working directory, the same
/// watchdogs from the same calibration.
extension EmulatorDrivingCommandTests {
@Suite("robotctl run, eval, teleop and calibrate share one robot bring-up", .serialized)
struct BringupCommandTests {
    @Test("run, eval, teleop and calibrate reject the same bad robot file with one line naming the file and field")
    func sameBadRobotFileRejected() throws {
        let dir = scratch("badfile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The old robot-configuration format (no "format"): refused by the one robot-file parser.
        let config = dir + "/robot.json"
        try #"{"serial_port": "/dev/ttyUSB0", "calibration": "\#(RunCommandTests.calibration)"}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        for arguments in [
            ["run", "--robot", config, "--duration", "1"], ["eval", "--robot", config, "--episodes", "1"],
            ["teleop", "--robot", config, "--record", dir + "/data"], ["calibrate", "--robot", config, "--output", dir + "/cal.json"],
        ] {
            let r = try runProcess(builtProduct("robotctl"), arguments, input: "q\n", currentDirectory: dir, timeout: 60)
            #expect(r.status != 0, "\(arguments[0]) accepted it")
            let errors = errorLines(r)
            #expect(errors.count == 1 && errors[0].contains(config) && errors[0].contains("format"),
                    "\(arguments[0]): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/data") && !FileManager.default.fileExists(atPath: dir + "/cal.json"))
    }

    @Test("from another working directory every command finds the default calibration, and ROBOTCTL_CALIBRATION overrides it for all")
    func defaultCalibrationFromAnyDirectory() throws {
        let dir = scratch("cwd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let policy = dir + "/missing.safetensors"
        // run and eval: the calibration is read first, so the error is the policy's.
        for command in ["run", "eval"] {
            let r = try runProcess(builtProduct("robotctl"), [command, "--policy", policy], currentDirectory: "/tmp", timeout: 60)
            #expect(r.status != 0)
            #expect(errorLines(r).count == 1 && errorLines(r)[0].contains(policy), "\(command): \(r.stderr)")
        }
        // teleop: past the calibration, it stops at the missing terminal.
        let teleop = try runProcess(builtProduct("robotctl"), ["teleop", "--record", dir + "/data"], currentDirectory: "/tmp", timeout: 60)
        #expect(teleop.status != 0)
        #expect(errorLines(teleop).count == 1 && errorLines(teleop)[0].contains("standard input: not a terminal"), "teleop: \(teleop.stderr)")
        // calibrate: it starts from the package's calibration, then q quits.
        let calibrate = try runProcess(
            builtProduct("robotctl"), ["calibrate", "--output", dir + "/cal.json"], input: "q\n", currentDirectory: "/tmp", timeout: 60)
        #expect(calibrate.stderr.contains("starting from \(RunCommandTests.calibration)"), "calibrate: \(calibrate.stderr)")

        var environment = ProcessInfo.processInfo.environment
        let named = dir + "/named.json"
        environment["ROBOTCTL_CALIBRATION"] = named
        for arguments in [["run", "--policy", policy], ["eval", "--policy", policy], ["teleop", "--record", dir + "/data"],
                          ["calibrate", "--output", dir + "/cal.json"]] {
            let r = try runProcess(builtProduct("robotctl"), arguments, input: "q\n", environment: environment, currentDirectory: "/tmp", timeout: 60)
            #expect(r.status != 0)
            #expect(errorLines(r).count == 1 && errorLines(r)[0].contains(named), "\(arguments[0]): \(r.stderr)")
        }
    }

    @Test("the same calibration gives the same host and firmware watchdogs under run, teleop and calibrate")
    func sameWatchdogEveryCommand() throws {
        let dir = scratch("watchdog")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RunCommandTests.writePolicy(dir + "/p.safetensors")
        let calibration = RunCommandTests.calibration
        let run = try runProcess(
            builtProduct("robotctl"), ["run", "--policy", dir + "/p.safetensors", "--duration", "1", "--no-finetune",
                                       "--run-directory", dir + "/run", "--calibration", calibration],
            currentDirectory: dir, timeout: 90)
        // teleop driven by a gamepad FIFO nobody writes to: the lost device e-stops it at once.
        let fifo = dir + "/js"
        #expect(mkfifo(fifo, 0o600) == 0)
        let teleop = try runProcess(
            builtProduct("robotctl"), ["teleop", "--record", dir + "/data", "--joystick", fifo, "--calibration", calibration],
            currentDirectory: dir, timeout: 60)
        let calibrate = try runProcess(
            builtProduct("robotctl"), ["calibrate", "--output", dir + "/cal.json", "--calibration", calibration], input: "q\n",
            currentDirectory: dir, timeout: 60)
        let seen = [run, teleop, calibrate].map { watchdog($0.stderr) }
        #expect(seen[0] == "host command watchdog 100 ms, firmware 250 ms", "run: \(run.stderr)")
        #expect(seen[1] == seen[0], "teleop: \(teleop.stderr)")
        #expect(seen[2] == seen[0], "calibrate: \(calibrate.stderr)")
    }
}
}
