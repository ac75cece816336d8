import Foundation
import Glibc
import Hardware
import Testing
import TestSupport

/// The exit-status convention (robotctl's `ExitStatus`, README "Exit codes") through the real
/// binary against the real emulator with its fault injection: issue 13 found a motor fault, a
/// limit stop and a NaN policy ending `run` with 0, a cut or stalled link ending it with 1 and
/// no run files, SIGHUP killing it with nothing written, and a 3 ms link restarting it for
/// ever with 0. Every ending now writes run.json, the events and the report, and says how it
/// ended in its status.
extension EmulatorDrivingCommandTests {
@Suite("robotctl exit statuses and run files on every ending", .serialized)
struct ExitStatusCommandTests {
    static func scratch(_ tag: String) -> String {
        let dir = NSTemporaryDirectory() + "robotctl-exit-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A robot-emulator started here with `arguments` (fault injection), and a robot file naming its pty.
    static func externalRobot(_ dir: String, _ arguments: [String]) throws -> (EmulatorProcess, String) {
        let emulator = try EmulatorProcess(
            executable: try EmulatorProcess.locateBesideExecutable(), arguments: ["--seed", "5"] + arguments, realtimePriority: 70)
        let config = dir + "/robot.json"
        try RunCommandTests.pendulumRobotFile(link: #""link": { "bus": "firmware", "port": "\#(emulator.ptyPath)", "baud": 1000000 }"#)
            .write(toFile: config, atomically: true, encoding: .utf8)
        return (emulator, config)
    }

    /// The shipped pendulum task file (a robot file naming a device needs its task named).
    static var pendulumTask: String {
        (RunCommandTests.calibration as NSString).deletingLastPathComponent.replacingOccurrences(of: "/calibration", with: "")
            + "/tasks/pendulum-swingup.json"
    }

    /// `robotctl run` with a small fixed policy and no fine-tuning (quick to start).
    static func runArguments(_ dir: String, _ extra: [String]) throws -> [String] {
        try RunCommandTests.writePolicy(dir + "/p.safetensors")
        return ["run", "--policy", dir + "/p.safetensors", "--no-finetune", "--run-directory", dir + "/run",
                "--calibration", RunCommandTests.calibration, "--task", pendulumTask] + extra
    }

    /// The run files every ending leaves.
    static func expectRunFiles(_ dir: String, _ r: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for name in ["run.json", "events.csv", "episodes.csv", "report.html", "policy.safetensors", "dataset/schema.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/run/" + name), "\(name) missing; stderr: \(r)", sourceLocation: sourceLocation)
        }
    }

