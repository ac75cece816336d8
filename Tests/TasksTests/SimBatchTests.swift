import Foundation
import Testing
import TestSupport

@testable import Tasks

@Suite("Vectorised pendulum batch")
struct SimBatchTests {
    @Test("SIMD sine and cosine agree with libm to 4e-16 over ±1e4 rad")
    func sinCosAccuracy() {
        var random = SimRandom(seed: 1)
        var worst = 0.0
        for trial in 0..<20_000 {
            var x = SIMD8<Double>()
            let scale = trial % 2 == 0 ? 4.0 : 1e4
            for k in 0..<8 { x[k] = random.uniform(-scale, scale) }
            let (s, c) = SIMDMath.sinCos(x)
            let w = SIMDMath.wrapAngle(x)
            for k in 0..<8 {
                worst = max(worst, abs(s[k] - sin(x[k])), abs(c[k] - cos(x[k])))
                #expect(abs(w[k]) <= Double.pi + 1e-12)
                #expect(abs(sin(w[k]) - sin(x[k])) < 1e-11)
            }
        }
        #expect(worst < 4e-16, "worst sin/cos error \(worst)")
    }

    @Test("every lane follows the scalar simulator (friction, gain, latency) to 1e-9 over 2000 ticks")
    func matchesScalar() throws {
        var p = PendulumParameters.rate200Hz
        try p.apply(assignments: ["damping=0.05", "coulomb=0.1", "actuator_gain=0.9", "latency_ticks=2"])
        var batch = try PendulumBatch(count: 20, parameters: p)
        #expect(batch.count == 24)
        let task = PendulumTask(parameters: p)
        var random = SimRandom(seed: 2)
        batch.reset(random: &random)
        var scalars = (0..<batch.count).map { i in
            PendulumTask.SimState(theta: batch.theta[i], thetaDot: batch.thetaDot[i])
        }
        var actions = [Float](repeating: 0, count: batch.count)
        var rewards = [Float](repeating: 0, count: batch.count)
        var obs = [Float](repeating: 0, count: 3 * batch.count)
        var worst = 0.0
        var worstReward: Float = 0
        for _ in 0..<2000 {
            for i in 0..<batch.count { actions[i] = Float(random.uniform(-1.5, 1.5)) }
            batch.step(actions: actions, rewards: &rewards)
            for i in 0..<batch.count {
                let r = task.stepSim(&scalars[i], action: &actions[i], random: &random).reward
                worstReward = max(worstReward, abs(rewards[i] - Float(r)))
                worst = max(worst, abs(scalars[i].theta - batch.theta[i]))
                worst = max(worst, abs(scalars[i].thetaDot - batch.thetaDot[i]))
            }
        }
        batch.writeObservations(into: &obs)
        for i in 0..<batch.count {
            #expect(abs(obs[3 * i] - Float(cos(scalars[i].theta))) < 1e-6)
            #expect(abs(obs[3 * i + 1] - Float(sin(scalars[i].theta))) < 1e-6)
        }
        #expect(worst < 1e-9, "worst state deviation \(worst)")
        #expect(worstReward < 1e-5)
    }

    @Test("refuses action noise instead of ignoring it")
    func noiseRefused() {
        var p = PendulumParameters.rate200Hz
        p.actionNoise = 0.1
        #expect(throws: SimError.self) { _ = try PendulumBatch(count: 8, parameters: p) }
    }

    @Test("stepping the batch allocates nothing")
    func noAllocation() throws {
        var batch = try PendulumBatch(count: 64, parameters: .rate200Hz)
        let actions = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        let rewards = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: 192)
        defer {
            actions.deallocate()
            rewards.deallocate()
            obs.deallocate()
        }
        actions.initialize(repeating: 0.5, count: 64)
        let count = allocationsOnThisThread {
            for _ in 0..<1000 {
                batch.step(actions: actions, rewards: rewards)
                batch.writeObservations(into: obs)
            }
        }
        #expect(count == 0)
    }
}
