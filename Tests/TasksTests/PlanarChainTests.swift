import Foundation
import Tasks
import Testing

/// Path of a file under `Tests/Fixtures/tasks/` (golden data and the scripts that wrote it).
func tasksFixture(_ name: String) -> String {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    components.removeLast(2)  // TasksTests/PlanarChainTests.swift
    return components.joined(separator: "/") + "/Fixtures/tasks/" + name
}

private func vector(_ values: [Double]) -> JointVector {
    var v = JointVector(repeating: 0)
    for (i, x) in values.enumerated() { v[i] = x }
    return v
}

/// Gymnasium's Acrobot: two unit links hanging at q = 0, COM at the middle, I = 1 about the
/// COM, torque on the second joint only.
private func acrobot(_ f: [String: Any]) throws -> PlanarChain {
    let l1 = f["link_length_1"] as! Double, m1 = f["link_mass_1"] as! Double, m2 = f["link_mass_2"] as! Double
    let c1 = f["link_com_1"] as! Double, c2 = f["link_com_2"] as! Double, moi = f["link_moi"] as! Double
    return try PlanarChain(
        joints: [
            ChainJoint(kind: .revolute, offset: -Double.pi / 2, length: l1, com: c1, mass: m1, inertia: moi),
            ChainJoint(kind: .revolute, offset: 0, length: 1, com: c2, mass: m2, inertia: moi),
        ], gravity: f["gravity"] as! Double)
}