    static func errorLines(_ stderr: String) -> [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") } }

    static func endReason(_ dir: String) -> String? {
        guard let data = FileManager.default.contents(atPath: dir + "/run/run.json"),
              let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let summary = info["summary"] as? [String: Any] else { return nil }
        return summary["end_reason"] as? String
    }

    @Test("a motor-driver fault ends run with 3 (robot failed), run files written")
    func motorFault() throws {
        let dir = Self.scratch("motor")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (emulator, config) = try Self.externalRobot(dir, ["--motor-fault-at", "3"])
        defer { _ = emulator.terminate() }
        let r = try runProcess(builtProduct("robotctl"), try Self.runArguments(dir, ["--robot", config, "--duration", "30"]),
                               currentDirectory: dir, timeout: 120)
        #expect(r.status == 3, "status \(r.status): \(r.stderr)")
        Self.expectRunFiles(dir, r.stderr)
        let errors = Self.errorLines(r.stderr)
        #expect(errors.count == 1 && errors[0].contains("run ended") && errors[0].contains("motor") && errors[0].contains("exit status 3"), "\(r.stderr)")
        #expect(try String(contentsOfFile: dir + "/run/events.csv", encoding: .utf8).contains("safety_stop"))
        #expect(r.stdout.contains("report: "))
    }

    @Test("a stall of the link longer than 0.5 s ends run with 3, run files written")
    func stall() throws {
        let dir = Self.scratch("stall")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (emulator, config) = try Self.externalRobot(dir, ["--stall-at", "3", "--stall-for", "5"])
        defer { _ = emulator.terminate() }
        let r = try runProcess(builtProduct("robotctl"), try Self.runArguments(dir, ["--robot", config, "--duration", "30"]),
                               currentDirectory: dir, timeout: 120)
        #expect(r.status == 3, "status \(r.status): \(r.stderr)")
        Self.expectRunFiles(dir, r.stderr)
        #expect(Self.errorLines(r.stderr).count == 1, "\(r.stderr)")
        #expect(try String(contentsOfFile: dir + "/run/events.csv", encoding: .utf8).contains("safety_stop"))
    }

    @Test("a cut link (the robot's process gone) ends run with 3, run files written")
    func cutLink() throws {
        let dir = Self.scratch("cut")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (emulator, config) = try Self.externalRobot(dir, [])
        let p = try LiveProcess(builtProduct("robotctl"), try Self.runArguments(dir, ["--robot", config, "--duration", "60"]))
        #expect(p.waitForStderr(timeout: 60) { $0.contains("run directory:") }, "\(p.stderr)")
        sleep(2)
        _ = emulator.terminate()
        let status = p.wait(timeout: 60)
        #expect(status == 3, "status \(status): \(p.stderr)")
        Self.expectRunFiles(dir, p.stderr)
    }

    @Test("SIGHUP stops run in order: run files and report written, exit 129")
    func hangup() throws {
        let dir = Self.scratch("hup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try LiveProcess(builtProduct("robotctl"), try Self.runArguments(dir, []))
        #expect(p.waitForStderr(timeout: 60) { $0.contains("run directory:") }, "\(p.stderr)")
        sleep(2)
        p.send(SIGHUP)
        let status = p.wait(timeout: 60)
        #expect(status == 129, "status \(status): \(p.stderr)")
        Self.expectRunFiles(dir, p.stderr)
        #expect(Self.endReason(dir) == "interrupted")
    }

    @Test("Ctrl-C ends an open-ended run with 0; SIGTERM before --duration with 143, files written both times")
    func interrupt() throws {
        let dir = Self.scratch("int")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let open = try LiveProcess(builtProduct("robotctl"), try Self.runArguments(dir, []))
        #expect(open.waitForStderr(timeout: 60) { $0.contains("run directory:") }, "\(open.stderr)")
        sleep(2)
        open.send(SIGINT)
        let openStatus = open.wait(timeout: 60)
        #expect(openStatus == 0, "status \(openStatus): \(open.stderr)")
        Self.expectRunFiles(dir, open.stderr)
        try FileManager.default.removeItem(atPath: dir + "/run")
        let bounded = try LiveProcess(builtProduct("robotctl"), try Self.runArguments(dir, ["--duration", "120"]))
        #expect(bounded.waitForStderr(timeout: 60) { $0.contains("run directory:") }, "\(bounded.stderr)")
        sleep(2)
        bounded.send(SIGTERM)
        let boundedStatus = bounded.wait(timeout: 60)
        #expect(boundedStatus == 143, "status \(boundedStatus): \(bounded.stderr)")
        Self.expectRunFiles(dir, bounded.stderr)
    }

    @Test("4 ms one-way link latency: run completes with 0 and no safety stop; 6 ms: 3 with the one line, nothing written")
    func latency() throws {
        let dir = Self.scratch("latency")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (slow, config) = try Self.externalRobot(dir, ["--latency-ms", "4"])
        let ok = try runProcess(builtProduct("robotctl"), try Self.runArguments(dir, ["--robot", config, "--duration", "8"]),
                                currentDirectory: dir, timeout: 120)
        _ = slow.terminate()
        #expect(ok.status == 0, "status \(ok.status): \(ok.stderr)")
        #expect(ok.stdout.contains("safety stops 0"), "\(ok.stdout)")
        Self.expectRunFiles(dir, ok.stderr)
        try FileManager.default.removeItem(atPath: dir + "/run")

        let (tooSlow, config2) = try Self.externalRobot(dir, ["--latency-ms", "6"])
        defer { _ = tooSlow.terminate() }
        let refused = try runProcess(builtProduct("robotctl"), try Self.runArguments(dir, ["--robot", config2, "--duration", "8"]),
                                     currentDirectory: dir, timeout: 120)
        #expect(refused.status == 3, "status \(refused.status): \(refused.stderr)")
        let errors = Self.errorLines(refused.stderr)
        #expect(errors.count == 1 && errors[0].contains("the robot answers in") && errors[0].contains("the link allows 9.0 ms at 200 Hz"),
                "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
    }

    @Test("a position-limit stop ends run with 4 (safety stop), run files written")
    func limitStop() throws {
        let dir = Self.scratch("limit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The pendulum hangs at π rad: a joint range of [0, 1] rad trips at once.
        var text = try String(contentsOfFile: RunCommandTests.calibration, encoding: .utf8)
        text = text.replacingOccurrences(of: #""position_max_rad" : null"#, with: #""position_max_rad" : 1"#)
            .replacingOccurrences(of: #""position_min_rad" : null"#, with: #""position_min_rad" : 0"#)
        try text.write(toFile: dir + "/narrow.json", atomically: true, encoding: .utf8)
        var arguments = try Self.runArguments(dir, ["--duration", "20"])
        arguments[arguments.firstIndex(of: RunCommandTests.calibration)!] = dir + "/narrow.json"
        let r = try runProcess(builtProduct("robotctl"), arguments, currentDirectory: dir, timeout: 120)
        #expect(r.status == 4, "status \(r.status): \(r.stderr)")
        let errors = Self.errorLines(r.stderr)
        #expect(errors.count == 1 && errors[0].contains("position limit") && errors[0].contains("exit status 4"), "\(r.stderr)")
        Self.expectRunFiles(dir, r.stderr)
    }

    @Test("bad input is 2; the statuses are listed by robotctl --help")
    func badInputAndHelp() throws {
        let dir = Self.scratch("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = try runProcess(builtProduct("robotctl"), ["run", "--policy", dir + "/absent.safetensors"], currentDirectory: dir)
        #expect(missing.status == 2, "\(missing.stderr)")
        let usage = try runProcess(builtProduct("robotctl"), ["run", "--duration", "-1"], currentDirectory: dir)
        #expect(usage.status == 2, "\(usage.stderr)")
        let help = try runProcess(builtProduct("robotctl"), ["--help"])
        #expect(help.status == 0)
        for line in ["  0  ended as asked", "  2  bad usage", "  3  the robot or its link failed", "  4  a safety stop", "  5  the on-robot trainer diverged",
                     "129  SIGHUP", "130  Ctrl-C", "143  SIGTERM"] {
            #expect(help.stdout.contains(line), "--help lacks \"\(line)\"")
        }
    }

    @Test("eval and teleop use the same statuses: a motor fault during eval is 3, teleop's lost gamepad (an e-stop) is 4")
    func evalAndTeleop() throws {
        let dir = Self.scratch("evalteleop")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (emulator, config) = try Self.externalRobot(dir, ["--motor-fault-at", "2"])
        defer { _ = emulator.terminate() }
        try RunCommandTests.writePolicy(dir + "/p.safetensors")
        let eval = try runProcess(
            builtProduct("robotctl"), ["eval", "--robot", config, "--task", Self.pendulumTask, "--policy", dir + "/p.safetensors", "--episodes", "5"],
            currentDirectory: dir, timeout: 120)
        #expect(eval.status == 3, "status \(eval.status): \(eval.stderr)")
        #expect(Self.errorLines(eval.stderr).count == 1 && eval.stderr.contains("eval ended"), "\(eval.stderr)")
        // A gamepad FIFO nobody writes to: the lost device e-stops teleop at once.
        let fifo = dir + "/js"
        #expect(mkfifo(fifo, 0o600) == 0)
        let teleop = try runProcess(
            builtProduct("robotctl"), ["teleop", "--record", dir + "/data", "--joystick", fifo, "--calibration", RunCommandTests.calibration],
            currentDirectory: dir, timeout: 60)
        #expect(teleop.status == 4, "status \(teleop.status): \(teleop.stderr)")
        #expect(Self.errorLines(teleop.stderr).count == 1 && teleop.stderr.contains("teleop ended: safety stop"), "\(teleop.stderr)")
    }

    @Test("two runs started in the same second get their own run directories")
    func sameSecond() throws {
        let dir = Self.scratch("same")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try RunCommandTests.writePolicy(dir + "/p.safetensors")
        let arguments = ["run", "--policy", dir + "/p.safetensors", "--no-finetune", "--duration", "2", "--calibration", RunCommandTests.calibration]
        let a = try LiveProcess(builtProduct("robotctl"), arguments, currentDirectory: dir)
        let b = try LiveProcess(builtProduct("robotctl"), arguments, currentDirectory: dir)
        #expect(a.wait(timeout: 90) == 0, "\(a.stderr)")
        #expect(b.wait(timeout: 90) == 0, "\(b.stderr)")
        func runDirectory(_ p: LiveProcess) -> String? {
            p.stderr.split(separator: "\n").first { $0.hasPrefix("run directory: ") }.map { String($0.dropFirst("run directory: ".count)) }
        }
        let da = try #require(runDirectory(a)), db = try #require(runDirectory(b))
        #expect(da != db)
        for d in [da, db] { #expect(FileManager.default.fileExists(atPath: dir + "/" + d + "/run.json"), "\(d)") }
    }
}
}
