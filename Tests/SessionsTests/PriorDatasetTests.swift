import Control
import Foundation
@testable import H2OTrainer
@testable import Sessions
import Testing
import TestSupport
import Tasks

/// A pendulum dataset of `episodes` episodes of 20 records each, in `dir`.
private func writeDataset(_ dir: String, schema: DatasetSchema = testSchema(), episodes: Int = 3,
                          mutate: (inout Transition) -> Void = { _ in }) throws {
    let w = try DatasetWriter(directory: dir, schema: schema)
    for e in 0..<episodes {
        for k in 0..<20 {
            let t = e * 20 + k
            var flags: TransitionFlags = k == 0 ? .episodeStart : []
            if k == 19 { flags.insert(.timeout) }
            var r = Transition(
                header: TransitionHeader(timestampNanos: UInt64(t) * 5_000_000, tick: UInt64(t), episode: UInt32(e), flags: flags,
                                         reward: -0.1),
                observation: [cosf(Float(t) * 0.01), sinf(Float(t) * 0.01), 0.1], action: [0.2])
            mutate(&r)
            try w.append(r)
        }
    }
    try w.close()
}

private func learner() -> OnlineLearner<PendulumTask> {
    let h = smallHyperparameters()
    return try! Learner(
        algorithm: .h2oPlus, hyperparameters: h, agent: H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 3),
        real: ReplayBuffer(observationSize: 3, actionSize: 1, capacity: 10_000, overflow: .overwriteOldest), simCapacity: 64,
        simEnvironment: SimEnvironment(task: PendulumTask(), seed: 4), random: TrainerRandom(seed: 4))
}

@Suite("Prior datasets and the run recorder")
struct PriorDatasetTests {
    @Test("run --dataset never trains on a discarded (redo) episode")
    func discardedEpisodesNeverReachTheTrainer() throws {
        let dir = makeTemporaryDirectory("prior-redo")
        defer { removeTemporaryDirectory(dir) }
        try writeDataset(dir)
        let l = learner()
        #expect(try StartingPolicy.loadPriorData([dir], into: l, recording: testSchema()) == 3 * 19)
        try EpisodeTableWriter(directory: dir).append(EpisodeEntry(
            episode: 1, status: .discarded, reason: "redo", firstTimestampNanos: 20 * 5_000_000, lastTimestampNanos: 39 * 5_000_000,
            firstTick: 20, lastTick: 39, records: 20))
        let l2 = learner()
        #expect(try StartingPolicy.loadPriorData([dir], into: l2, recording: testSchema()) == 2 * 19)
        #expect(l2.real.count == 2 * 19)
    }

    @Test("a prior dataset with NaN records, another robot, calibration or rate is refused with one line; nothing is fed")
    func priorDatasetsValidated() throws {
        let base = makeTemporaryDirectory("prior-bad")
        defer { removeTemporaryDirectory(base) }
        let good = base + "/good"
        try writeDataset(good)
        let nan = base + "/nan"
        try writeDataset(nan) { r in if r.header.tick % 7 == 3 { r.observation[2] = .nan } }
        var other = testSchema()
        other.robotID = "another-robot"
        let robot = base + "/robot"
        try writeDataset(robot, schema: other)
        var cal = testSchema()
        cal.calibrationHash = String(repeating: "ab", count: 32)
        let calibration = base + "/calibration"
        try writeDataset(calibration, schema: cal)
        var rate = testSchema()
        rate.controlRateHz = 100
        let slow = base + "/rate"
        try writeDataset(slow, schema: rate)
        let cases: [(String, String)] = [
            (nan, "NaN or infinite"), (robot, "robot \"another-robot\""), (calibration, "calibration hash"), (slow, "100.0 Hz"),
        ]
        for (dir, needle) in cases {
            let l = learner()
            do {
                _ = try StartingPolicy.loadPriorData([good, dir], into: l, recording: testSchema())
                Issue.record("\(dir) was accepted")
            } catch {
                let line = "\(error)"
                #expect(line.hasPrefix(dir + ":") && line.contains(needle) && !line.contains("\n"), "\(line)")
            }
            #expect(l.real.count == 0, "validation comes before any data is fed")
        }
    }

    @Test("the run recorder pairs by the one rule: what it hands the trainer is the dataset's export, and nothing pairs across ring drops")
    func recorderMatchesExport() throws {
        let dir = makeTemporaryDirectory("recorder-one-rule")
        defer { removeTemporaryDirectory(dir) }
        let ring = TransitionRing(capacity: 16, observationCount: 3, actionCount: 1)
        let recorder = RunRecorder(ring: ring, writer: try DatasetWriter(directory: dir, schema: testSchema()), startNanos: 0, feedsTrainer: true)
        var tick = 0
        for burst in 0..<12 {
            for _ in 0..<(burst % 3 == 0 ? 40 : 10) {  // every third burst overflows the ring
                let k = tick % 50
                var flags: TransitionFlags = k == 0 ? .episodeStart : []
                if k == 49 { flags.insert(.timeout) }
                ring.push(TransitionHeader(timestampNanos: UInt64(tick) * 5_000_000, tick: UInt64(tick), episode: UInt32(tick / 50),
                                           flags: flags, reward: -Float(tick)),
                          observation: [Float(tick), 0, 0], action: [0.5])
                tick += 1
            }
            recorder.drainForLoading()
        }
        #expect(ring.droppedTotal > 0)
        try recorder.writer!.close()
        let p = recorder.takeTransitions()
        let export = try DatasetReader(directory: dir).keptD4RLArrays()
        // The live side hands a transition out one decision late: all but a final waiting one agree.
        #expect(p.count == export.count || p.count == export.count - 1)
        #expect(Array(export.observations.prefix(3 * p.count)) == p.observations)
        #expect(Array(export.nextObservations.prefix(3 * p.count)) == p.nextObservations)
        #expect(Array(export.rewards.prefix(p.count)) == p.rewards)
        for i in 0..<p.count { #expect(p.nextObservations[3 * i] - p.observations[3 * i] == 1, "transition \(i) spans a gap") }
    }
}
