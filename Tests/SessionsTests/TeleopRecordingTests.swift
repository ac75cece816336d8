import Control
import Foundation
import Sessions
import Testing
import TestSupport

/// A teleop recording as `robotctl teleop` writes it: the control loop with the operator as
/// its action source, the ring drained into a dataset and the outcomes into its episode table.
@Suite("Teleop recording: dataset and episode table")
struct TeleopRecordingTests {
    @Test("next, redo and stop give kept and discarded episodes that the dataset reopens with")
    func datasetReopensWithEpisodeTable() throws {
        let task = RegulationTask(jointCount: 1, episodeTicks: 10_000)
        let robot = MockRobot(jointCount: 1, plant: .integrator(inertia: 0.1, damping: 0.5, dt: 0.005))
        try robot.configure(RobotConfiguration(mode: .torque, setpointLimit: [1]))
        let ring = TransitionRing(capacity: 4096, observationCount: 2, actionCount: 1)
        let script = ScriptedOperator(ScriptedOperator.nextRedoStop)
        let loop = try makeTeleopLoop(
            task: task, robot: robot, ring: ring, script: script, configuration: LoopConfiguration(pacing: .asFastAsPossible))
        let result = try loop.run()
        #expect(result.reasons == .requested && !result.latched)

        let dir = makeTemporaryDirectory("teleop-dataset")
        defer { removeTemporaryDirectory(dir) }
        let schema = DatasetSchema(
            robotID: "mock", task: task.name, controlRateHz: 200, observation: task.observationChannels,
            action: task.actionChannels, rewardDefinition: task.rewardDefinition, source: "teleop")
        let writer = try DatasetWriter(directory: dir + "/data", schema: schema)
        while try ring.pop({ try writer.appendPayload($0) }) {}
        try writer.close()
        let tableWriter = try EpisodeTableWriter(directory: dir + "/data")
        while let o = loop.source.outcomes.pop() { try tableWriter.append(o.entry()) }

        let reader = try DatasetReader(directory: dir + "/data")
        let table = try reader.episodeTable()
        #expect(table.entries.map(\.episode) == [0, 1, 2, 3])
        #expect(table.entries.map(\.status) == [.kept, .discarded, .discarded, .kept])
        #expect(table.entries.map(\.reason) == ["next", "redo", "redo", "stop"])
        let all = reader.transitions()
        #expect(all.count == Int(result.records))
        let kept = reader.keptTransitions(table)
        #expect(Set(kept.map(\.header.episode)) == [0, 3])
        #expect(kept.count == all.filter { $0.header.episode == 0 || $0.header.episode == 3 }.count)
        let arrays = try reader.keptD4RLArrays()
        // Each kept episode loses its last record (an operator cut has no successor).
        #expect(arrays.count == kept.count - 2)
        #expect(arrays.timeouts.filter { $0 }.count == 2)
        #expect(table.entries.map(\.records).reduce(0, +) == all.count)
    }
}
