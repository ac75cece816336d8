import Control
import Foundation
import Tasks
import Testing
import TestSupport

@testable import Tasks

private func simulator(_ robot: String, _ task: String) throws -> ChainSimulator {
    let r = try RobotSpec.load(path: repositoryFile(robot))
    let spec = try TaskSpec.load(path: repositoryFile(task), robot: r)
    return try ChainSimulator(robot: r, task: try GenericTask(robot: r, task: spec))
}

@Suite("One-joint closed form and batch stepping of the generic simulator")
struct ChainBatchTests {
    @Test("one-joint chains: the closed form equals the general Kane/Cholesky path to 1e-12 (revolute and prismatic, friction, any offset)")
    func singleJointMatchesGeneral() throws {
        var random = SystemRandomNumberGenerator()
        for kind in [ChainJoint.Kind.revolute, .prismatic] {
            for _ in 0..<200 {
                let joint = ChainJoint(
                    kind: kind, offset: .random(in: -4...4, using: &random), length: .random(in: 0.1...2, using: &random),
                    com: .random(in: 0...1, using: &random), mass: .random(in: 0.1...3, using: &random),
                    inertia: .random(in: 0...0.5, using: &random), viscous: .random(in: 0...0.3, using: &random),
                    coulomb: .random(in: 0...0.2, using: &random))
                let chain = try PlanarChain(joints: [joint], gravity: .random(in: 0...12, using: &random))
                var q = JointVector(repeating: 0), qd = JointVector(repeating: 0), tau = JointVector(repeating: 0)
                q[0] = .random(in: -10...10, using: &random)
                qd[0] = .random(in: -20...20, using: &random)
                tau[0] = .random(in: -5...5, using: &random)
                let fast = chain.accelerations(q: q, qd: qd, tau: tau)[0]
                let general = chain.generalAccelerations(q: q, qd: qd, tau: tau)[0]
                #expect(abs(fast - general) <= 1e-12 * max(1, abs(general)), "\(kind) \(joint): \(fast) vs \(general)")
                var e = JointVector(repeating: 0)
                e[0] = 1
                let zero = JointVector(repeating: 0)
                let inverse = chain.generalAccelerations(q: q, qd: zero, tau: e)[0] - chain.generalAccelerations(q: q, qd: zero, tau: zero)[0]
                #expect(abs(chain.inverseInertiaDiagonal(q: q)[0] - inverse) <= 1e-12 * max(1, abs(inverse)))
            }
        }
    }

