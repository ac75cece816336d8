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

    /// (robot file, task file, dataset observation channels) of every shipped robot and the test's arm.
    static var cases: [(robot: String, task: String, observations: Int)] {
        [(root + "/robots/pendulum.json", root + "/tasks/pendulum-swingup.json", 3),
         (root + "/robots/cartpole.json", root + "/tasks/cartpole-swingup.json", 5),
         (root + "/robots/acrobot.json", root + "/tasks/acrobot-swingup.json", 6),
         (fixtures + "/arm2-robot.json", fixtures + "/arm2-reach.json", 4)]
    }

    static func errorLines(_ stderr: String) -> [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") } }

    @Test("run --robot --task records, fine-tunes and reports, then eval runs the final policy, for every robot file", arguments: 0..<4)
    func runAndEvalEveryRobot(_ index: Int) throws {
        let c = Self.cases[index]
        let dir = RunCommandTests.scratch("any\(index)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let robotctl = builtProduct("robotctl")
        let run = dir + "/run"
        let result = try runProcess(
            robotctl, ["run", "--robot", c.robot, "--task", c.task, "--duration", "40", "--pretrain-updates", "300", "--run-directory", run],
            currentDirectory: dir, timeout: 200)
        #expect(result.status == 0, "\(c.robot): \(result.stderr.suffix(2000))")
        for name in ["run.json", "episodes.csv", "report.html", "policy.safetensors", "dataset/schema.json"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + name), "\(c.robot): \(name) missing")
        }
        // The emulated robot is the robot file's chain plant.
        #expect(result.stderr.contains("robot-emulator pid"), "\(result.stderr.suffix(1000))")
        #expect(result.stdout.contains("emulated robot: \(c.robot)"))
        // Recorded with the task's schema, and fine-tuned (the trainer ran updates).
        let schema = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/dataset/schema.json"))) as? [String: Any])
        #expect((schema["observation"] as? [Any])?.count == c.observations)
        let taskName = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: c.task))) as? [String: Any])?["name"] as? String
        #expect(schema["task"] as? String == taskName)
        let info = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as? [String: Any])
        let summary = try #require(info["summary"] as? [String: Any])
        #expect(((summary["records_written"] as? NSNumber)?.intValue ?? 0) > 1000, "\(summary)")
        #expect(((summary["trainer_updates"] as? NSNumber)?.intValue ?? 0) > 0, "\(summary)")

        let eval = try runProcess(
            robotctl, ["eval", "--robot", c.robot, "--task", c.task, "--policy", run + "/policy.safetensors", "--episodes", "1", "--json"],
            currentDirectory: dir, timeout: 120)
        #expect(eval.status == 0, "\(c.robot): \(eval.stderr.suffix(2000))")
        let stats = try #require(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        #expect(stats["episodes"] as? Int == 1 && (stats["mean"] as? Double)?.isFinite == true, "\(eval.stdout)")
    }

    /// The servo robots the README's bus pages describe, on their emulated buses (servo-emulator
    /// with the robot file's chain behind the servos).
    static var servoCases: [(robot: String, task: String, bus: String)] {
        [(root + "/robots/koch-dynamixel.json", root + "/tasks/koch-reach.json", "Dynamixel Protocol 2.0"),
         (root + "/robots/so101-feetech.json", root + "/tasks/so101-reach.json", "Feetech STS/SCS")]
    }

    @Test("run on the emulated servo arms (Dynamixel, Feetech): records, fine-tunes, reports the bus time per tick; eval runs", arguments: 0..<2)
    func runOnServoArms(_ index: Int) throws {
        let c = Self.servoCases[index]
        let dir = RunCommandTests.scratch("servo\(index)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let robotctl = builtProduct("robotctl")
        let run = dir + "/run"
        let result = try runProcess(
            robotctl, ["run", "--robot", c.robot, "--task", c.task, "--duration", "30", "--pretrain-updates", "300", "--run-directory", run],
            currentDirectory: dir, timeout: 200)
        #expect(result.status == 0, "\(c.robot): \(result.stderr.suffix(2000))")
        #expect(result.stderr.contains("servo-emulator pid") && result.stderr.contains("chain plant"), "\(result.stderr.suffix(1000))")
        #expect(result.stdout.contains("servo bus (\(c.bus), 2 joints at 1000000 baud): sync read exchange"), "\(result.stdout.suffix(1500))")
        for name in ["run.json", "report.html", "policy.safetensors", "dataset/schema.json"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + name), "\(c.robot): \(name) missing")
        }
        let info = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as? [String: Any])
        let summary = try #require(info["summary"] as? [String: Any])
        #expect(((summary["records_written"] as? NSNumber)?.intValue ?? 0) > 1000, "\(summary)")
        let eval = try runProcess(
            robotctl, ["eval", "--robot", c.robot, "--task", c.task, "--policy", run + "/policy.safetensors", "--episodes", "1", "--json"],
            currentDirectory: dir, timeout: 120)
        #expect(eval.status == 0, "\(c.robot): \(eval.stderr.suffix(2000))")
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
