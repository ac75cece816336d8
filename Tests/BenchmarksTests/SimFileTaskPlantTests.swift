import Benchmarks
import Control
import Foundation
import Tasks
import Testing
import TestSupport

@testable import H2OTrainer

/// The repository root (where robots/ and tasks/ live).
private var repositoryRoot: String {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    components.removeLast(3)  // Tests/BenchmarksTests/<file>
    return components.joined(separator: "/")
}

/// A shipped robot/task file pair (paths relative to the repository).
private func fileTask(_ robot: String, _ task: String, _ assignments: [String] = []) throws -> FileTask {
    try FileTask.load(robotFile: repositoryRoot + "/" + robot, taskFile: repositoryRoot + "/" + task, assignments: assignments)
}

@Suite("File tasks on the emulated plant, found from any directory")
struct SimFileTaskPlantTests {
    @Test("TaskFiles finds the shipped files from the working directory, else beside the executable, else names the path")
    func locate() throws {
        let exe = repositoryRoot + "/.build/x86_64-unknown-linux-gnu/release/robotctl"
        let found = TaskFiles.locate(TaskFiles.defaultRobot, workingDirectory: "/", executable: exe)
        #expect(found == repositoryRoot + "/robots/pendulum.json")
        #expect(TaskFiles.locate("tasks/acrobot-swingup.json", workingDirectory: repositoryRoot, executable: "/bin/true") == "tasks/acrobot-swingup.json")
        #expect(TaskFiles.locate("robots/none.json", workingDirectory: "/", executable: exe) == "robots/none.json")
        #expect(TaskFiles.locate("/abs/x.json", workingDirectory: "/", executable: exe) == "/abs/x.json")
        for pair in TaskFiles.shipped {
            let robot = TaskFiles.locate(pair.robot, workingDirectory: "/", executable: exe)
            let task = TaskFiles.locate(pair.task, workingDirectory: "/", executable: exe)
            #expect(throws: Never.self) { _ = try FileTask.load(robotFile: robot, taskFile: task) }
        }
    }

    @Test("the robot file's mechanism on the C chain plant: joints, driven joints, hanging start, N-joint commands move it")
    func plantFromRobotFile() throws {
        for pair in TaskFiles.shipped {
            let task = try fileTask(pair.robot, pair.task)
            let p = try RealPlant.chainParameters(robot: task.parameters.robot, controlRateHz: 200)
            #expect(p["joints"] == Double(task.parameters.robot.joints.count))
            var env = try RealPlantEnvironment(task: task, seed: 3)
            #expect(env.plant.jointCount == task.parameters.robot.joints.count)
            #expect(env.internalTicks == 5 && env.controlTicks == task.simulator.task.spec.controlTicksPerDecision)
            var obs = [Float](repeating: 0, count: task.observationSize)
            env.reset(observation: &obs)
            // Started where the reset leaves the robot: within the jitter of hanging (or parked).
            let start = task.realStartPositions
            for j in 0..<env.plant.jointCount {
                #expect(abs(wrapAngle(env.plant.truePosition(j) - start[j])) <= 0.05 + 1e-9, "\(pair.name) joint \(j)")
            }
            var action = [Float](repeating: 1, count: task.actionSize)
            var steps = 0
            while steps < task.episodeTicks {
                let o = env.step(action: &action, observation: &obs)
                steps += 1
                #expect(o.reward.isFinite && obs.allSatisfy { $0.isFinite })
                if o.terminated || o.truncated {
                    #expect(o.truncated == (steps == task.episodeTicks))
                    break
                }
            }
            // Full effort against none, one decision from the same start: the driven joint moves.
            let driven = task.simulator.task.spec.actions[0].joint
            var after: [Double] = []
            for u in [Float(1), 0] {
                var e = try RealPlantEnvironment(task: task, parameters: ["position_noise": 0], seed: 9)
                e.reset(observation: &obs)
                action = [Float](repeating: u, count: task.actionSize)
                _ = e.step(action: &action, observation: &obs)
                after.append(e.plant.truePosition(driven))
            }
            #expect(abs(after[0] - after[1]) > 1e-4, "\(pair.name): full effort moved the driven joint by \(after[0] - after[1])")
        }
        let pendulum = try fileTask("robots/pendulum.json", "tasks/pendulum-swingup.json")
        // The task file parks at π written to 9 digits (3.14159265).
        #expect(abs(abs(pendulum.realStartPositions[0]) - Double.pi) < 1e-6)  // hanging: q = ±π
        let cart = try RealPlant.chainParameters(
            robot: try fileTask("robots/cartpole.json", "tasks/cartpole-balance.json").parameters.robot, controlRateHz: 200)
        #expect(cart["j0.type"] == 1 && cart["j0.actuated"] == 1 && cart["j1.actuated"] == 0 && cart["j0.stop"] == 2.4)
        #expect(cart["latency_ticks"] == 5)
    }

    @Test("a file task's decision on the plant holds the action for its control ticks and sums their rewards")
    func decisionSumsTicks() throws {
        let task = try fileTask("robots/pendulum.json", "tasks/pendulum-swingup.json")
        var env = try RealPlantEnvironment(task: task, parameters: ["position_noise": 0, "current_noise": 0], seed: 5)
        var obs = [Float](repeating: 0, count: 3)
        env.reset(observation: &obs)
        let robot = env.robotState
        var expected = 0.0
        var scratch = [Float](repeating: 0, count: 3)
        task.observe(robot, into: &scratch)
        let action: [Float] = [0]
        expected += Double(task.reward(observation: scratch, action: action))
        let outcome = env.step(action: action, observation: &obs)
        // With no torque the pendulum barely moves in 50 ms from rest near hanging: ten ticks of
        // about the same per-tick reward.
        #expect(abs(outcome.reward - 10 * expected) < 0.05 * abs(10 * expected) + 1e-3)
    }

    @Test("sim collect's recorder writes one record per decision (plus a closing one) in the file task's schema")
    func collect() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s4-collect-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let task = try fileTask("robots/acrobot.json", "tasks/acrobot-swingup.json")
        var options = TeleopDataset.Options()
        options.episodes = 2
        let summary = try FileTaskDataset.record(task: task, directory: dir, options: options)
        #expect(summary.returns.count == 2)
        let reader = try DatasetReader(directory: dir)
        #expect(reader.transitionCount == summary.records)
        #expect(reader.schema.observation.map(\.name) == ["shoulder.cos", "shoulder.sin", "elbow.cos", "elbow.sin", "shoulder.velocity", "elbow.velocity"])
        #expect(reader.schema.controlRateHz == 20)
        #expect(summary.records <= 2 * (task.episodeTicks + 1) && summary.records >= 2)
    }

    @Test("training on a file task: the same robot on both sides, one epoch runs and writes a policy")
    func trainsOnFileTask() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s4-train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = Training.Options(outputDirectory: dir)
        o.epochs = 1
        o.randomRealTransitions = 300
        o.progress = false
        o.hyperparameters.simStepsPerEpoch = 64
        o.hyperparameters.updatesPerEpoch = 4
        o.hyperparameters.evaluateEveryEpochs = 1
        o.hyperparameters.evaluationEpisodes = 1
        let summary = try Training.train(task: try fileTask("robots/cartpole.json", "tasks/cartpole-balance.json"), o)
        #expect(summary.epochs == 1 && summary.lastEvalReturn?.isFinite == true)
        #expect(FileManager.default.fileExists(atPath: summary.policy))
    }
}
