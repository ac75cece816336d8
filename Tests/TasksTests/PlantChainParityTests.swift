import Foundation
import CPlant
import Tasks
import Testing

/// The emulated robot's chain (C, firmware-proto/plant: recursive Newton–Euler, its own RK4)
/// against the onboard simulator's `PlanarChain` (Swift: Kane's method): two independent
/// implementations of the same planar-chain physics. The C plant's extra effects (backlash,
/// friction ripple, sensor noise, latency, the motor's voltage limit and rotor inertia) are
/// turned off; what both model (rigid links, gravity, viscous and Coulomb friction, joint
/// efforts) stays on.
@Suite("CPlant chain agrees with PlanarChain")
struct PlantChainParityTests {
    /// The C plant built from `chain`, `actuated` joints driven, every extra effect off.
    private func cPlant(_ chain: PlanarChain, actuated: [Bool], q0: [Double], v0: [Double]) throws -> plant_state {
        var params = plant_params()
        plant_default_params(PLANT_CHAIN, &params)
        func set(_ name: String, _ value: Double) throws {
            let status = plant_set_param(&params, name, value)
            try #require(status == PLANT_OK, "plant_set_param \(name)=\(value): \(status)")
        }
        try set("joints", Double(chain.count))
        try set("gravity", chain.gravity)
        try set("latency_ticks", 0)
        try set("position_noise", 0)
        try set("current_noise", 0)
        for (i, j) in chain.joints.enumerated() {
            let fields: [(String, Double)] = [
                ("type", j.kind == .prismatic ? 1 : 0), ("offset", j.offset), ("length", j.length),
                ("com", j.com), ("mass", j.mass), ("inertia", j.inertia), ("viscous", j.viscous),
                ("coulomb", j.coulomb), ("friction_ripple", 0), ("backlash", 0), ("rotor_inertia", 0),
                ("actuated", actuated[i] ? 1 : 0), ("gain", 1), ("max_effort", 1e4),
                // 10 kV behind a 0.5 ohm winding: the current limit never binds, back-EMF is moot.
                ("supply_voltage", 1e4), ("resistance", 0.5), ("torque_constant", 1),
            ]
            for (field, value) in fields { try set("j\(i).\(field)", value) }
        }
        var state = plant_state()
        let status = plant_init(&state, &params, 1)
        try #require(status == PLANT_OK, "plant_init: \(status)")
        plant_reset(&state, q0, v0)
        return state
    }

    private struct Gap {
        var position = 0.0, velocity = 0.0
    }

    /// Runs both for `seconds` at the emulator's 1 kHz tick with `effort(t)` on the actuated
    /// joints; PlanarChain steps at the C plant's substep (`substep` s, RK4, force held, the
    /// Coulomb step after each). Returns the worst position and velocity differences.
    private func run(
        _ chain: PlanarChain, actuated: [Bool], q0: [Double], v0: [Double], seconds: Double, substep: Double,
        effort: (Double) -> Double
    ) throws -> Gap {
        var plant = try cPlant(chain, actuated: actuated, q0: q0, v0: v0)
        let n = chain.count
        var q = JointVector(repeating: 0), qd = JointVector(repeating: 0)
        for i in 0..<n {
            q[i] = q0[i]
            qd[i] = v0[i]
        }
        let tick = 0.001
        let inner = Int((tick / substep).rounded())
        var gap = Gap()
        for k in 0..<Int((seconds / tick).rounded()) {
            let u = effort(Double(k) * tick)
            var tau = JointVector(repeating: 0)
            for i in 0..<n where actuated[i] {
                tau[i] = u
                plant_set_command(&plant, Int32(i), u)
            }
            plant_step(&plant, tick)
            for _ in 0..<inner { chain.step(q: &q, qd: &qd, tau: tau, dt: substep, integrator: .rk4) }
            for i in 0..<n {
                gap.position = max(gap.position, abs(plant_true_position(&plant, Int32(i)) - q[i]))
                gap.velocity = max(gap.velocity, abs(plant_true_velocity(&plant, Int32(i)) - qd[i]))
            }
        }
        return gap
    }

    /// robots/acrobot.json's mechanism (Gymnasium's Acrobot links), with friction on both joints.
    private func acrobot(coulomb: Double) throws -> PlanarChain {
        try PlanarChain(
            joints: [
                ChainJoint(
                    kind: .revolute, offset: -Double.pi / 2, length: 1, com: 0.5, mass: 1, inertia: 1, viscous: 0.05,
                    coulomb: coulomb),
                ChainJoint(
                    kind: .revolute, offset: 0, length: 1, com: 0.5, mass: 1, inertia: 1, viscous: 0.02,
                    coulomb: coulomb),
            ], gravity: 9.8)
    }

    /// Gymnasium's CartPole masses: a point cart on a slider along +x, a uniform pole upright at 0.
    private func cartpole(coulomb: Double) throws -> PlanarChain {
        try PlanarChain(
            joints: [
                ChainJoint(kind: .prismatic, offset: 0, length: 0, com: 0, mass: 1, inertia: 0, viscous: 0.5, coulomb: 0.3 * coulomb),
                ChainJoint(
                    kind: .revolute, offset: Double.pi / 2, length: 1, com: 0.5, mass: 0.1, inertia: 0.1 / 12,
                    viscous: 0.002, coulomb: 0.001 * coulomb),
            ], gravity: 9.8)
    }

