import FixedNN
import Foundation
import Testing

@testable import H2OTrainer
import Tasks

@Suite("The one learner")
struct LearnerTests {
    @Test("the critics-only mode trains D, Q and V and leaves π, m, c and α exactly as they were")
    func criticsOnlyMode() throws {
        let run = try pendulumRun()
        let learner = run.learner
        let policy = learner.agent.policy.parameters.array, logStd = learner.agent.logStd.array
        let logAlpha = learner.agent.logAlpha.array
        let q1 = learner.agent.q1.parameters.array, value = learner.agent.value.parameters.array
        let disc = learner.agent.discriminatorSAS.parameters.array
        for _ in 0..<5 {
            let losses = learner.update(.criticsOnly)
            #expect(losses.firstNonFinite == nil)
            #expect(losses.actor == 0 && losses.alpha == 0)
        }
        #expect(learner.agent.policy.parameters.array == policy)
        #expect(learner.agent.logStd.array == logStd)
        #expect(learner.agent.logAlpha.array == logAlpha)
        #expect(learner.agent.q1.parameters.array != q1)
        #expect(learner.agent.value.parameters.array != value)
        #expect(learner.agent.discriminatorSAS.parameters.array != disc)
        // The full mode then moves the policy.
        _ = learner.update()
        #expect(learner.agent.policy.parameters.array != policy)
    }

    @Test("evaluate(in:) is the mean return of the deterministic policy, the same on every call from the same start")
    func evaluateIsDeterministic() throws {
        let run = try pendulumRun()
        var a = SimEnvironment(task: PendulumTask(), seed: 31)
        var b = SimEnvironment(task: PendulumTask(), seed: 31)
        let first = run.learner.evaluate(in: &a, episodes: 2)
        let second = run.learner.evaluate(in: &b, episodes: 2)
        #expect(first.isFinite && first == second)
        // By hand: the same episodes through `act`.
        var c = SimEnvironment(task: PendulumTask(), seed: 31)
        var o = [Float](repeating: 0, count: 3), act = [Float](repeating: 0, count: 1)
        var total = 0.0
        for _ in 0..<2 {
            o.withUnsafeMutableBufferPointer { c.reset(observation: $0.baseAddress!) }
            while true {
                o.withUnsafeBufferPointer { op in
                    act.withUnsafeMutableBufferPointer { run.learner.act(observation: op.baseAddress!, into: $0.baseAddress!, stochastic: false) }
                }
                let outcome = act.withUnsafeBufferPointer { ap in
                    o.withUnsafeMutableBufferPointer { c.step(action: ap.baseAddress!, observation: $0.baseAddress!) }
                }
                total += outcome.reward
                if outcome.terminated || outcome.truncated { break }
            }
        }
        #expect(abs(total / 2 - first) <= 1e-9 * abs(first))
    }

    @Test("the real set's observation std is the population std, also after a FIFO overwrites its oldest rows",
          arguments: [ReplayBuffer.Overflow.refuse, .overwriteOldest])
    func observationStd(overflow: ReplayBuffer.Overflow) {
        var buffer = ReplayBuffer(observationSize: 2, actionSize: 1, capacity: 63, overflow: overflow)
        var random = TrainerRandom(seed: 8)
        var rows: [[Float]] = []
        for _ in 0..<100 {
            let o: [Float] = [3 + 2 * random.normal(), -1 + 0.5 * random.normal()]
            if buffer.append(observation: o, action: [0], reward: 0, nextObservation: o, terminal: false) {
                if rows.count == 63 { rows.removeFirst() }
                rows.append(o)
            }
        }
        var std: [Float] = [0, 0]
        std.withUnsafeMutableBufferPointer { buffer.observationStandardDeviation(into: $0.baseAddress!, adding: 1e-3) }
        for j in 0..<2 {
            let column = rows.map { Double($0[j]) }
            let mean = column.reduce(0, +) / Double(column.count)
            let want = (column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(column.count)).squareRoot() + 1e-3
            #expect(abs(Double(std[j]) - want) <= 1e-5 * want, "dimension \(j): \(std[j]) vs \(want)")
        }
        #expect(abs(std[0] / std[1] - 4) < 1.5, "per-dimension, not one σ: \(std)")
    }
}
