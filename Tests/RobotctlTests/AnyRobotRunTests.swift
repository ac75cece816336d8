import Foundation
import Testing
import TestSupport

/// Every robot-facing command on any robot and task file: the real binary against the real
/// emulator (robot-emulator's chain plant built from the robot file, over a pseudo-terminal),
/// for each shipped robot and for a mechanism defined only by files in this test
/// (Tests/Fixtures/tasks/arm2-robot.json + arm2-reach.json: a two-link arm reaching a target).
@Suite("robotctl run and eval on any robot and task file", .serialized)
struct AnyRobotRunTests {
    /// The repository the binaries were built from.
    static var root: String {
        var dir = builtProductsDirectory()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("robots/pendulum.json").path) { return dir.path }
            dir = dir.deletingLastPathComponent()
        }
        preconditionFailure("robots/pendulum.json not found above \(builtProductsDirectory().path)")
    }

    static let fixtures = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/") + "/Fixtures/tasks"

    /// One robot of the end-to-end list: its files and what its run must show. `observations`:
    /// the dataset's observation channels (nil: not checked); `emulator`: words the run's stderr
    /// names its emulator with; `stdout`: a line the summary must hold.
    struct RobotCase: Sendable, CustomTestStringConvertible {
        let robot: String, task: String, observations: Int?, emulator: [String], stdout: String
        var testDescription: String { (robot as NSString).lastPathComponent }
    }

    /// Every shipped robot (firmware robots on robot-emulator, the servo arms the README's bus pages
    /// describe on servo-emulator with the robot file's chain behind the servos) and the test's arm.
    static var cases: [RobotCase] {
        func firmware(_ robot: String, _ task: String, _ observations: Int) -> RobotCase {
            RobotCase(robot: robot, task: task, observations: observations, emulator: ["robot-emulator pid"], stdout: "emulated robot: \(robot)")
        }
        func servo(_ robot: String, _ task: String, _ bus: String) -> RobotCase {
            RobotCase(robot: robot, task: task, observations: nil, emulator: ["servo-emulator pid", "chain plant"],
                      stdout: "servo bus (\(bus), 2 joints at 1000000 baud): sync read exchange")
        }
        return [firmware(root + "/robots/pendulum.json", root + "/tasks/pendulum-swingup.json", 3),
                firmware(root + "/robots/cartpole.json", root + "/tasks/cartpole-swingup.json", 5),
                firmware(root + "/robots/acrobot.json", root + "/tasks/acrobot-swingup.json", 6),
                firmware(fixtures + "/arm2-robot.json", fixtures + "/arm2-reach.json", 4),
                servo(root + "/robots/koch-dynamixel.json", root + "/tasks/koch-reach.json", "Dynamixel Protocol 2.0"),
                servo(root + "/robots/so101-feetech.json", root + "/tasks/so101-reach.json", "Feetech STS/SCS")]
    }

    static func errorLines(_ stderr: String) -> [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") } }

    /// Two robots at a time, each its own robotctl and emulator (2 cores: the loops at SCHED_FIFO on
    /// one, the emulators and trainers beside them); the assertions count records and files, not time.
    @Test("run --robot --task records, fine-tunes and reports, then eval runs the final policy, for every robot file (two at a time)",
          arguments: [[0, 1], [2, 3], [4, 5]])
    func runAndEvalEveryRobot(_ pair: [Int]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in pair { group.addTask { try Self.runAndEval(Self.cases[index], tag: "any\(index)") } }
            try await group.waitForAll()
        }
    }

    /// 45 s of `run` (over 1000 records; the trainer starts after 400 real transitions, 20 s at 20 Hz decisions, after calibration and pre-training: at 30 s the pendulum had not started under CI) and one `eval` episode.
    static func runAndEval(_ c: RobotCase, tag: String) throws {
        let dir = RunCommandTests.scratch(tag)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let robotctl = builtProduct("robotctl")
        let run = dir + "/run"
        let result = try runProcess(
            robotctl, ["run", "--robot", c.robot, "--task", c.task, "--duration", "45", "--pretrain-updates", "300", "--run-directory", run],
            currentDirectory: dir, timeout: 200)
        #expect(result.status == 0, "\(c.robot): \(result.stderr.suffix(2000))")
        for name in ["run.json", "episodes.csv", "report.html", "policy.safetensors", "dataset/schema.json"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + name), "\(c.robot): \(name) missing")
        }
        // The emulated robot is the robot file's chain plant, behind its own kind of emulator.
        for words in c.emulator { #expect(result.stderr.contains(words), "\(c.robot): \(result.stderr.suffix(1000))") }
        #expect(result.stdout.contains(c.stdout), "\(c.robot): \(result.stdout.suffix(1500))")
        // Recorded with the task's schema, and fine-tuned (the trainer ran updates).
        let schema = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/dataset/schema.json"))) as? [String: Any])
        if let observations = c.observations { #expect((schema["observation"] as? [Any])?.count == observations, "\(c.robot)") }
        let taskName = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: c.task))) as? [String: Any])?["name"] as? String
        #expect(schema["task"] as? String == taskName, "\(c.robot)")
        let info = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as? [String: Any])
        let summary = try #require(info["summary"] as? [String: Any])
        #expect(((summary["records_written"] as? NSNumber)?.intValue ?? 0) > 1000, "\(c.robot): \(summary)")
        #expect(((summary["trainer_updates"] as? NSNumber)?.intValue ?? 0) > 0, "\(c.robot): \(summary)")

        let eval = try runProcess(
            robotctl, ["eval", "--robot", c.robot, "--task", c.task, "--policy", run + "/policy.safetensors", "--episodes", "1", "--json"],
            currentDirectory: dir, timeout: 120)
        #expect(eval.status == 0, "\(c.robot): \(eval.stderr.suffix(2000))")
        let stats = try #require(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        #expect(stats["episodes"] as? Int == 1 && (stats["mean"] as? Double)?.isFinite == true, "\(c.robot): \(eval.stdout)")
    }

    /// Issue 13: "the link says clearly when the robot is too slow instead of restarting for ever".
    /// The robot answers at once for 10 s, then 6 ms late each way (a 12 ms round trip; the
    /// pipelined link allows 9 ms at 200 Hz): the run ends with the one line and exit 3 (the
    /// robot or its link failed), with its run files, instead of restarting.
    @Test("a robot that turns too slow mid-run: run ends with the one line and exit 3, run files written")
    func robotTurnsTooSlowMidRun() throws {
        typealias Exit = EmulatorDrivingCommandTests.ExitStatusCommandTests
        let dir = Exit.scratch("slowmid")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (emulator, config) = try Exit.externalRobot(dir, ["--latency-ms", "6", "--latency-from", "10"])
        defer { _ = emulator.terminate() }
        let r = try runProcess(builtProduct("robotctl"), try Exit.runArguments(dir, ["--robot", config, "--duration", "60"]),
                               currentDirectory: dir, timeout: 150)
        #expect(r.status == 3, "status \(r.status): \(r.stderr.suffix(2000))")
        let errors = Self.errorLines(r.stderr)
        #expect(errors.count == 1 && errors[0].contains("the robot answers in") && errors[0].contains("the link allows 9.0 ms at 200 Hz"),
                "\(r.stderr.suffix(2000))")
        Exit.expectRunFiles(dir, r.stderr)
        #expect(Exit.endReason(dir)?.contains("the robot answers in") == true, "\(Exit.endReason(dir) ?? "no run.json")")
        let info = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/run/run.json"))) as? [String: Any])
        let summary = try #require(info["summary"] as? [String: Any])
        // It ran before the robot turned slow, and stopped soon after, not at the duration.
        #expect(((summary["ticks"] as? NSNumber)?.intValue ?? 0) > 200, "\(summary)")
        #expect(((summary["seconds"] as? NSNumber)?.doubleValue ?? 60) < 45, "\(summary)")
    }

    /// Writes `text` as `name` in `dir` and returns the path.
    static func write(_ dir: String, _ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("bad robot, task, calibration and policy files: one line naming the file, non-zero exit, before any motor moves")
    func badFilesOneLine() throws {
        let dir = RunCommandTests.scratch("anybad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let robotctl = builtProduct("robotctl")
        let robotText = try String(contentsOfFile: Self.fixtures + "/arm2-robot.json", encoding: .utf8)
        let taskText = try String(contentsOfFile: Self.fixtures + "/arm2-reach.json", encoding: .utf8)
        let robot = try Self.write(dir, "arm.json", robotText)
        let task = try Self.write(dir, "reach.json", taskText)
        let pendulumCalibration = RunCommandTests.calibration
        let onePolicy = dir + "/one.safetensors"
        try RunCommandTests.writePolicy(onePolicy, observations: 3)
        let cases: [(what: String, robot: String, task: String, extra: [String], expect: [String])] = [
            ("unknown feature", robot,
             try Self.write(dir, "feature.json", taskText.replacingOccurrences(of: #""feature": "position", "joint": "elbow""#, with: #""feature": "torque", "joint": "elbow""#)),
             [], ["feature.json", "observation"]),
            ("reward term on a missing feature", robot,
             try Self.write(dir, "reward.json", taskText.replacingOccurrences(of: #""of": "shoulder.effort""#, with: #""of": "wrist.velocity""#)),
             [], ["reward.json", "wrist.velocity"]),
            ("divide by zero in an expression", robot,
             try Self.write(dir, "divide.json", taskText.replacingOccurrences(of: #""target": "0.2""#, with: #""target": "0.2 / 0""#)),
             [], ["divide.json", "divides by zero"]),
            ("inverted limits", try Self.write(dir, "inverted.json", robotText.replacingOccurrences(of: #""position": [-2.5, 2.5], "velocity": 8 },"#, with: #""position": [2.5, -2.5], "velocity": 8 },"#)),
             task, [], ["inverted.json", "position"]),
            ("joint-count mismatch robot / calibration", robot, task, ["--calibration", pendulumCalibration], [pendulumCalibration, "joint"]),
            ("joint-count mismatch robot / policy", robot, task, ["--policy", onePolicy, "--no-finetune"], ["one.safetensors", "observations"]),
            ("emulator section on a real robot", try Self.write(dir, "real.json", robotText.replacingOccurrences(of: #""port": "emulator""#, with: #""port": "/dev/robotctl-none""#)),
             task, [], ["real.json", "emulator"]),
        ]
        for c in cases {
            let r = try runProcess(
                robotctl, ["run", "--robot", c.robot, "--task", c.task, "--duration", "1", "--pretrain-updates", "10", "--run-directory", dir + "/run"] + c.extra,
                currentDirectory: dir, timeout: 60)
            #expect(r.status != 0, "\(c.what): exited 0")
            let lines = Self.errorLines(r.stderr)
            #expect(lines.count == 1, "\(c.what): \(r.stderr)")
            for word in c.expect { #expect(lines.first?.contains(word) == true, "\(c.what): \(lines) lacks \(word)") }
            // Nothing started: no emulator, no run directory.
            #expect(!r.stderr.contains("robot-emulator pid"), "\(c.what)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/run/dataset"), "\(c.what)")
        }
    }
}
