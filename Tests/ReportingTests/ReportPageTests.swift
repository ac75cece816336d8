import Foundation
import Testing

@testable import Reporting

/// A temporary directory with the given files.
func directory(with files: [String: String]) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-page-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for (name, text) in files {
        try text.write(toFile: (dir as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    return dir
}

/// `count` records of a one-joint pendulum: episodes of `perEpisode` ticks, the angle swinging
/// with an amplitude that grows by episode, one exploring episode when asked.
func pendulumStreams(episodes: Int, perEpisode: Int, gapTicks: UInt64 = 40) -> RecordedStreams {
    var s = RecordedStreams(
        directory: "/data/teleop", robotID: "emulated-pendulum", task: "pendulum", source: "teleop", controlRateHz: 200,
        rewardDefinition: "-(theta^2 + 0.1 theta_dot^2 + 0.001 u^2)",
        observationChannels: [StreamChannel(name: "cos_theta", unit: "1"), StreamChannel(name: "sin_theta", unit: "1"),
                              StreamChannel(name: "theta_dot", unit: "rad/s")],
        actionChannels: [StreamChannel(name: "torque", unit: "1 (x 2 N*m)")])
    var tick: UInt64 = 0
    for e in 0..<episodes {
        for k in 0..<perEpisode {
            let theta = Double(e + 1) * 0.3 * sin(Double(k) / 20)
            var flags: UInt32 = k == 0 ? RecordFlag.episodeStart : 0
            if k == perEpisode - 1 { flags |= RecordFlag.timeout }
            s.append(timestampNanos: 1_000_000_000 + tick * 5_000_000, tick: tick, episode: UInt32(e), policyVersion: UInt64(e / 2 + 1),
                     flags: flags, reward: Float(-theta * theta), droppedBefore: 0,
                     observation: [Float(cos(theta)), Float(sin(theta)), Float(cos(Double(k) / 20))], action: [Float(sin(Double(k) / 7))])
            tick += 1
        }
        tick += gapTicks  // the unrecorded reset
    }
    return s
}

@Test("the headline draws the ceiling when run.json gives one, and says so when it does not")
func headlineCeiling() throws {
    let episodes = "episode,start_s,end_s,ticks,return,policy_version\n0,0,10,2000,-600,1\n1,12,22,2000,-400,1\n"
    let with = try directory(with: [RunFiles.runInfo: #"{"command": "run", "summary": {"ceiling": -150.5, "ceiling_source": "oracle swing-up on the emulated plant", "return_first_mean": -600, "return_first_std": 3}}"#,
                                    RunFiles.episodes: episodes])
    let run = try RunData.load(directory: with)
    #expect(run.ceiling == -150.5)
    let html = renderRunReport(run)
    #expect(html.contains("ceiling -150.5"))
    #expect(html.contains("stroke-dasharray=\"6,4\""))
    #expect(html.contains("oracle swing-up on the emulated plant"))
    // The summary reads as a table of figures with meanings, not config keys.
    #expect(html.contains("Return of the starting policy") && html.contains("-600 ± 3"))
    let without = renderRunReport(try RunData.load(directory: try directory(with: [RunFiles.episodes: episodes])))
    #expect(!without.contains("ceiling -"))
    #expect(without.contains("states no ceiling"))
    let bad = try directory(with: [RunFiles.runInfo: #"{"summary": {"ceiling": "high"}}"#])
    #expect(throws: ReportError.self) { _ = try RunData.load(directory: bad) }
}

@Test("loop-timing histograms use a log axis cut at the maximum, with p50, p99 and max marked")
func logTimingHistogram() throws {
    // The stored edges end at 1e9 µs; the data stop at 80 µs.
    let edges: [Double] = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 1e9]
    let counts: [UInt64] = [0, 0, 10, 500, 4000, 300, 20, 3, 0, 0, 0]
    let svg = logHistogramSVG(title: "wake", xLabel: "µs", edges: edges, counts: counts, maxValue: 180,
                              markers: [ChartMarker(x: 12, label: "p50 12 µs"), ChartMarker(x: 60, label: "p99 60 µs"),
                                        ChartMarker(x: 180, label: "max 180 µs")])
    #expect(svg.contains("log scale"))
    #expect(svg.contains("p50 12 µs") && svg.contains("p99 60 µs") && svg.contains("max 180 µs"))
    #expect(svg.components(separatedBy: "class=\"data\"").count - 1 == 6)
    // Every bar is wide enough to see: on a linear axis to 1e9 they would be < 0.001 px.
    let widths = svg.components(separatedBy: "<rect class=\"data\"").dropFirst().compactMap { part -> Double? in
        guard let r = part.range(of: "width=\""), let end = part[r.upperBound...].firstIndex(of: "\"") else { return nil }
        return Double(part[r.upperBound..<end])
    }
    #expect(widths.count == 6 && widths.allSatisfy { $0 > 20 })
    // x-axis decade labels (at y 328) stop at the data: 10 and 100 µs, not 1000 µs or beyond.
    #expect(svg.contains("y=\"328\" text-anchor=\"middle\">100<") && svg.contains("y=\"328\" text-anchor=\"middle\">10<"))
    #expect(!svg.contains("y=\"328\" text-anchor=\"middle\">1000<"))
}

@Test("repeated events fold into one row with their count and time span")
func eventFolding() throws {
    var rows = "time_s,tick,kind,detail\n1.0,200,simulator_calibrated,fit\n"
    for i in 0..<180 { rows += "\(10 + i),\(2000 + i * 200),policy_rejected,\"v\(i + 2) returned -700, below the running v1\"\n" }
    rows += "300.5,60000,safety_stop,watchdog\n"
    let dir = try directory(with: [RunFiles.events: rows])
    let html = renderRunReport(try RunData.load(directory: dir))
    #expect(html.contains("policy_rejected ×180 between 10 s and 189 s"))
    #expect(html.components(separatedBy: "policy_rejected").count - 1 < 10)
    #expect(html.contains("safety_stop") && html.contains("simulator_calibrated"))
    // The timeline has one row per kind, each with its count.
    #expect(html.contains("policy_rejected (180)") && html.contains("safety_stop (1)"))
    let folded = foldEvents([(1, "a", "x"), (2, "a", "y"), (3, "b", "z"), (4, "a", "w")])
    #expect(folded.map(\.count) == [2, 1, 1])
    #expect(folded[0].firstDetail == "x" && folded[0].lastDetail == "y")
}

@Test("trainer charts carry human titles, units and CleanRL namespaces")
func trainerChartTitles() throws {
    let dir = try directory(with: [
        RunFiles.trainerMetrics: "step,time_s,losses/critic,charts/alpha,buffers/real,custom/thing\n0,1,5,1,100,3\n1,2,4,0.5,200,2\n"
    ])
    let html = renderRunReport(try RunData.load(directory: dir))
    #expect(html.contains("Critic loss — losses/critic") && html.contains("loss (squared TD error)"))
    #expect(html.contains("Entropy temperature α — charts/alpha"))
    #expect(html.contains("Losses (losses/…)") && html.contains("Charts (charts/…)") && html.contains("Replay buffers (buffers/…)"))
    #expect(html.contains("Other metrics") && html.contains("custom/thing"))
}

@Test("a train directory renders its epoch curves and settings")
func trainDirectory() throws {
    let dir = try directory(with: [
        RunFiles.trainConfig: #"{"algorithm": "h2o+", "preset": "robot", "seed": "1"}"#,
        RunFiles.trainMetrics: "epoch,updates,sim_transitions,losses/critic,charts/eval_return\n1,1000,1000,3.5,\n2,2000,2000,2.5,-900\n3,3000,3000,2.0,-600\n",
    ])
    let run = try RunData.load(directory: dir)
    #expect(run.isReportable)
    let html = renderRunReport(run)
    #expect(html.contains("Training report"))
    #expect(html.contains("Evaluation return over training"))
    #expect(html.contains("Last evaluation return") && html.contains("-600"))
    #expect(html.contains("Critic loss"))
    #expect(!html.contains("no data"))
}

@Test("an eval directory renders its returns; an empty directory is nothing to report")
func evalAndEmptyDirectories() throws {
    let dir = try directory(with: [RunFiles.evalResult: #"{"policy": "p.safetensors", "robot": "emulated", "returns": [-510, -505, -500], "mean": -505, "std": 4.08}"#])
    let html = renderRunReport(try RunData.load(directory: dir))
    #expect(html.contains("Evaluation report") && html.contains("-505 ± 4.08"))
    #expect(html.contains("Evaluation: return per episode"))
    let empty = try directory(with: ["notes.txt": "hello"])
    let run = try RunData.load(directory: empty)
    #expect(!run.isReportable)
    let message = ReportError.nothingToReport(empty).description
    #expect(message.hasPrefix(empty) && !message.contains("\n") && message.contains("robotctl run"))
}

@Test("a recording renders per-episode reward sums and the first and last episode's joints overlaid")
func recordingTrajectories() throws {
    let dir = try directory(with: [RunFiles.datasetSchema: "{}"])
    var run = try RunData.load(directory: dir)
    #expect(run.datasetDirectory == dir)
    run.recorded = pendulumStreams(episodes: 4, perEpisode: 100)
    let html = renderRunReport(run)
    #expect(html.contains("Recording report"))
    #expect(html.contains("Sum of recorded rewards per episode"))
    #expect(html.contains("Joint theta: position (angle, unwrapped)") && html.contains("Joint theta: velocity"))
    #expect(html.contains("first: episode 0 (policy v1)") && html.contains("last: episode 3 (policy v2)"))
    #expect(html.contains("Action torque"))
    #expect(!html.contains("no data"))
}

@Test("joints come from X, cos_X/sin_X and X_dot channels; angles are atan2(sin, cos)")
func jointDerivation() {
    var s = RecordedStreams(
        directory: "d", robotID: "r", task: "cartpole", source: "real", controlRateHz: 100, rewardDefinition: "",
        observationChannels: ["x", "x_dot", "cos_theta", "sin_theta", "theta_dot", "imu"].map { StreamChannel(name: $0, unit: "u") },
        actionChannels: [StreamChannel(name: "force", unit: "1")])
    s.append(timestampNanos: 0, tick: 0, episode: 0, policyVersion: 1, flags: RecordFlag.episodeStart, reward: 0, droppedBefore: 0,
             observation: [0.5, 1.5, Float(cos(2.0)), Float(sin(2.0)), -3, 9], action: [0])
    let j = s.joints
    #expect(j.map(\.name) == ["x", "theta"])
    #expect(s.position(j[0], 0) == 0.5 && s.velocity(j[0], 0) == 1.5)
    #expect(abs(s.position(j[1], 0) - 2.0) < 1e-6 && s.velocity(j[1], 0) == -3)
    #expect(j[1].positionUnit == "rad")
}

@Test("episode ranges split at episode changes and episode starts")
func episodeRanges() {
    let s = pendulumStreams(episodes: 3, perEpisode: 65)
    #expect(s.episodeRanges.map(\.range) == [0..<65, 65..<130, 130..<195])
    let e = s.episodes
    #expect(e.count == 3 && e.allSatisfy(\.complete))
    #expect(abs(e[0].endSeconds - 64 * 0.005) < 1e-9)
    #expect(RecordedStreams(directory: "", robotID: "", task: "", source: "", controlRateHz: 1, rewardDefinition: "",
                            observationChannels: [], actionChannels: []).episodeRanges.isEmpty)
}

@Test("a run whose dataset was moved says where it looked")
func missingDataset() throws {
    let dir = try directory(with: [RunFiles.runInfo: #"{"command": "run", "config": {"dataset": "/nonexistent/dataset"}}"#])
    let run = try RunData.load(directory: dir)
    #expect(run.datasetDirectory == nil && run.missingDataset == "/nonexistent/dataset")
    #expect(renderRunReport(run).contains("/nonexistent/dataset) is not there"))
}

@Test("angles are unwrapped across ±π, and tick labels keep enough decimals for a narrow range")
func unwrapAndTickLabels() {
    let u = unwrapped([3.0, -3.0, -2.9, .nan, 3.1, 0.1])
    #expect(abs(u[1] - (2 * .pi - 3)) < 1e-12 && abs(u[2] - (2 * .pi - 2.9)) < 1e-12)
    #expect(u[3].isNaN && abs(u[4] - 3.1) < 1e-12 && u[5] == 0.1)
    let ticks = niceTicks(low: -1974.2, high: -1973.8)
    let labels = ticks.map(tickFormatter(ticks))
    #expect(Set(labels).count == ticks.count, "\(labels)")
    #expect(tickFormatter([0, 200, 400])(200) == "200")
}
