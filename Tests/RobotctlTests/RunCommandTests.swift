import Control
import FixedNN
import Foundation
import Testing
import TestSupport

/// `robotctl run` and `eval` as a newcomer runs them: the real binary against the real
/// emulator (spawned by robotctl over a pseudo-terminal).
@Suite("robotctl run")
struct RunCommandTests {
    static func scratch(_ tag: String) -> String {
        let dir = NSTemporaryDirectory() + "robotctl-run-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// calibration/emulated-pendulum.json of the package the binaries were built from.
    static var calibration: String {
        var dir = builtProductsDirectory()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("calibration/emulated-pendulum.json")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        preconditionFailure("calibration/emulated-pendulum.json not found above \(builtProductsDirectory().path)")
    }

    /// A policy for the pendulum (or `observations` inputs) with a 64-wide tanh-Gaussian net.
    static func writePolicy(_ path: String, observations: Int = 3) throws {
        let net = MLP(shape: MLPShape(layerSizes: [observations, 64, 64, 2], hidden: .relu), lastLayer: .xavierUniform(gain: 0.01), seed: 5)
        try PolicyFile(network: net, head: .tanhGaussian, actionScale: [2]).save(path: path)
    }

    @Test("run --duration 8 on the emulator writes the run directory, dataset and report, and stops the emulator")
    func endToEnd() throws {
        let dir = Self.scratch("e2e")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let robotctl = builtProduct("robotctl")
        let run = dir + "/run"
        let result = try runProcess(
            robotctl, ["run", "--duration", "8", "--pretrain-updates", "300", "--run-directory", run, "--calibration", Self.calibration],
            currentDirectory: dir, timeout: 90)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        for name in ["run.json", "episodes.csv", "policy_swaps.csv", "trainer_metrics.csv", "events.csv", "loop_timing.json",
                     "report.html", "policy.safetensors", "dataset/schema.json"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + name), "\(name) missing")
        }
        // Status line and summary.
        #expect(result.stderr.contains("simulator pre-training"))
        #expect(result.stderr.contains(" Hz  jitter p99 "))
        #expect(result.stdout.contains("run: "))
        #expect(result.stdout.contains("report: \(run)/report.html"))
        // The emulated robot's differences from its robot file are stated (a weaker motor than the simulator's).
        #expect(result.stdout.contains("emulated robot: ") && result.stdout.contains("j0.gain=0.7"))
        // The simulator-trained agent was cached for the next run.
        let cache = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs/cache")
        #expect(cache.contains { $0.hasPrefix("pendulum-swingup-sim-agent-") })
        // run.json parses and has the summary; the report names the run.
        let info = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as? [String: Any])
        let summary = try #require(info["summary"] as? [String: Any])
        let ticks = try #require(summary["ticks"] as? Int)
        #expect(ticks > 8 * 150)
        let config = try #require(info["config"] as? [String: Any])
        #expect((config["emulator_parameters"] as? String)?.contains("j0.gain=0.7") == true)
        #expect(config["decision_ticks"] as? Int == 10)
        #expect(try String(contentsOfFile: run + "/report.html", encoding: .utf8).contains("<svg"))
        // The dataset reopens and holds the recorded ticks.
        let reader = try DatasetReader(directory: run + "/dataset")
        #expect(reader.schema.task == "pendulum-swingup" && reader.schema.controlRateHz == 200)
        #expect(reader.schema.observation.map(\.name) == ["cos_pendulum", "sin_pendulum", "pendulum_dot"])
        #expect(reader.transitionCount > 500)
        #expect(reader.droppedBytes == 0)
        // The saved policy loads.
        _ = try PolicyFile.load(path: run + "/policy.safetensors")
        // The emulator robotctl started is gone.
        let line = try #require(result.stderr.split(separator: "\n").first { $0.contains("robot-emulator pid ") })
        let pid = try #require(line.split(separator: "pid ").last?.split(separator: ",").first.flatMap { Int32($0) })
        #expect(kill(pid, 0) != 0)
    }

    static func expectOneLineFailure(_ result: ProcessResult, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status != 0, sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(mentioning), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
    }

    static func nothingWritten(_ dir: String) -> Bool {
        let items = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return items.allSatisfy { !$0.hasPrefix("run") }
    }

    @Test("a missing policy file is one line naming it, non-zero, nothing written")
    func missingPolicy() throws {
        let dir = Self.scratch("nopolicy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try runProcess(builtProduct("robotctl"), ["run", "--policy", dir + "/absent.safetensors", "--duration", "1"],
                                    currentDirectory: dir)
        Self.expectOneLineFailure(result, mentioning: "absent.safetensors")
        #expect(Self.nothingWritten(dir))
    }

    @Test("a policy of the wrong shape is one line naming the file and the fix")
    func wrongShape() throws {
        let dir = Self.scratch("shape")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writePolicy(dir + "/four.safetensors", observations: 4)
        let result = try runProcess(builtProduct("robotctl"), ["run", "--policy", dir + "/four.safetensors", "--duration", "1"],
                                    currentDirectory: dir)
        Self.expectOneLineFailure(result, mentioning: "four.safetensors")
        #expect(result.stderr.contains("4 observations"))
        #expect(Self.nothingWritten(dir))
    }

    @Test("a corrupt calibration is one line naming the file")
    func corruptCalibration() throws {
        let dir = Self.scratch("calib")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "{ not json".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        let result = try runProcess(builtProduct("robotctl"), ["run", "--calibration", dir + "/bad.json", "--duration", "1"],
                                    currentDirectory: dir)
        Self.expectOneLineFailure(result, mentioning: "bad.json")
        #expect(Self.nothingWritten(dir))
    }

    /// The shipped pendulum robot file with `link` replaced (a real device) and no emulator section.
    static func pendulumRobotFile(link: String) throws -> String {
        let root = (calibration as NSString).deletingLastPathComponent.replacingOccurrences(of: "/calibration", with: "")
        var text = try String(contentsOfFile: root + "/robots/pendulum.json", encoding: .utf8)
        let start = text.range(of: #""link": { "bus""#)!.lowerBound
        text = String(text[..<start]) + link + ",\n  \"calibration\": \"\(calibration)\"\n}\n"
        return text
    }

    @Test("a robot file whose serial port does not exist is one line naming the port")
    func missingPort() throws {
        let dir = Self.scratch("port")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writePolicy(dir + "/p.safetensors")
        let config = try Self.pendulumRobotFile(link: #""link": { "bus": "firmware", "port": "/dev/ttyNOPE9", "baud": 115200 }"#)
        try config.write(toFile: dir + "/robot.json", atomically: true, encoding: .utf8)
        let root = (Self.calibration as NSString).deletingLastPathComponent.replacingOccurrences(of: "/calibration", with: "")
        let result = try runProcess(builtProduct("robotctl"), ["run", "--robot", dir + "/robot.json", "--task", root + "/tasks/pendulum-swingup.json", "--policy", dir + "/p.safetensors", "--duration", "1"],
                                    currentDirectory: dir)
        Self.expectOneLineFailure(result, mentioning: "/dev/ttyNOPE9")
        #expect(Self.nothingWritten(dir))
    }

    @Test("a robot file with a bad field names the file and the field")
    func badRobotConfigField() throws {
        let dir = Self.scratch("field")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.pendulumRobotFile(link: #""link": { "bus": "firmware", "port": "/dev/ttyUSB0", "baud": -5 }"#)
            .write(toFile: dir + "/robot.json", atomically: true, encoding: .utf8)
        let result = try runProcess(builtProduct("robotctl"), ["run", "--robot", dir + "/robot.json", "--task", "x.json", "--duration", "1"], currentDirectory: dir)
        Self.expectOneLineFailure(result, mentioning: "link.baud")
        #expect(result.stderr.contains("robot.json"))
        #expect(Self.nothingWritten(dir))
    }

    @Test("a malformed or unknown --emulator-param is one line naming it, non-zero, nothing written")
    func badEmulatorParameter() throws {
        let dir = Self.scratch("emuparam")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writePolicy(dir + "/p.safetensors")
        let malformed = try runProcess(builtProduct("robotctl"), ["run", "--policy", dir + "/p.safetensors", "--emulator-param", "gain", "--duration", "1"],
                                       currentDirectory: dir)
        #expect(malformed.status != 0)
        #expect(malformed.stderr.contains("--emulator-param gain: expected NAME=VALUE"), "stderr: \(malformed.stderr)")
        let unknown = try runProcess(builtProduct("robotctl"), ["run", "--policy", dir + "/p.safetensors", "--emulator-param", "nosuch=1", "--duration", "1",
                                                               "--calibration", Self.calibration], currentDirectory: dir, timeout: 30)
        Self.expectOneLineFailure(unknown, mentioning: "nosuch")
        #expect(Self.nothingWritten(dir))
    }

    @Test("eval runs deterministic episodes on the emulator and prints return statistics")
    func evalStatistics() throws {
        let dir = Self.scratch("eval")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writePolicy(dir + "/p.safetensors")
        let result = try runProcess(
            builtProduct("robotctl"), ["eval", "--policy", dir + "/p.safetensors", "--episodes", "1", "--json", "--calibration", Self.calibration],
            currentDirectory: dir, timeout: 60)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let obj = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(obj["episodes"] as? Int == 1)
        #expect(obj["decision_ticks"] as? Int == 10)
        #expect((obj["robot"] as? String)?.hasPrefix("emulated: ") == true && (obj["robot"] as? String)?.contains("j0.gain=0.7") == true)
        let mean = try #require(obj["mean"] as? Double)
        #expect(mean < 0 && mean > -5000)
        #expect(obj["std"] as? Double == 0)
    }
}
