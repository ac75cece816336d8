import Control
import Testing

@testable import Tasks

/// Logs a PRBS excitation of the C real plant at 200 Hz (plant stepped at 1 kHz, encoder
/// quantised, noisy), as the emulator's firmware would see it.
private func exciteRealPlant(_ plantParameters: [String: Double], seconds: Double, seed: UInt64) throws -> (theta: [Double], torque: [Double]) {
    var plant = try RealPlant(kind: .pendulum, parameters: plantParameters, seed: seed)
    var signal = PRBSExcitation(amplitude: 1.0, seed: seed)
    let ticks = Int(seconds * 200)
    var theta: [Double] = [], torque: [Double] = []
    var previous = plant.measuredPosition(0)
    for _ in 0..<ticks {
        let th = plant.measuredPosition(0)
        let u = signal.torque(velocity: (th - previous) / 0.005)
        previous = th
        theta.append(th)
        torque.append(u)
        plant.setCommand(u)
        for _ in 0..<5 { plant.step(0.001) }
    }
    return (theta, torque)
}

@Suite("System identification of the pendulum simulator")
struct SystemIDTests {
    @Test("recovers inertia, gain, damping, Coulomb friction and latency of the real plant within 10 %")
    func recoversRealPlantParameters() throws {
        let truth: [String: Double] = ["rotor_inertia": 0.05, "damping": 0.08, "coulomb": 0.15, "actuator_gain": 0.85]
        let log = try exciteRealPlant(truth, seconds: 40, seed: 3)
        let nominal = PendulumParameters.rate200Hz
        let fit = try PendulumSystemID.fit(theta: log.theta, torque: log.torque, dt: 0.005, nominal: nominal)
        let expected: [String: Double] = [
            "inertia": 1.0 / 3 + 0.05, "damping": 0.08, "coulomb": 0.15, "actuator_gain": 0.85,
        ]
        for (name, value) in expected {
            let got = try #require(fit.values[name])
            #expect(abs(got - value) / value < 0.10, "\(name): fitted \(got), true \(value)")
        }
        // 5 plant steps of 1 ms = one 200 Hz tick.
        #expect(fit.values["latency_ticks"] == 1, "latency residuals \(fit.residualByLatency)")
        #expect(fit.heldOutErrorAfter < 0.5 * fit.heldOutErrorBefore, "before \(fit.heldOutErrorBefore), after \(fit.heldOutErrorAfter)")
        print("sysid (real plant): \(fit.values), se \(fit.standardErrors), one-step error \(fit.heldOutErrorBefore) -> \(fit.heldOutErrorAfter)")
    }

    @Test("irregular host ticks (every 7th sample late by half a period) are left out and the fit still holds")
    func irregularTicks() throws {
        let truth: [String: Double] = ["rotor_inertia": 0.05, "damping": 0.08, "coulomb": 0.15, "actuator_gain": 0.85]
        let log = try exciteRealPlant(truth, seconds: 40, seed: 5)
        // Sample times: nominal, but every 7th sample is 2.5 ms late (its position is not).
        var time: [Double] = []
        for k in 0..<log.theta.count {
            let late: Double = k % 7 == 3 ? 0.0025 : 0
            time.append(Double(k) * 0.005 + late)
        }
        let fit = try PendulumSystemID.fit(theta: log.theta, torque: log.torque, dt: 0.005, nominal: .rate200Hz, time: time)
        let inertia: Double = 1.0 / 3 + 0.05
        let fitted: Double = try #require(fit.values["inertia"])
        #expect(abs(fitted - inertia) / inertia < 0.10)
        #expect(fit.heldOutErrorAfter < fit.heldOutErrorBefore)
    }