    @Test("one-joint chains: 500 RK4 and Euler steps of the scalar path equal the general path's integration to 1e-12")
    func singleJointStepMatchesGeneral() throws {
        for kind in [ChainJoint.Kind.revolute, .prismatic] {
            let chain = try PlanarChain(
                joints: [ChainJoint(kind: kind, offset: 0.7, length: 1, com: 0.4, mass: 1.3, inertia: 0.1, viscous: 0.05, coulomb: 0.02)],
                gravity: 9.8)
            for integrator in ChainIntegrator.allCases {
                var q = JointVector(repeating: 0), qd = JointVector(repeating: 0)
                q[0] = 0.3
                qd[0] = 1.5
                var x = q[0], v = qd[0]
                let dt = 0.001
                func a(_ x: Double, _ v: Double, _ u: Double) -> Double {
                    var qq = JointVector(repeating: 0), vv = JointVector(repeating: 0), tt = JointVector(repeating: 0)
                    qq[0] = x
                    vv[0] = v
                    tt[0] = u
                    return chain.generalAccelerations(q: qq, qd: vv, tau: tt)[0]
                }
                for k in 0..<500 {
                    let u = sin(Double(k) * 0.05)
                    var tau = JointVector(repeating: 0)
                    tau[0] = u
                    chain.step(q: &q, qd: &qd, tau: tau, dt: dt, integrator: integrator)
                    switch integrator {
                    case .semiImplicitEuler:
                        v += a(x, v, u) * dt
                        x += v * dt
                    case .rk4:
                        let a1 = a(x, v, u)
                        let a2 = a(x + dt / 2 * v, v + dt / 2 * a1, u)
                        let v2 = v + dt / 2 * a1
                        let a3 = a(x + dt / 2 * v2, v + dt / 2 * a2, u)
                        let v3 = v + dt / 2 * a2
                        let a4 = a(x + dt * v3, v + dt * a3, u)
                        let v4 = v + dt * a3
                        x += dt / 6 * (v + 2 * v2 + 2 * v3 + v4)
                        v += dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4)
                    }
                    let slip = 0.02 * chain.inverseInertiaDiagonal(q: q)[0] * dt
                    v = abs(v) <= slip ? 0 : v - (v > 0 ? slip : -slip)
                }
                #expect(abs(q[0] - x) < 1e-12 && abs(qd[0] - v) < 1e-12, "\(kind) \(integrator): \(q[0]) vs \(x), \(qd[0]) vs \(v)")
            }
        }
    }

    @Test("the pendulum robot file's chain is Pendulum-v1's equation: θ̈ = 3g/(2l)·sin θ + 3u/(ml²)")
    func pendulumFileIsGymnasiumPhysics() throws {
        let sim = try simulator("robots/pendulum.json", "tasks/pendulum-swingup.json")
        for theta in stride(from: -7.0, through: 7.0, by: 0.37) {
            for u in [-2.0, -0.3, 0, 1.1, 2] {
                var q = JointVector(repeating: 0), tau = JointVector(repeating: 0)
                q[0] = theta
                tau[0] = u
                let a = sim.chain.accelerations(q: q, qd: JointVector(repeating: 0), tau: tau)[0]
                let gymnasium = 3 * 10.0 / 2 * sin(theta) + 3 * u
                #expect(abs(a - gymnasium) < 1e-6, "theta \(theta), u \(u): \(a) vs \(gymnasium)")
            }
        }
    }

    @Test("ChainBatch at 1, 63 and 65 lanes steps every lane exactly as ChainSimulator.step does, and allocates nothing")
    func batchEqualsScalar() throws {
        for (robot, task) in [("robots/pendulum.json", "tasks/pendulum-swingup.json"), ("robots/acrobot.json", "tasks/acrobot-swingup.json")] {
            let sim = try simulator(robot, task)
            for lanes in [1, 63, 65] {
                let batch = try ChainBatch(simulator: sim, count: lanes)
                var random = SimpleRandom(seed: UInt64(lanes))
                batch.reset(random: &random)
                var scalar = (0..<lanes).map { batch[$0] }
                let a = sim.task.actionSize, o = sim.task.observationSize
                var actions = [Float](repeating: 0, count: lanes * a)
                var rewards = [Double](repeating: 0, count: lanes)
                var terminals = [Bool](repeating: false, count: lanes)
                var observations = [Float](repeating: 0, count: lanes * o)
                var expected = [Float](repeating: 0, count: o)
                var allocations: UInt64 = 0
                for step in 0..<12 {
                    for i in 0..<actions.count { actions[i] = Float(sin(Double(step * 7 + i))) }
                    allocations += allocationsOnThisThread {
                        actions.withUnsafeBufferPointer { act in
                            rewards.withUnsafeMutableBufferPointer { r in
                                terminals.withUnsafeMutableBufferPointer { t in
                                    batch.step(actions: act.baseAddress!, rewards: r.baseAddress!, terminals: t.baseAddress!)
                                }
                            }
                        }
                        observations.withUnsafeMutableBufferPointer { batch.writeObservations(into: $0.baseAddress!) }
                    }
                    for i in 0..<lanes {
                        let (r, t) = actions.withUnsafeBufferPointer { sim.step(&scalar[i], action: $0.baseAddress! + i * a) }
                        #expect(rewards[i] == r && terminals[i] == t)
                        #expect(batch[i].q[0] == scalar[i].q[0] && batch[i].qd[0] == scalar[i].qd[0])
                        sim.observe(scalar[i], into: &expected)
                        #expect(Array(observations[(i * o)..<((i + 1) * o)]) == expected)
                    }
                }
                #expect(allocations == 0, "\(robot), \(lanes) lanes")
            }
        }
        #expect(throws: MechanismError.self) {
            _ = try ChainBatch(simulator: try simulator("robots/pendulum.json", "tasks/pendulum-swingup.json"), count: 0)
        }
    }
}

/// A small deterministic generator for the tests (splitmix64).
private struct SimpleRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_B9E9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
