import Control
import Foundation
import Testing

@testable import Benchmarks
import H2OTrainer
import Tasks

@Suite("Offline teleop datasets from the real plant")
struct SimTeleopDatasetTests {
    @Test("records noisy swing-up episodes that read back as D4RL transitions with the task's rewards")
    func recordAndRead() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sim-teleop-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let task = PendulumTask(parameters: .rate200Hz)
        var options = TeleopDataset.Options()
        options.episodes = 3
        options.seed = 4
        let summary = try TeleopDataset.recordPendulum(task: task, directory: directory, options: options)
        #expect(summary.records == 3 * 2001)
        let reader = try DatasetReader(directory: directory)
        #expect(reader.schema.task == "pendulum" && reader.schema.source == "teleop")
        #expect(reader.droppedBytes == 0)
        let arrays = reader.d4rlArrays()
        #expect(arrays.count == 3 * 2000)
        #expect(arrays.timeouts.filter { $0 }.count == 3)
        #expect(!arrays.terminals.contains(true))
        #expect(arrays.actions.allSatisfy { abs($0) <= 1 })
        // Rewards are the task's reward of (observation, action).
        for i in stride(from: 0, to: arrays.count, by: 97) {
            var action = arrays.actions[i]
            let obs = Array(arrays.observations[3 * i..<3 * i + 3])
            #expect(abs(task.reward(observation: obs, action: &action) - arrays.rewards[i]) < 1e-5)
        }
        // The operator swings the pendulum up: it covers the upright region, unlike doing nothing.
        let upright = stride(from: 0, to: arrays.count, by: 1).filter { arrays.observations[3 * $0] > 0.9 }
            .count
        #expect(upright > arrays.count / 4, "upright in \(upright) of \(arrays.count) ticks")
        // The noise shows: actions are not just the controller's saturated ±1.
        let interior = arrays.actions.filter { abs($0) < 0.95 }.count
        #expect(interior > arrays.count / 5)
        // Far better than hanging still (pi^2 per 0.05 s for 10 s: about -987).
        #expect(summary.returns.allSatisfy { $0 > -800 }, "returns \(summary.returns)")
    }
}
