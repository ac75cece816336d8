import H2OTrainer
import Tasks
/// The tasks and named dynamics gaps of the gap benchmark (`robotctl bench gap`).
///
/// Two kinds of gap. Real-plant gaps: the onboard simulator is the task's nominal model (no
/// friction, ideal actuator, no latency, exact sensors) and the gap is the set of real plant
/// parameters (plant.h names) that differ from the emulated robot's reference plant; `none`
/// is the reference plant itself, which already differs from the nominal model a little (see
/// each task's `none`). The paper's kind (`sim-*`): the reference plant, and the simulator
/// edited away from it (`GapDefinition.sim`). `identical` has no gap at all: the sim domain
/// is the real plant.
public enum GapTaskName: String, CaseIterable, Sendable, Codable {
    case pendulum
    case cartpole

    /// One line for help texts.
    public var summary: String {
        switch self {
        case .pendulum:
            "torque-limited swing-up from hanging at Gymnasium's 20 Hz (dt 0.05 s, 200-step episodes, gamma 0.99)"
        case .cartpole:
            "cart-pole swing-up and balance from hanging at 50 Hz (dt 0.02 s, 500-step episodes, gamma 0.99)"
        }
    }

    /// The onboard simulator's nominal model at the benchmark's control rate.
    public var pendulumTask: PendulumTask { PendulumTask(parameters: .gymnasium) }

    /// The cart-pole at 50 Hz: Gymnasium CartPole's period, 10 s episodes, a 2 s horizon.
    public var cartPoleTask: CartPoleTask {
        var p = CartPoleParameters.swingUp200Hz
        p.dt = 0.02
        p.substeps = 8
        p.episodeTicks = 500
        p.discount = 0.99
        return CartPoleTask(parameters: p)
    }

