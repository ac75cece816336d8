import Control
import Foundation
import H2OTrainer
import Tasks
import Testing
import TestSupport

private func scratch(_ tag: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A pendulum dataset made by the onboard simulator itself (so replaying it with the nominal
/// simulator has no gap): 3 episodes of 200 ticks, the middle one discarded by a redo.
private func simulatedPendulumDataset(_ dir: String) throws {
    let task = PendulumTask(parameters: .rate200Hz)
    let writer = try DatasetWriter(directory: dir, schema: task.datasetSchema(robotID: "emulated-pendulum", calibrationHash: "", source: "teleop"))
    let table = try EpisodeTableWriter(directory: dir)
    var random = SimRandom(seed: 3)
    var tick: UInt64 = 0
    for episode in 0..<3 {
        var state = PendulumTask.SimState(theta: Double.pi - 0.3 * Double(episode + 1), thetaDot: 0)
        let first = tick
        for k in 0..<200 {
            var obs = [Float](repeating: 0, count: 3)
            obs.withUnsafeMutableBufferPointer { task.observeSim(state, into: $0.baseAddress!) }
            let action: Float = k % 40 < 20 ? 0.5 : -0.5
            let reward = task.stepSim(&state, torque: task.torque(for: action), random: &random)
            var flags: TransitionFlags = [.teleop]
            if k == 0 { flags.insert(.episodeStart) }
            if k == 199 { flags.insert(.timeout) }
            try writer.append(Transition(
                header: TransitionHeader(timestampNanos: tick * 5_000_000, tick: tick, episode: UInt32(episode), flags: flags, reward: Float(reward)),
                observation: obs, action: [action]))
            tick += 1
        }
        try table.append(EpisodeEntry(
            episode: UInt32(episode), status: episode == 1 ? .discarded : .kept, reason: episode == 1 ? "redo" : "time limit",
            firstTimestampNanos: first * 5_000_000, lastTimestampNanos: (tick - 1) * 5_000_000, firstTick: first, lastTick: tick - 1,
            records: 200))
    }
    try writer.close()
}

private func errorLines(_ r: ProcessResult) -> [Substring] { r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") } }

@Suite("robotctl dataset export, import, replay and plot")
struct DatasetCommandTests {
    @Test("export skips discarded episodes; import then export gives the same archive")
    func exportImportRoundTrip() throws {
        let dir = scratch("dataset")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try simulatedPendulumDataset(dir + "/data")
        let robotctl = builtProduct("robotctl")
        let first = try runProcess(robotctl, ["dataset", "export", dir + "/data", "--output", dir + "/a.npz"])
        #expect(first.status == 0, "\(first.stderr)")
        // 2 kept episodes of 200 records, each losing its last record to the pairing.
        #expect(first.stdout.contains("wrote 398 transitions"), "\(first.stdout)")
        let imported = try runProcess(robotctl, ["dataset", "import", dir + "/a.npz", "--like", dir + "/data", "--output", dir + "/imported"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("398 transitions") && imported.stdout.contains("2 episodes"), "\(imported.stdout)")
        let second = try runProcess(robotctl, ["dataset", "export", dir + "/imported", "--output", dir + "/b.npz"])
        #expect(second.status == 0, "\(second.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.npz"))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/b.npz"))
        #expect(a == b, "the re-exported archive differs (\(a.count) vs \(b.count) bytes)")
    }

    @Test("import refuses an archive of another task and a missing file, naming the file, writing nothing")
    func importBadInput() throws {
        let dir = scratch("dataset-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try simulatedPendulumDataset(dir + "/data")
        let robotctl = builtProduct("robotctl")
        _ = try runProcess(robotctl, ["dataset", "export", dir + "/data", "--output", dir + "/a.npz"])
        // A dataset of another task: 2 observations, 1 action.
        let other = RegulationTask(jointCount: 1)
        let w = try DatasetWriter(directory: dir + "/other", schema: DatasetSchema(
            robotID: "mock", task: other.name, controlRateHz: 200, observation: other.observationChannels,
            action: other.actionChannels, rewardDefinition: other.rewardDefinition))
        try w.close()
        let mismatch = try runProcess(robotctl, ["dataset", "import", dir + "/a.npz", "--like", dir + "/other", "--output", dir + "/x"])
        #expect(mismatch.status != 0)
        #expect(errorLines(mismatch).count == 1 && errorLines(mismatch)[0].contains(dir + "/a.npz"), "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x"))
        let missing = try runProcess(robotctl, ["dataset", "import", dir + "/nope.npz", "--like", dir + "/data", "--output", dir + "/y"])
        #expect(missing.status != 0 && errorLines(missing).count == 1 && errorLines(missing)[0].contains("nope.npz"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/y"))
        // A corrupt archive.
        try Data("not a zip".utf8).write(to: URL(fileURLWithPath: dir + "/bad.npz"))
        let corrupt = try runProcess(robotctl, ["dataset", "import", dir + "/bad.npz", "--like", dir + "/data", "--output", dir + "/z"])
        #expect(corrupt.status != 0 && errorLines(corrupt).count == 1 && errorLines(corrupt)[0].contains("bad.npz"), "\(corrupt.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/z"))
        // Replay of a non-pendulum dataset names its schema.
        let replay = try runProcess(robotctl, ["dataset", "replay", dir + "/other"])
        #expect(replay.status != 0 && errorLines(replay).count == 1 && errorLines(replay)[0].contains("schema.json"), "\(replay.stderr)")
        // A missing dataset directory.
        let info = try runProcess(robotctl, ["dataset", "plot", dir + "/none", "--output", dir + "/p.html"])
        #expect(info.status != 0 && errorLines(info).count == 1 && errorLines(info)[0].contains(dir + "/none"), "\(info.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/p.html"))
    }

    @Test("replay of data made by the nominal simulator itself shows no dynamics gap")
    func replayGap() throws {
        let dir = scratch("dataset-replay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try simulatedPendulumDataset(dir + "/data")
        let r = try runProcess(builtProduct("robotctl"), ["dataset", "replay", dir + "/data", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let nominal = try #require(json["nominal"] as? [String: Any])
        #expect((nominal["steps"] as? Int) == 398)
        let speed = try #require(nominal["speed_rms_rad_s"] as? Double)
        #expect(speed < 1e-3, "speed error \(speed) rad/s for data the same simulator made")
    }

    @Test("plot writes an HTML page with the three charts and the episode starts")
    func plot() throws {
        let dir = scratch("dataset-plot")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try simulatedPendulumDataset(dir + "/data")
        let r = try runProcess(builtProduct("robotctl"), ["dataset", "plot", dir + "/data", "--output", dir + "/p.html"])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try String(contentsOfFile: dir + "/p.html", encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count == 4)
        #expect(html.contains("episode 0") && html.contains("episode 2") && !html.contains(">episode 1<"))
        #expect(html.contains("cos_theta") && html.contains("reward"))
    }
}
