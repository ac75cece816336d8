import FixedNN
import Foundation
import Testing
import TestSupport

@testable import H2OTrainer
import Tasks

/// A run on the onboard pendulum with `count` random-action real transitions.
func pendulumRun(_ algorithm: Algorithm = .h2oPlus, hyperparameters: Hyperparameters = .robot, realCount: Int = 1000)
    throws -> TrainingRun<SimEnvironment<PendulumTask>, SimEnvironment<PendulumTask>>
{
    let task = PendulumTask()
    var env = SimEnvironment(task: task, seed: 7)
    let real = ReplayBuffer.randomTransitions(in: &env, count: realCount, seed: 3, extraCapacity: 100)
    var h = hyperparameters
    h.gamma = task.discount
    h.evaluationEpisodes = 1
    let run = try TrainingRun(
        algorithm: algorithm, hyperparameters: h, real: real, agent: nil,
        simEnvironment: SimEnvironment(task: task, seed: 11), evalEnvironment: SimEnvironment(task: task, seed: 13))
    run.warmUp(simSteps: 500)
    return run
}

@Suite("Training on the onboard pendulum")
struct H2OTrainingTests {
    @Test("200 H2O+ updates on random pendulum data: no NaN, critic loss falls")
    func smoke() throws {
        let run = try pendulumRun()
        var critic: [Float] = []
        for _ in 0..<200 {
            let losses = try run.update()
            #expect(losses.firstNonFinite == nil)
            critic.append(losses.critic)
        }
        let first = critic.prefix(20).reduce(0, +) / 20
        let last = critic.suffix(20).reduce(0, +) / 20
        #expect(last < 0.5 * first, "critic loss: first 20 mean \(first), last 20 mean \(last)")
        let finite = run.learner.agent.allFinite
        #expect(finite)
    }

    @Test("every baseline runs 50 updates on the same code path without NaN", arguments: Algorithm.allCases)
    func baselines(algorithm: Algorithm) throws {
        let run = try pendulumRun(algorithm)
        for _ in 0..<50 {
            let losses = try run.update()
            #expect(losses.firstNonFinite == nil, "\(algorithm): \(losses)")
        }
        let finite = run.learner.agent.allFinite
        #expect(finite)
    }

    @Test("a step, batch sampling and sim collection allocate nothing after set-up", arguments: Algorithm.allCases)
    func noAllocation(algorithm: Algorithm) throws {
        let run = try pendulumRun(algorithm)
        try run.update()
        run.learner.collect(10)
        var thrown: TrainerError? = nil
        let count = allocationsOnThisThread {
            for _ in 0..<20 {
                do throws(TrainerError) { try run.update() } catch { thrown = error }
            }
            run.learner.collect(100)
        }
        #expect(thrown == nil)
        #expect(count == 0, "\(algorithm): \(count) allocations in 20 updates + 100 sim steps")
    }

    @Test("an epoch collects, updates and evaluates; the checkpoint resumes to the same agent")
    func epochAndResume() throws {
        var h = Hyperparameters.robot
        h.simStepsPerEpoch = 50
        h.updatesPerEpoch = 20
        h.evaluateEveryEpochs = 1
        let run = try pendulumRun(hyperparameters: h)
        let report = try run.runEpoch()
        #expect(report.epoch == 1 && report.updates == 20)
        #expect(report.evalReturn != nil && report.evalReturn!.isFinite)
        let file = run.checkpoint()
        #expect(file.metadata["h2o.epoch"] == "1")
        let restored = try AgentFile.agent(from: file, base: h, expect: (3, 1, 32, 256), source: "memory")
        let again = AgentFile.tensors(of: restored, algorithm: .h2oPlus, extraMetadata: ["h2o.epoch": "1"])
        #expect(again.tensors == file.tensors)
    }
}
