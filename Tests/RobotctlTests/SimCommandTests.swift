import FixedNN
import Foundation
import Testing
import TestSupport

@Suite("robotctl sim and train take robot and task files")
struct SimCommandTests {
    private func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sim-cmd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("from another working directory: the default files are found, a rollout of the acrobot files writes its arrays")
    func rolloutFromAnywhere() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let robotctl = builtProduct("robotctl")
        let params = try runProcess(robotctl, ["sim", "params"], currentDirectory: dir)
        #expect(params.status == 0, "\(params.stderr)")
        #expect(params.stdout.contains("pendulum.mass") && params.stdout.contains("latency_ticks"))
        try NumpyArchive.writeNPY(NumpyArray([0.3, -0.2, 0, 0] as [Double], shape: [4]), path: dir + "/init.npy")
        try NumpyArchive.writeNPY(NumpyArray([Float](repeating: 1, count: 5), shape: [5]), path: dir + "/actions.npy")
        let r = try runProcess(
            robotctl,
            [
                "sim", "rollout", "--robot", "robots/acrobot.json", "--task", "tasks/acrobot-swingup.json", "--param", "mass=1.1",
                "--init", "init.npy", "--actions", "actions.npy", "--out", "out.npz",
            ], currentDirectory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let out = try NumpyArchive.readNPZ(path: dir + "/out.npz")
        let observations = try #require(out["observations"])
        #expect(observations.shape == [6, 6])
        let states = try #require(out["states"])
        #expect(states.shape == [6, 4])
    }

    @Test("bad files and parameters are one line each and a non-zero exit")
    func errors() throws {
        let robotctl = builtProduct("robotctl")
        let cases: [([String], String)] = [
            (["sim", "params", "--robot", "robots/none.json"], "robots/none.json"),
            (["sim", "params", "--robot", "robots/acrobot.json"], "tasks/pendulum-swingup.json"),  // task for another robot
            (["sim", "params", "--param", "wrist.mass=1"], "wrist.mass"),
            (["train", "--robot", "robots/none.json", "--epochs", "1"], "robots/none.json"),
        ]
        for (arguments, named) in cases {
            let r = try runProcess(robotctl, arguments)
            #expect(r.status != 0, "\(arguments) succeeded")
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            #expect(lines.count == 1 && lines[0].contains(named), "\(arguments): \(r.stderr)")
        }
    }

    @Test("bench sim measures the shipped files (one decision per step) and accepts a pair of files")
    func bench() throws {
        let r = try runProcess(
            builtProduct("robotctl"),
            ["bench", "sim", "--json", "--seconds", "0.01", "--repeats", "1", "--lanes", "8", "--only", "pendulum/file,acrobot/file"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let names = rows.compactMap { $0["name"] as? String }
        #expect(names == ["pendulum/file", "pendulum/file-batch", "acrobot/file", "acrobot/file-batch"])
        #expect(rows.first?["control_ticks_per_step"] as? Int == 10)
        let one = try runProcess(
            builtProduct("robotctl"),
            ["sim", "bench", "--seconds", "0.01", "--repeats", "1", "--lanes", "8", "--robot", "robots/cartpole.json", "--task", "tasks/cartpole-balance.json", "--only", "cartpole-balance/file"])
        #expect(one.status == 0 && one.stdout.contains("cartpole-balance/file"), "\(one.stderr)")
    }
}