    // Tolerance: at the same substep both integrate the same equations with the same RK4 and
    // the same Coulomb step, so they differ only by rounding (different algorithms for M and
    // h: ~1e-15 per step), grown by the dynamics' divergence over 1 s (the acrobot is chaotic;
    // its Lyapunov growth over 1 s is well under 1e4). 1e-9 leaves that margin and would
    // still catch any modelling difference, which shows up at 1e-4 or more within 1 s.

    @Test("Acrobot-like chain, elbow driven, viscous + Coulomb: 1 s, same substep, agree to 1e-9")
    func acrobotSameSubstep() throws {
        let gap = try run(
            acrobot(coulomb: 0.02), actuated: [false, true], q0: [0.5, -0.3], v0: [0.2, 0], seconds: 1,
            substep: 0.0005, effort: { 0.8 * sin(2 * Double.pi * 1.3 * $0) })
        print("acrobot parity: worst position gap \(gap.position) rad, velocity gap \(gap.velocity) rad/s")
        #expect(gap.position < 1e-9 && gap.velocity < 1e-9)
    }

    @Test("Cart-pole-like chain, cart driven, viscous + Coulomb: 1 s, same substep, agree to 1e-9")
    func cartpoleSameSubstep() throws {
        let gap = try run(
            cartpole(coulomb: 1), actuated: [true, false], q0: [0, 0.2], v0: [0, 0], seconds: 1, substep: 0.0005,
            effort: { 5 * sin(2 * Double.pi * $0) })
        print("cart-pole parity: worst position gap \(gap.position), velocity gap \(gap.velocity)")
        #expect(gap.position < 1e-9 && gap.velocity < 1e-9)
    }

    // Without Coulomb friction (whose stick–slip step is first order in the step) the two also
    // agree when PlanarChain takes the trainer's own 1 ms steps and the C plant its 0.5 ms
    // substeps: RK4's global error ~ C·h⁴ ≈ 1e-12·C, far inside 1e-7.

    @Test("Both chains, friction viscous only: PlanarChain at 1 ms vs the C plant's 0.5 ms substeps agree to 1e-7")
    func differentSteps() throws {
        let a = try run(
            acrobot(coulomb: 0), actuated: [false, true], q0: [0.5, -0.3], v0: [0.2, 0], seconds: 1, substep: 0.001,
            effort: { 0.8 * sin(2 * Double.pi * 1.3 * $0) })
        let c = try run(
            cartpole(coulomb: 0), actuated: [true, false], q0: [0, 0.2], v0: [0, 0], seconds: 1, substep: 0.001,
            effort: { 5 * sin(2 * Double.pi * $0) })
        print("parity at 1 ms: acrobot \(a.position) rad / \(a.velocity) rad/s, cart-pole \(c.position) / \(c.velocity)")
        #expect(a.position < 1e-7 && a.velocity < 1e-7)
        #expect(c.position < 1e-7 && c.velocity < 1e-7)
    }

    /// A slider on a turning arm, then an elbow: prismatic on a moving parent (Coriolis and
    /// centripetal terms of the slide, the arm's angular acceleration), every joint driven.
    @Test("Arm with a slider and an elbow (revolute, prismatic, revolute), all driven: 1 s, agree to 1e-9")
    func sliderArm() throws {
        let chain = try PlanarChain(
            joints: [
                ChainJoint(kind: .revolute, offset: 0.3, length: 0.4, com: 0.2, mass: 1.5, inertia: 0.02, viscous: 0.03),
                ChainJoint(kind: .prismatic, offset: 0.1, length: 0.3, com: 0.15, mass: 0.7, inertia: 0.005, viscous: 0.2,
                    coulomb: 0.05),
                ChainJoint(kind: .revolute, offset: -0.4, length: 0.5, com: 0.25, mass: 0.4, inertia: 0.008, viscous: 0.01),
            ], gravity: 9.81)
        let gap = try run(
            chain, actuated: [true, true, true], q0: [0.2, 0.1, -0.5], v0: [1.0, -0.2, 0.5], seconds: 1,
            substep: 0.0005, effort: { 0.5 * cos(2 * Double.pi * 0.7 * $0) })
        print("slider arm parity: worst position gap \(gap.position), velocity gap \(gap.velocity)")
        #expect(gap.position < 1e-9 && gap.velocity < 1e-9)
    }

    @Test("The parity is not vacuous: a 1 % heavier elbow link in the C plant shows up at once")
    func detectsAModellingDifference() throws {
        let chain = try acrobot(coulomb: 0.02)
        var joints = chain.joints
        joints[1].mass *= 1.01
        let heavier = try PlanarChain(joints: joints, gravity: chain.gravity)
        // The C plant gets the heavier chain; PlanarChain the nominal one.
        var plant = try cPlant(heavier, actuated: [false, true], q0: [0.5, -0.3], v0: [0.2, 0])
        var q = JointVector(repeating: 0), qd = JointVector(repeating: 0)
        q[0] = 0.5
        q[1] = -0.3
        qd[0] = 0.2
        var worst = 0.0
        for _ in 0..<1000 {
            plant_step(&plant, 0.001)
            for _ in 0..<2 { chain.step(q: &q, qd: &qd, tau: JointVector(repeating: 0), dt: 0.0005, integrator: .rk4) }
            worst = max(worst, abs(plant_true_position(&plant, 0) - q[0]), abs(plant_true_position(&plant, 1) - q[1]))
        }
        print("1 % heavier elbow link: position gap \(worst) rad after 1 s")
        #expect(worst > 1e-4)
    }
}
