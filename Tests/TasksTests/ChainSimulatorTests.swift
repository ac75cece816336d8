import Control
import Foundation
import Tasks
import Testing

private func load(_ robot: String, _ task: String, edit: (inout RobotSpec) -> Void = { _ in }) throws -> ChainSimulator {
    var r = try RobotSpec.load(path: repositoryFile(robot))
    edit(&r)
    let spec = try TaskSpec.load(path: repositoryFile(task), robot: r)
    return try ChainSimulator(robot: r, task: try GenericTask(robot: r, task: spec))
}

@Suite("Generic onboard simulator")
struct ChainSimulatorTests {
    @Test("a passive swing is the chain's own dynamics at the firmware rate; the robot sees quantised positions")
    func passive() throws {
        let sim = try load("robots/acrobot.json", "tasks/acrobot-swingup.json")
        var s = sim.state(q: { var v = JointVector(repeating: 0); v[0] = 0.8; v[1] = -0.4; return v }(), qd: JointVector(repeating: 0))
        var q = s.q, qd = s.qd
        let zero: [Float] = [0]
        for _ in 0..<20 {
            _ = sim.step(&s, action: zero)
            for _ in 0..<50 { sim.chain.step(q: &q, qd: &qd, tau: JointVector(repeating: 0), dt: 0.001, integrator: .rk4) }
        }
        #expect(s.q[0] == q[0] && s.q[1] == q[1] && s.qd[0] == qd[0])
        let step = 2 * Double.pi / 4096
        for i in 0..<2 {
            let k = s.measuredPosition[i] / step
            #expect(abs(k - k.rounded()) < 1e-9)
            #expect(abs(s.measuredPosition[i] - s.q[i]) <= step / 2 + 1e-12)
        }
    }

    @Test("latency: with one tick of latency the torque acts one control tick later")
    func latency() throws {
        let none = try load("robots/pendulum.json", "tasks/pendulum-swingup.json") { $0.sensing.latencyTicks = 0 }
        let one = try load("robots/pendulum.json", "tasks/pendulum-swingup.json") { $0.sensing.latencyTicks = 1 }
        var a = none.state(q: JointVector(repeating: Double.pi), qd: JointVector(repeating: 0)), b = a
        _ = none.step(&a, action: [Float(1)])
        _ = one.step(&b, action: [Float(1)])
        // 10 control ticks per decision: the delayed one was pushed for 9 ticks, not 10.
        #expect(a.qd[0] > b.qd[0] && b.qd[0] > 0)
        // Reference: 9 ticks of torque after one tick of nothing.
        let chain = none.chain
        var q = JointVector(repeating: Double.pi), qd = JointVector(repeating: 0)
        for tick in 0..<10 {
            var tau = JointVector(repeating: 0)
            tau[0] = tick == 0 ? 0 : 2
            for _ in 0..<5 { chain.step(q: &q, qd: &qd, tau: tau, dt: 0.001, integrator: .rk4) }
        }
        #expect(abs(qd[0] - b.qd[0]) < 1e-12)
    }

    @Test("the firmware velocity estimate follows a steady spin within a count per tick")
    func velocityFilter() throws {
        let sim = try load("robots/pendulum.json", "tasks/pendulum-swingup.json") { r in r.gravity = 0 }
        var s = sim.state(q: JointVector(repeating: 0), qd: { var v = JointVector(repeating: 0); v[0] = 3; return v }())
        for _ in 0..<5 { _ = sim.step(&s, action: [Float(0)]) }
        #expect(abs(s.measuredVelocity[0] - 3) < 2 * Double.pi / 4096 * 1000)
    }

    @Test("the decision reward is the sum of the task's per-tick rewards; resets follow sim_start")
    func rewardAndReset() throws {
        let sim = try load("robots/pendulum.json", "tasks/pendulum-swingup.json")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let s = sim.reset(random: &rng)
            #expect(abs(s.q[0]) <= Double.pi && abs(s.qd[0]) <= 1)
        }
        // Hanging still: every tick costs angle²·0.1 = π²/10 (× per-tick weight), 10 ticks.
        var s = sim.state(q: JointVector(repeating: Double.pi), qd: JointVector(repeating: 0))
        let (r, terminal) = sim.step(&s, action: [Float(0)])
        #expect(!terminal)
        #expect(abs(r - 10 * -0.1 * Double.pi * Double.pi) < 1e-3)
    }

    @Test("cart-pole: a pole falling past the file's bound ends the episode")
    func terminal() throws {
        let sim = try load("robots/cartpole.json", "tasks/cartpole-balance.json")
        var q = JointVector(repeating: 0)
        q[1] = 0.15
        var s = sim.state(q: q, qd: JointVector(repeating: 0))
        var ended = false
        for _ in 0..<50 where !ended { ended = sim.step(&s, action: [Float(0)]).terminal }
        #expect(ended)
    }
}