    @Test("a log without excitation is refused with a reason")
    func refusesFlatLog() {
        let theta = [Double](repeating: Double.pi, count: 4000)
        let torque = [Double](repeating: 0, count: 4000)
        #expect(throws: PendulumSystemID.FitError.self) {
            try PendulumSystemID.fit(theta: theta, torque: torque, dt: 0.005, nominal: .rate200Hz)
        }
        #expect(throws: PendulumSystemID.FitError.self) {
            try PendulumSystemID.fit(theta: Array(theta.prefix(100)), torque: Array(torque.prefix(100)), dt: 0.005, nominal: .rate200Hz)
        }
    }

    @Test("identifies the nominal simulator's own parameters, latency included, from its own data")
    func identifiesSimulator() throws {
        var truth = PendulumParameters.rate200Hz
        try truth.apply(assignments: [
            "inertia=0.4", "damping=0.1", "coulomb=0.05", "actuator_gain=1.2", "latency_ticks=2",
        ])
        let task = PendulumTask(parameters: truth)
        var signal = PRBSExcitation(amplitude: 1.4, seed: 5)
        var state = PendulumTask.SimState(theta: Double.pi, thetaDot: 0)
        var random = SimRandom(seed: 1)
        var theta: [Double] = [], torque: [Double] = []
        for _ in 0..<(30 * 200) {
            let u = signal.torque(velocity: state.thetaDot)
            theta.append(state.theta)
            torque.append(u)
            _ = task.stepSim(&state, torque: u, random: &random)
        }
        // PendulumTask steps once per tick (semi-implicit Euler): its command acts at its tick.
        var options = PendulumSystemID.Options()
        options.commandTiming = .stepAtTick
        let fit = try PendulumSystemID.fit(theta: theta, torque: torque, dt: 0.005, nominal: .rate200Hz, options: options)
        #expect(fit.values["latency_ticks"] == 2, "latency residuals \(fit.residualByLatency)")
        let expected = ["inertia": 0.4, "damping": 0.1, "coulomb": 0.05, "actuator_gain": 1.2]
        for (name, value) in expected {
            let got = try #require(fit.values[name])
            #expect(abs(got - value) / value < 0.05, "\(name): fitted \(got), true \(value)")
        }
        #expect(fit.heldOutErrorAfter < 0.5 * fit.heldOutErrorBefore)
    }
}

/// The robot file of the pendulum the fits above assume (mass 1 kg, length 1 m, g = 10).
private func pendulumRobot() throws -> RobotSpec {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    components.removeLast(3)
    return try RobotSpec.load(path: components.joined(separator: "/") + "/robots/pendulum.json")
}

/// The N-joint fit's values in the pendulum fit's names (inertia about the pivot).
func pendulumValues(_ fit: ChainSystemID.Fit) -> [String: Double] {
    let m = fit.values["pendulum.mass"]!, c = fit.values["pendulum.com"]!
    return [
        "inertia": fit.values["pendulum.inertia"]! + m * c * c, "actuator_gain": fit.values["pendulum.gain"]!,
        "damping": fit.values["pendulum.viscous"]!, "coulomb": fit.values["pendulum.coulomb"]!,
        "latency_ticks": fit.values["latency_ticks"]!,
    ]
}

@Suite("The pendulum fit is the N-joint fit's one-joint case")
struct ChainFitOnPendulumTests {
    @Test("same real-plant log: PendulumSystemID gives ChainSystemID's values on robots/pendulum.json, all within 10 %, latency 1")
    func sameLog() throws {
        let truth: [String: Double] = ["rotor_inertia": 0.05, "damping": 0.08, "coulomb": 0.15, "actuator_gain": 0.85]
        let log = try exciteRealPlant(truth, seconds: 40, seed: 3)
        let expected: [String: Double] = ["inertia": 1.0 / 3 + 0.05, "damping": 0.08, "coulomb": 0.15, "actuator_gain": 0.85]
        let pendulum = try PendulumSystemID.fit(theta: log.theta, torque: log.torque, dt: 0.005, nominal: .rate200Hz)
        let chain = try ChainSystemID.fit(
            log: ChainSysIDLog(dt: 0.005, positions: [log.theta], commands: [log.torque]), robot: try pendulumRobot())
        let generic = pendulumValues(chain)
        print("pendulum fit: \(pendulum.values.sorted { $0.key < $1.key }); one-step error \(pendulum.heldOutErrorBefore) → \(pendulum.heldOutErrorAfter) rad/s")
        print("N-joint fit on robots/pendulum.json: \(generic.sorted { $0.key < $1.key }); anchor \(chain.anchorDescription)")
        for (name, value) in expected {
            let p = pendulum.values[name]!, g = generic[name]!
            print("  \(name): true \(value), fitted \(p) (\(String(format: "%+.1f", 100 * (p - value) / value)) %)")
            #expect(abs(p - value) / value < 0.10, "\(name): fitted \(p), true \(value)")
            #expect(abs(p - g) <= 1e-9 * max(1, abs(g)), "\(name): the wrapper \(p), ChainSystemID \(g)")
        }
        #expect(generic["latency_ticks"] == 1 && pendulum.values["latency_ticks"] == 1)
        #expect(chain.heldOutErrorAfter < 0.7 * chain.heldOutErrorBefore)
    }
}
