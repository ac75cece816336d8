import Foundation
import Tasks
import Testing
import TestSupport

@testable import H2OTrainer

/// A shipped robot/task file pair (paths relative to the repository).
func fileTask(_ robot: String, _ task: String, _ assignments: [String] = []) throws -> FileTask {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    components.removeLast(3)  // Tests/H2OTrainerTests/SimFileTaskTests.swift
    let root = components.joined(separator: "/") + "/"
    return try FileTask.load(robotFile: root + robot, taskFile: root + task, assignments: assignments)
}

@Suite("Tasks defined by files in the trainer")
struct SimFileTaskTests {
    @Test("the acrobot files as a trainer environment: decisions, episode length, allocation-free steps")
    func environment() throws {
        let task = try fileTask("robots/acrobot.json", "tasks/acrobot-swingup.json")
        #expect(task.observationSize == 6 && task.actionSize == 1)
        #expect(task.episodeTicks == 400)  // 20 s at 20 decisions per second
        var env = SimEnvironment(task: task, seed: 3)
        var obs = [Float](repeating: 0, count: 6)
        var action: [Float] = [1]
        // Warm-up: one whole episode (one-time lazy initialisation), then count the next one.
        env.reset(observation: &obs)
        var warm = 0
        repeat {
            action[0] = warm % 20 < 10 ? 1 : -1
            warm += 1
        } while !env.step(action: action, observation: &obs).truncated
        env.reset(observation: &obs)
        var truncated = false, steps = 0
        let allocations = allocationsOnThisThread {
            while !truncated {
                action[0] = steps % 20 < 10 ? 1 : -1
                truncated = env.step(action: action, observation: &obs).truncated
                steps += 1
            }
        }
        #expect(steps == 400)
        #expect(allocations == 0)
        #expect(obs.allSatisfy { $0.isFinite })
    }

    @Test("gap parameters act on the robot file: mass scales links, joint values override, bad names are one line")
    func parameters() throws {
        let base = try fileTask("robots/acrobot.json", "tasks/acrobot-swingup.json")
        let heavy = try fileTask("robots/acrobot.json", "tasks/acrobot-swingup.json", ["mass=2", "elbow.coulomb=0.1", "actuator_gain=0.5"])
        let r = heavy.simulator.robot
        #expect(r.joints[0].body.mass == 2 * base.simulator.robot.joints[0].body.mass)
        #expect(r.joints[1].body.coulomb == 0.1)
        #expect(r.joints[1].actuator?.gain == 0.5)
        #expect(heavy.parameters.value(of: "elbow.coulomb") == 0.1)
        #expect(throws: SimError.self) { _ = try fileTask("robots/acrobot.json", "tasks/acrobot-swingup.json", ["wrist.mass=1"]) }
        #expect(throws: SimError.self) { _ = try fileTask("robots/acrobot.json", "tasks/acrobot-swingup.json", ["shoulder.gain=2"]) }
        #expect(throws: SimError.self) { _ = try fileTask("robots/acrobot.json", "tasks/acrobot-swingup.json", ["mass=-1"]) }
    }

    @Test("SAC in the file-defined pendulum simulator: 300 updates without NaN, critic loss falls")
    func trains() throws {
        let task = try fileTask("robots/pendulum.json", "tasks/pendulum-swingup.json")
        var env = SimEnvironment(task: task, seed: 7)
        let real = ReplayBuffer.randomTransitions(in: &env, count: 500, seed: 3, extraCapacity: 100)
        var h = Hyperparameters.robot
        h.gamma = task.discount
        h.evaluationEpisodes = 1
        let run = try TrainingRun(
            algorithm: .sacSim, hyperparameters: h, real: real, agent: nil,
            simEnvironment: SimEnvironment(task: task, seed: 11), evalEnvironment: SimEnvironment(task: task, seed: 13))
        run.warmUp(simSteps: 500)
        var critic: [Float] = []
        for _ in 0..<300 {
            let losses = try run.update()
            #expect(losses.firstNonFinite == nil)
            critic.append(losses.critic)
        }
        let finite = run.learner.agent.allFinite
        #expect(finite)
        let first = critic.prefix(30).reduce(0, +) / 30, last = critic.suffix(30).reduce(0, +) / 30
        #expect(last < first, "critic loss first 30 \(first), last 30 \(last)")
    }
}
