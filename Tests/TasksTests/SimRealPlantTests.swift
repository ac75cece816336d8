import Control
import Testing
import TestSupport

@testable import Tasks

@Suite("The real plant (C) stepped directly")
struct SimRealPlantTests {
    @Test("names every parameter, rejects unknown and out-of-range ones")
    func parameters() throws {
        let names = RealPlant.parameterNames.map(\.name)
        #expect(names.contains("coulomb") && names.contains("latency_ticks"))
        #expect(throws: RealPlantError.self) {
            _ = try RealPlant(kind: .pendulum, parameters: ["nope": 1], seed: 1)
        }
        #expect(throws: RealPlantError.self) {
            _ = try RealPlant(kind: .pendulum, parameters: ["mass": -1], seed: 1)
        }
        let plant = try RealPlant(kind: .pendulum, parameters: ["coulomb": 0.2], seed: 1)
        #expect(plant.parameter("coulomb") == 0.2)
        #expect(plant.jointCount == 1)
    }

    @Test("mirrors the firmware's windowed, fixed-point velocity filter")
    func velocityFilter() {
        var f = FirmwareVelocityFilter(shift: 2, window: 4)
        var counts: Int32 = 0
        var v: Int32 = 0
        for _ in 0..<100 {
            counts += 3  // 3 counts per ms = 3000 counts/s
            v = f.update(counts: counts, dtMicros: 1000)
        }
        #expect(v == 3000)
        var g = FirmwareVelocityFilter(shift: 2, window: 4)
        _ = g.update(counts: 2, dtMicros: 1000)  // one tick back: raw 2000, v16 = 32000/4
        #expect(g.countsPerSecond == 500)
        _ = g.update(counts: 2, dtMicros: 1000)  // two ticks back: raw 1000
        #expect(g.countsPerSecond == 625)  // v16 = 8000 + round((16000 - 8000) / 4) = 10000
        var h = FirmwareVelocityFilter(shift: 0, window: 1)
        #expect(h.update(counts: -7, dtMicros: 1000) == -7000)
        // One count over the 4-tick window is 250 counts/s before the low-pass.
        var k = FirmwareVelocityFilter(shift: 0, window: 4)
        for c: Int32 in [0, 0, 0, 0] { _ = k.update(counts: c, dtMicros: 1000) }
        #expect(k.update(counts: 1, dtMicros: 1000) == 250)
    }

    @Test("the environment sees the plant through the task: quantised, filtered, with the task's reward")
    func environment() throws {
        let task = PendulumTask(parameters: .rate200Hz)
        var env = try RealPlantEnvironment(task: task, seed: 5)
        var obs = [Float](repeating: 0, count: 3)
        env.reset(observation: &obs)
        #expect(obs[0] < -0.99)  // hanging: cos θ ≈ −1
        var action: Float = 1
        var total = 0.0
        var previous = obs
        for _ in 0..<200 {
            let outcome = env.step(action: &action, observation: &obs)
            let expected = task.reward(observation: previous, action: &action)
            #expect(abs(outcome.reward - Double(expected)) < 1e-6)
            total += outcome.reward
            previous = obs
        }
        #expect(total < 0)
        // Positions are whole encoder counts.
        let counts = Double(env.plant.encoderCounts(0))
        #expect(abs(Double(env.robotState.position[0]) - counts * 2 * Double.pi / 4096) < 1e-5)
    }

    @Test("the swing-up controller brings both the nominal simulator and the real plant upright")
    func swingUpBothDomains() throws {
        let task = PendulumTask(parameters: .rate200Hz)
        let controller = PendulumSwingUpController(task: task)
        var sim = SimEnvironment(task: task, seed: 6)
        var real = try RealPlantEnvironment(task: task, seed: 6)
        var obs = [Float](repeating: 0, count: 3)
        sim.reset(to: .init(theta: Double.pi, thetaDot: 0), observation: &obs)
        var upright = 0
        for _ in 0..<task.episodeTicks {
            var a = controller.action(observation: obs)
            _ = sim.step(action: &a, observation: &obs)
            if obs[0] > 0.95 { upright += 1 }
        }
        #expect(upright > task.episodeTicks / 3, "nominal simulator upright for \(upright) ticks")
        real.reset(observation: &obs)
        upright = 0
        for _ in 0..<task.episodeTicks {
            var a = controller.action(observation: obs)
            _ = real.step(action: &a, observation: &obs)
            if obs[0] > 0.95 { upright += 1 }
        }
        #expect(upright > task.episodeTicks / 3, "real plant upright for \(upright) ticks")
    }

    @Test("stepping the real plant environment allocates nothing")
    func noAllocation() throws {
        var env = try RealPlantEnvironment(task: CartPoleTask(), seed: 7)
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: 5)
        defer { obs.deallocate() }
        let action = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { action.deallocate() }
        action.pointee = 0.2
        env.reset(observation: obs)
        let count = allocationsOnThisThread {
            for _ in 0..<5000 {
                let o = env.step(action: action, observation: obs)
                if o.terminated || o.truncated { env.reset(observation: obs) }
            }
        }
        #expect(count == 0)
    }
}
