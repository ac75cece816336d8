import Foundation
import Testing
import TestSupport

@Suite("robotctl bench gap")
struct BenchGapCommandTests {
    @Test("a tiny run writes the CSV of curves, the SVG plot, the Markdown table and the JSON report")
    func tinyRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-gap-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let arguments = [
            "bench", "gap", "--task", "pendulum", "--gap", "actuator-gain", "--seeds", "2", "--methods", "sac-sim,h2o+",
            "--budget-updates", "20", "--updates-per-epoch", "10", "--sim-steps-per-epoch", "50", "--eval-every", "10",
            "--eval-episodes", "1", "--real-episodes", "1", "--behaviour-updates", "10", "--hidden-size", "16",
            "--ceiling-grid", "21", "--ceiling-actions", "5", "--out", dir + "/g",
        ]
        let r = try runProcess(builtProduct("robotctl"), arguments)
        #expect(r.status == 0, "\(r.stderr)")
        let csv = try String(contentsOfFile: dir + "/g.csv", encoding: .utf8).split(separator: "\n")
        // 2 methods × 2 seeds × points at 0, 10, 20 updates, then 3 reference rows.
        #expect(csv.count == 1 + 12 + 3 + 1)  // curves, references, the DP ceiling
        #expect(csv.last?.hasPrefix("pendulum,actuator-gain,ceiling/dynamic programming on the real plant (21×21 grid; 5 actions") == true)
        #expect(csv[1].hasPrefix("pendulum,actuator-gain,sac-sim,1,0,"))
        let svg = try String(contentsOfFile: dir + "/g.svg", encoding: .utf8)
        #expect(svg.contains("<svg") && svg.contains(">h2o+<"))
        let md = try String(contentsOfFile: dir + "/g.md", encoding: .utf8)
        #expect(md.contains("### pendulum, gap `actuator-gain`") && md.contains("actuator_gain=0.6"))
        #expect(md.contains("- Command: `robotctl " + arguments.joined(separator: " ") + "`"))
        #expect(md.contains("hidden 16"))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/g.json"))) as? [String: Any])
        #expect((json["curves"] as? [Any])?.count == 12)
    }

    @Test("unknown task, gap, method or data kind: one line naming the flag and the allowed values, exit non-zero")
    func badInputs() throws {
        let cases: [([String], [String])] = [
            (["--task", "segway"], ["--task segway", "pendulum, cartpole"]),
            (["--gap", "wind"], ["--gap wind", "none, friction, actuator-gain, mass, latency"]),
            (["--task", "cartpole", "--gap", "mass"], ["--gap mass", "none, actuator-gain, friction, pole"]),
            (["--methods", "h2o+,ppo"], ["--methods", "'ppo'", "h2o+, h2o, sac-sim, iql-real, sac-matched-sim, sac-real-oracle"]),
            (["--real-data", "expert"], ["--real-data expert", "teleop, medium, medium-replay"]),
            (["--task", "cartpole", "--real-data", "teleop"], ["--real-data teleop", "medium, medium-replay"]),
            (["--seeds", "1,x"], ["--seeds 1,x"]),
            (["--preset", "huge"], ["--preset huge", "mujoco, robot"]),
            (["--sim-reset", "upright"], ["--sim-reset upright", "task, hanging, mixed"]),
            (["--ceiling-grid", "3"], ["--ceiling-grid 3", "0 (no ceiling) or ≥ 4"]),
        ]
        for (extra, needles) in cases {
            let r = try runProcess(builtProduct("robotctl"), ["bench", "gap", "--budget-updates", "1"] + extra)
            #expect(r.status != 0, "\(extra) exited 0")
            let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count == 1, "\(extra): \(r.stderr)")
            for n in needles { #expect(r.stderr.contains(n), "\(extra): \(r.stderr)") }
        }
    }
}
