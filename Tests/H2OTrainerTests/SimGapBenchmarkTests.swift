import Testing

@testable import H2OTrainer

@Suite("Dynamics-gap benchmark")
struct SimGapBenchmarkTests {
    @Test("runs every algorithm on the real plant with reference rows and summarises over seeds")
    func smoke() throws {
        var o = GapBenchmark.Options()
        o.epochs = 1
        o.seeds = [1, 2]
        o.teleopEpisodes = 1
        o.evaluationEpisodes = 1
        o.simAssignments = ["gravity=12"]
        o.hyperparameters.updatesPerEpoch = 20
        o.hyperparameters.simStepsPerEpoch = 100
        var lines: [String] = []
        let runs = try GapBenchmark.run(o) { lines.append($0) }
        #expect(runs.count == 2 + 4 * 2)
        #expect(lines.count == runs.count)
        #expect(runs.allSatisfy { $0.realReturn.isFinite && $0.realReturn <= 0 })
        let summary = GapBenchmark.summarize(runs)
        #expect(
            summary.map(\.name) == [
                "reference/swing-up-controller", "reference/zero-torque", "h2o+", "h2o", "sac-sim",
                "iql-real",
            ])
        // The scripted controller swings up; doing nothing hangs (about -1974).
        #expect(summary[0].mean > summary[1].mean + 500)
        for s in summary.dropFirst(2) {
            #expect(s.runs == 2 && s.std >= 0 && s.min <= s.mean && s.mean <= s.max)
        }
    }

    @Test("rejects bad gap assignments before training")
    func badAssignments() {
        var o = GapBenchmark.Options()
        o.simAssignments = ["gravity=-3"]
        #expect(throws: SimError.self) { _ = try GapBenchmark.run(o) }
    }
}