    /// The named gaps of this task, `none` first.
    public var gaps: [GapDefinition] {
        switch self {
        case .pendulum:
            // The reference plant in the sim's terms: its friction and I = m l²/3 + 0.02 kg·m².
            let base = ["coulomb=0.1", "damping=0.05", "inertia=0.353333"]
            return [
                GapDefinition(
                    name: "none", plant: [:],
                    doc:
                        "the reference plant: Coulomb 0.1 N*m and viscous 0.05 N*m*s/rad friction, rotor inertia +0.02 kg*m^2, 5 ms latency, back-EMF, 4096-count encoder; the sim assumes none of these",
                    simMatch: base),
                GapDefinition(
                    name: "friction", plant: ["coulomb": 0.3, "damping": 0.15],
                    doc:
                        "real joint friction Coulomb 0.3 N*m and viscous 0.15 N*m*s/rad (reference 0.1 and 0.05; the sim assumes 0)",
                    simMatch: ["coulomb=0.3", "damping=0.15", "inertia=0.353333"]),
                GapDefinition(
                    name: "actuator-gain", plant: ["actuator_gain": 0.6],
                    doc: "the real motor delivers 0.6x the commanded torque (at most 1.2 of the 2 N*m the sim assumes)",
                    simMatch: base + ["actuator_gain=0.6"]),
                GapDefinition(
                    name: "mass", plant: ["mass": 1.4],
                    doc: "the real rod weighs 1.4 kg (the sim assumes 1 kg): 40% more gravity torque and inertia",
                    simMatch: ["coulomb=0.1", "damping=0.05", "mass=1.4", "inertia=0.486667"]),
                GapDefinition(
                    name: "latency", plant: ["latency_ticks": 16],
                    doc: "16 ms actuation latency on the real plant (reference 5 ms; the sim assumes 0)",
                    simMatch: base),
                // The paper's kind: the reference plant, the simulator edited. Sizes chosen by
                // measurement so that SAC sim-only loses at least 30 % of the DP ceiling (5 seeds,
                // 20 000 updates; BENCHMARKS.md, 2026-12-04 "Sizing the paper's kind of gap"):
                // gravity 14: 37 %, noise 3 N*m: 45 % (2 N*m: only 27 %), gain 2: 45 %, damping 0.6: 53 %.
                GapDefinition(
                    name: "sim-gravity", plant: [:],
                    doc: "the paper's kind: the reference plant, the sim's gravity 14 m/s^2 (the plant's 10; at 20 SAC cannot swing up even in the sim)",
                    simMatch: base + ["gravity=10"], sim: ["gravity=14"]),
                GapDefinition(
                    name: "sim-noise", plant: [:],
                    doc: "the paper's kind: the reference plant, Gaussian noise of std 3 N*m (1.5x the torque limit) on the sim's executed torque",
                    simMatch: base + ["action_noise=0"], sim: ["action_noise=3"]),
                GapDefinition(
                    name: "sim-gain", plant: [:],
                    doc: "the paper's kind: the reference plant, the sim's motor delivering 2x the commanded torque",
                    simMatch: base + ["actuator_gain=1"], sim: ["actuator_gain=2"]),
                GapDefinition(
                    name: "sim-friction", plant: [:],
                    doc: "the paper's kind: the reference plant, the sim's viscous friction 0.6 N*m*s/rad (the plant's 0.05; SAC barely swings up in that sim)",
                    simMatch: base, sim: ["damping=0.6"]),
                GapDefinition(
                    name: "identical", plant: [:],
                    doc: "no gap: every method's sim domain is the real (reference) plant itself, as a check that the discriminators' weights stay near 1",
                    simIsPlant: true),
            ]
        case .cartpole:
            let base = ["damping=0.5", "coulomb=0.3", "damping1=0.002"]
            return [
                GapDefinition(
                    name: "none", plant: [:],
                    doc:
                        "the reference plant: cart friction viscous 0.5 N*s/m and Coulomb 0.3 N, pole joint friction, 5 ms latency, back-EMF belt drive, encoders; the sim assumes none of these",
                    simMatch: base),
                GapDefinition(
                    name: "actuator-gain", plant: ["actuator_gain": 0.5],
                    doc: "the real belt drive delivers 0.5x the commanded force (at most 5 of the 10 N the sim assumes)",
                    simMatch: base + ["actuator_gain=0.5"]),
                GapDefinition(
                    name: "friction", plant: ["damping": 3, "coulomb": 1.5],
                    doc: "real cart friction viscous 3 N*s/m and Coulomb 1.5 N (reference 0.5 and 0.3; the sim assumes 0)",
                    simMatch: ["damping=3", "coulomb=1.5", "damping1=0.002"]),
                GapDefinition(
                    name: "pole", plant: ["mass": 0.3, "length": 1.5],
                    doc: "the real pole weighs 0.3 kg and is 1.5 m long (the sim assumes 0.1 kg and 1 m)",
                    simMatch: base + ["mass=0.3", "length=1.5"]),
                GapDefinition(
                    name: "identical", plant: [:],
                    doc: "no gap: every method's sim domain is the real (reference) plant itself, as a check that the discriminators' weights stay near 1",
                    simIsPlant: true),
            ]
        }
    }

    /// The gap called `name`, or nil.
    public func gap(named name: String) -> GapDefinition? { gaps.first { $0.name == name } }
}

/// One named dynamics gap: real plant parameters that differ from the reference plant.
public struct GapDefinition: Sendable, Equatable {
    /// `--gap` value.
    public var name: String
    /// Real plant parameters (plant.h names) set on top of the reference plant.
    public var plant: [String: Double]
    /// What differs, in one sentence with units.
    public var doc: String
    /// Onboard simulator assignments that approximate this real plant (friction, gain, mass
    /// and inertia; not back-EMF, sensors or sub-tick latency): the sim of the
    /// `sac-matched-sim` reference method, an approximate oracle.
    public var simMatch: [String] = []
    /// The paper's kind of gap: onboard simulator assignments that edit the sim away from
    /// the real plant (gravity, friction, actuator gain, action noise), applied before any
    /// `--sim-param`.
    public var sim: [String] = []
    /// The gap-free setting: every method's sim domain is the real plant itself (no gap at all).
    public var simIsPlant = false

    /// `name=value` pairs in name order, for reports.
    public var plantAssignments: [String] {
        plant.sorted { $0.key < $1.key }.map { "\($0.key)=\(GapReport.number($0.value))" }
    }
}