@Suite("Planar chain dynamics")
struct PlanarChainTests {
    @Test("Acrobot-v1: one RK4 step from 200 fresh random states × 3 torques matches Gymnasium to 1e-6")
    func acrobotParity() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: tasksFixture("gymnasium_acrobot_v1.json")))
        let f = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let chain = try acrobot(f)
        let dt = f["dt"] as! Double
        let cases = try #require(f["cases"] as? [[String: Any]])
        #expect(cases.count == 600)
        var worst = 0.0
        for c in cases {
            let s = c["state"] as! [Double], next = c["next"] as! [Double]
            var q = vector([s[0], s[1]]), qd = vector([s[2], s[3]])
            chain.step(q: &q, qd: &qd, tau: vector([0, c["torque"] as! Double]), dt: dt, integrator: .rk4)
            let got = [q[0], q[1], qd[0], qd[1]]
            for k in 0..<4 { worst = max(worst, abs(got[k] - next[k]) / max(1, abs(next[k]))) }
        }
        print("acrobot parity: worst relative difference \(worst) over \(cases.count) steps")
        #expect(worst < 1e-6)
    }

    @Test("Pendulum-v1 as a one-link chain: semi-implicit Euler reproduces Gymnasium's update")
    func pendulumParity() throws {
        // Gymnasium: θ̈ = 3g/(2l)·sin θ + 3/(m l²)·u for a uniform rod (θ = 0 upright).
        let (g, m, l, dt) = (10.0, 1.0, 1.0, 0.05)
        let chain = try PlanarChain(
            joints: [ChainJoint(kind: .revolute, offset: Double.pi / 2, length: l, com: l / 2, mass: m, inertia: m * l * l / 12)],
            gravity: g)
        var rng = SystemRandomNumberGenerator()
        var worst = 0.0
        for _ in 0..<500 {
            let th = Double.random(in: -Double.pi...Double.pi, using: &rng)
            let thd = Double.random(in: -8...8, using: &rng), u = Double.random(in: -2...2, using: &rng)
            var q = vector([th]), qd = vector([thd])
            chain.step(q: &q, qd: &qd, tau: vector([u]), dt: dt, integrator: .semiImplicitEuler)
            let newThd = thd + (3 * g / (2 * l) * sin(th) + 3.0 / (m * l * l) * u) * dt
            worst = max(worst, abs(qd[0] - newThd), abs(q[0] - (th + newThd * dt)))
        }
        #expect(worst < 1e-12)
    }

    @Test("energy is conserved without torque or friction: double pendulum, cart-pole, 3 and 8 links")
    func energyConservation() throws {
        let rod = { (l: Double) in ChainJoint(kind: .revolute, offset: 0, length: l, com: l / 2, mass: 0.7, inertia: 0.7 * l * l / 12) }
        let chains: [(String, PlanarChain, [Double], [Double])] = [
            ("double pendulum", try PlanarChain(joints: [rod(0.5), rod(0.4)], gravity: 9.81), [0.3, -1.2], [1.0, 2.0]),
            (
                "cart-pole",
                try PlanarChain(
                    joints: [
                        ChainJoint(kind: .prismatic, offset: 0, length: 0, com: 0, mass: 1.0, inertia: 0),
                        ChainJoint(kind: .revolute, offset: Double.pi / 2, length: 1.0, com: 0.5, mass: 0.1, inertia: 0.1 / 12),
                    ], gravity: 9.8), [0.2, 0.4], [-0.5, 1.5]
            ),
            ("3 links", try PlanarChain(joints: [rod(0.3), rod(0.25), rod(0.2)], gravity: 9.81), [0.1, 0.5, -0.4], [0, 1, -2]),
            (
                "slider on a rotating arm",
                try PlanarChain(
                    joints: [
                        rod(0.5),
                        ChainJoint(kind: .prismatic, offset: 0.3, length: 0.1, com: 0.05, mass: 0.4, inertia: 0.001),
                        rod(0.3),
                    ], gravity: 9.81), [0.4, 0.1, -0.3], [1, 0.2, -1]
            ),
            ("8 links", try PlanarChain(joints: Array(repeating: rod(0.125), count: 8), gravity: 9.81), [0.1, 0.2, -0.1, 0.3, 0, -0.2, 0.1, 0.05], Array(repeating: 0.5, count: 8)),
        ]
        // Energy drift over 2 s: either tiny, or the integrator's and falling as RK4's dt⁴
        // (a wrong mass matrix or bias force drifts whatever the step).
        func drift(_ chain: PlanarChain, _ q0: [Double], _ v0: [Double], dt: Double) -> (drift: Double, energy: Double) {
            var q = vector(q0), qd = vector(v0)
            let e0 = chain.energy(q: q, qd: qd)
            var worst = 0.0
            for _ in 0..<Int((2 / dt).rounded()) {
                chain.step(q: &q, qd: &qd, tau: JointVector(repeating: 0), dt: dt, integrator: .rk4)
                worst = max(worst, abs(chain.energy(q: q, qd: qd) - e0))
            }
            return (worst, e0)
        }
        for (name, chain, q0, v0) in chains {
            let coarse = drift(chain, q0, v0, dt: 0.001), fine = drift(chain, q0, v0, dt: 0.00025)
            print("energy drift \(name): \(coarse.drift) J at 1 ms, \(fine.drift) J at 0.25 ms, of \(coarse.energy)")
            let scale = max(1, abs(coarse.energy))
            #expect(fine.drift < 1e-7 * scale || fine.drift < coarse.drift / 100, "\(name)")
            #expect(fine.drift < 1e-3 * scale, "\(name)")
        }
    }

    @Test("friction dissipates: viscous decays the swing, Coulomb stops it and never reverses it")
    func friction() throws {
        let viscous = try PlanarChain(
            joints: [ChainJoint(kind: .revolute, offset: -Double.pi / 2, length: 1, com: 0.5, mass: 1, inertia: 1.0 / 12, viscous: 0.2)],
            gravity: 9.81)
        var q = vector([1.0]), qd = vector([0.0])
        let e0 = viscous.energy(q: q, qd: qd)
        for _ in 0..<20_000 { viscous.step(q: &q, qd: &qd, tau: JointVector(repeating: 0), dt: 0.001, integrator: .rk4) }
        #expect(viscous.energy(q: q, qd: qd) < e0 - 0.9 * (e0 + 9.81 * 0.5))
        // Coulomb on a horizontal slider: 1 kg at 1 m/s under 2 N stops after 0.5 s and stays.
        let slider = try PlanarChain(
            joints: [ChainJoint(kind: .prismatic, offset: 0, length: 0, com: 0, mass: 1, inertia: 0, coulomb: 2)], gravity: 9.81)
        var x = vector([0]), v = vector([1])
        var stoppedAt = -1
        for k in 0..<1000 {
            slider.step(q: &x, qd: &v, tau: JointVector(repeating: 0), dt: 0.001, integrator: .rk4)
            #expect(v[0] >= 0)
            if v[0] == 0, stoppedAt < 0 { stoppedAt = k + 1 }
        }
        #expect((495...505).contains(stoppedAt))
        #expect(abs(x[0] - 0.25) < 0.002)
    }

    @Test("unphysical chains are one-line errors")
    func badChains() {
        let ok = ChainJoint(kind: .revolute, length: 1, com: 0.5, mass: 1, inertia: 0.1)
        #expect(throws: MechanismError.self) { try PlanarChain(joints: [], gravity: 9.8) }
        #expect(throws: MechanismError.self) { try PlanarChain(joints: Array(repeating: ok, count: 9), gravity: 9.8) }
        var bad = ok
        bad.mass = -1
        #expect(throws: MechanismError.self) { try PlanarChain(joints: [bad], gravity: 9.8) }
        bad = ok
        bad.inertia = .nan
        #expect(throws: MechanismError.self) { try PlanarChain(joints: [bad], gravity: 9.8) }
        let massless = ChainJoint(kind: .revolute, length: 1, com: 0.5, mass: 0, inertia: 0)
        #expect(throws: MechanismError.self) { try PlanarChain(joints: [ok, massless], gravity: 9.8) }
    }
}
