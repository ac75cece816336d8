import Control
import Foundation
@testable import Tasks
import Testing

/// A random vector of `n` values in `range`.
private func randomVector(_ n: Int, _ range: ClosedRange<Double>, _ rng: inout some RandomNumberGenerator) -> JointVector {
    var v = JointVector(repeating: 0)
    for i in 0..<n { v[i] = Double.random(in: range, using: &rng) }
    return v
}

@Suite("Chain system identification")
struct ChainSystemIDTests {
    @Test(
        "the regressor reproduces the manipulator equation: Y(q, q̇, q̈)·π + b·q̇ = τ for PlanarChain's q̈",
        arguments: ["robots/pendulum.json", "robots/acrobot.json", "robots/cartpole.json", "three-link", "eight-link"])
    func regressorMatchesChain(robot: String) throws {
        let chain: PlanarChain
        if robot == "three-link" {
            // Mixed kinds, offsets, and friction: revolute, prismatic, revolute.
            chain = try PlanarChain(
                joints: [
                    ChainJoint(kind: .revolute, offset: 0.3, length: 0.7, com: 0.2, mass: 1.3, inertia: 0.05, viscous: 0.2),
                    ChainJoint(kind: .prismatic, offset: -0.4, length: 0.5, com: 0.3, mass: 0.8, inertia: 0.02, viscous: 0.1),
                    ChainJoint(kind: .revolute, offset: 1.1, length: 0.4, com: 0.25, mass: 0.6, inertia: 0.01, viscous: 0.05),
                ], gravity: 9.81)
        } else if robot == "eight-link" {
            // The most joints a robot file allows, kinds alternating irregularly.
            var g = SplitMixTest(seed: 11)
            chain = try PlanarChain(
                joints: (0..<8).map { i in
                    ChainJoint(
                        kind: [0, 3, 4].contains(i) ? .prismatic : .revolute, offset: g.next(-1.5...1.5), length: g.next(0.1...0.8),
                        com: g.next(0...0.5), mass: g.next(0.2...2), inertia: g.next(0.001...0.1), viscous: g.next(0...0.3))
                }, gravity: 9.81)
        } else {
            chain = try RobotSpec.load(path: repositoryFile(robot)).chain()
        }
        let reg = ChainRegressor(chain: chain)
        let pi = ChainRegressor.parameters(of: chain)
        var rng = SystemRandomNumberGenerator()
        let n = chain.count
        var y = [Double](repeating: 0, count: n * 3 * n)
        var worst = 0.0
        for _ in 0..<200 {
            let q = randomVector(n, -3...3, &rng), qd = randomVector(n, -4...4, &rng), tau = randomVector(n, -5...5, &rng)
            let qdd = chain.accelerations(q: q, qd: qd, tau: tau)
            y.withUnsafeMutableBufferPointer { reg.regressor(q: q, qd: qd, qdd: qdd, into: $0) }
            for r in 0..<n {
                var t = chain.joints[r].viscous * qd[r]
                for c in 0..<(3 * n) { t += y[r * 3 * n + c] * pi[c] }
                worst = max(worst, abs(t - tau[r]))
            }
        }
        #expect(worst < 1e-9, "largest |Yπ + bq̇ − τ| \(worst)")
    }
}

/// A logged excitation of `truth` through ChainSimulator (encoder quantisation, the firmware
/// velocity filter, actuator gain, rate limit and latency), one decision per control tick.
private func excite(truth: RobotSpec, taskFile: String, seconds: Double, seed: UInt64, band: ClosedRange<Double> = 0.2...2.5, amplitude: Double = 0.8, start: [Double]? = nil) throws -> ChainSysIDLog {
    var spec = try TaskSpec.load(path: repositoryFile(taskFile), robot: truth)
    spec.decisionRateHz = spec.controlRateHz
    spec.termination = []
    let sim = try ChainSimulator(robot: truth, task: try GenericTask(robot: truth, task: spec))
    let excitation = try ChainExcitation(robot: truth, controlRateHz: spec.controlRateHz, seconds: seconds, band: band, amplitudeFraction: amplitude, seed: seed)
    let commands = excitation.commands()
    let n = truth.joints.count
    let start0 = start
    var start = JointVector(repeating: 0)
    for j in 0..<n { start[j] = start0?[j] ?? (spec.startPosition[j].lowerBound / 2 + spec.startPosition[j].upperBound / 2) }
    var s = sim.state(q: start, qd: JointVector(repeating: 0))
    var positions = [[Double]](repeating: [], count: n)
    var logged = [[Double]](repeating: [], count: n)
    var action = [Float](repeating: 0, count: spec.actions.count)
    for k in 0..<excitation.ticks {
        for j in 0..<n { positions[j].append(s.measuredPosition[j]) }
        for (a, map) in spec.actions.enumerated() { action[a] = Float(commands[map.joint][k] / map.scale) }
        // What the host sent: the action through the task's scale (Float on the wire).
        for j in 0..<n { logged[j].append(0) }
        for (a, map) in spec.actions.enumerated() { logged[map.joint][k] = Double(Float(Double(action[a]) * map.scale)) }
        _ = sim.step(&s, action: action)
    }
    return ChainSysIDLog(dt: 1 / Double(spec.controlRateHz), positions: positions, commands: logged)
}

/// Prints the recovered-vs-true table and returns the identifiable names off by more than `tolerance`.
private func report(_ fit: ChainSystemID.Fit, truth: RobotSpec, title: String, tolerance: Double = 0.1) -> [String] {
    var bad: [String] = []
    print("\(title): anchor \(fit.anchorDescription); latency \(fit.latencyTicks); held-out one-step error \(fit.heldOutErrorBefore) → \(fit.heldOutErrorAfter) (by latency \(fit.errorByLatency), residual by latency \(fit.residualByLatency))")
    print("  unidentifiable (kept at the robot file's values): \(fit.unidentifiable.isEmpty ? "none" : fit.unidentifiable.joined(separator: "; "))")
    print("  parameter            true       fitted     s.e.       identifiable")
    for name in fit.values.keys.sorted() {
        let fitted = fit.values[name]!
        let parts = name.split(separator: ".").map(String.init)
        var trueValue = Double(truth.sensing.latencyTicks)
        if parts.count == 2, let j = truth.jointIndex(parts[0]) {
            let b = truth.joints[j].body
            switch parts[1] {
            case "mass": trueValue = b.mass
            case "com": trueValue = b.com
            case "inertia": trueValue = b.inertia
            case "viscous": trueValue = b.viscous
            case "coulomb": trueValue = b.coulomb
            default: trueValue = truth.joints[j].actuator!.gain
            }
        }
        let ok = fit.identifiable.contains(name)
        let pad = { (s: String, w: Int) in s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        print("  " + pad(name, 20) + pad(String(format: "%.4f", trueValue), 11) + pad(String(format: "%.4f", fitted), 11)
            + pad(String(format: "%.4f", fit.standardErrors[name] ?? 0), 11) + (ok ? "yes" : "no"))
        if ok, abs(fitted - trueValue) > tolerance * max(abs(trueValue), 0.05) { bad.append(name) }
    }
    return bad
}

@Suite("Chain system identification on simulated robots")
struct ChainSystemIDFitTests {
    @Test("acrobot: elbow gain 0.7, masses ×1.2, friction, latency 1 — identifiable parameters within 10 %, one-step error shrinks")
    func acrobot() throws {
        let nominal = try RobotSpec.load(path: repositoryFile("robots/acrobot.json"))
        var truth = nominal
        for j in 0..<2 {
            truth.joints[j].body.mass *= 1.2
            truth.joints[j].body.viscous = 0.1
            truth.joints[j].body.coulomb = 0.05
        }
        truth.joints[1].actuator!.gain = 0.7
        truth.sensing.latencyTicks = 1
        let log = try excite(truth: truth, taskFile: "tasks/acrobot-swingup.json", seconds: 120, seed: 3, band: 0.1...0.8)
        var options = ChainSystemID.Options()
        let elbow = truth.joints[1].body
        options.anchor = .firstMoment(joint: 1, value: elbow.mass * elbow.com)
        // ChainSimulator's Coulomb friction is a stick–slip step, not a torque, in a coupled chain.
        options.coulombModel = .simulatorStep
        let fit = try ChainSystemID.fit(log: log, robot: nominal, options: options)
        let bad = report(fit, truth: truth, title: "acrobot")
        #expect(bad.isEmpty, "off by more than 10 %: \(bad)")
        #expect(fit.latencyTicks == 1)
        #expect(fit.identifiable.contains("elbow.gain"))
        let trueBase = ChainRegressor.parameters(of: try truth.chain())
        for i in 0..<6 where fit.baseIdentifiable[i] {
            print("  base \(fit.baseNames[i]): true \(trueBase[i]) fitted \(fit.baseParameters[i])")
            #expect(abs(fit.baseParameters[i] - trueBase[i]) < 0.1 * abs(trueBase[i]), "\(fit.baseNames[i])")
        }
        #expect(fit.baseIdentifiable[5], "elbow I+m·c² is identifiable")
        #expect(fit.heldOutErrorAfter < 0.5 * fit.heldOutErrorBefore)
        // The shoulder link's own combinations with the elbow's mass at its tip are identifiable.
        let l0 = nominal.joints[0].body.length
        let th = fit.baseParameters, m1 = th[3], h0 = th[1], j0 = th[2]
        let t0 = truth.joints[0].body, t1 = truth.joints[1].body
        let trueH0 = t0.mass * t0.com + t1.mass * l0, trueJ0 = t0.inertia + t0.mass * t0.com * t0.com + t1.mass * l0 * l0
        print("  shoulder m·c + elbow m·l: true \(trueH0) fitted \(h0 + m1 * l0); shoulder I+m·c² + elbow m·l²: true \(trueJ0) fitted \(j0 + m1 * l0 * l0)")
        #expect(abs(h0 + m1 * l0 - trueH0) < 0.1 * trueH0)
        #expect(abs(j0 + m1 * l0 * l0 - trueJ0) < 0.1 * trueJ0)
    }
    @Test("default anchor (the robot file's last first moment): with the file's masses right, the gain comes out absolute")
    func defaultAnchor() throws {
        let nominal = try RobotSpec.load(path: repositoryFile("robots/acrobot.json"))
        var truth = nominal
        truth.joints[1].actuator!.gain = 0.7
        let log = try excite(truth: truth, taskFile: "tasks/acrobot-swingup.json", seconds: 60, seed: 9, band: 0.1...0.8)
        let fit = try ChainSystemID.fit(log: log, robot: nominal)
        let bad = report(fit, truth: truth, title: "acrobot, default anchor")
        #expect(fit.anchorDescription.hasPrefix("elbow first moment"))
        #expect(bad.isEmpty, "off by more than 10 %: \(bad)")
        #expect(abs(fit.values["elbow.gain"]! - 0.7) < 0.07)
        #expect(fit.latencyTicks == 0)
    }

    @Test("pendulum: gain 0.8, mass ×1.2, viscous and Coulomb friction, latency 1 — within 10 %, one-step error shrinks")
    func pendulum() throws {
        let nominal = try RobotSpec.load(path: repositoryFile("robots/pendulum.json"))
        var truth = nominal
        truth.joints[0].body.mass *= 1.2
        truth.joints[0].body.inertia *= 1.2
        truth.joints[0].body.viscous = 0.1
        truth.joints[0].body.coulomb = 0.1
        truth.joints[0].actuator!.gain = 0.8
        truth.sensing.latencyTicks = 1
        let log = try excite(
            truth: truth, taskFile: "tasks/pendulum-swingup.json", seconds: 120, seed: 5, band: 0.1...1.5, start: [Double.pi])
        var options = ChainSystemID.Options()
        let b = truth.joints[0].body
        options.anchor = .firstMoment(joint: 0, value: b.mass * b.com)
        let fit = try ChainSystemID.fit(log: log, robot: nominal, options: options)
        let bad = report(fit, truth: truth, title: "pendulum")
        #expect(bad.isEmpty, "off by more than 10 %: \(bad)")
        #expect(fit.unidentifiable.contains("pendulum.m"), "a base link's mass acts on nothing: \(fit.unidentifiable)")
        for name in ["pendulum.gain", "pendulum.viscous", "pendulum.coulomb"] { #expect(fit.identifiable.contains(name), "\(name)") }
        let trueBase = ChainRegressor.parameters(of: try truth.chain())
        #expect(fit.baseIdentifiable[2] && abs(fit.baseParameters[2] - trueBase[2]) < 0.1 * trueBase[2])
        #expect(fit.heldOutErrorAfter < 0.7 * fit.heldOutErrorBefore)
        #expect(fit.latencyTicks == 1)
    }

    @Test("cart-pole: cart gain 0.8, masses ×1.2/×1.3, viscous and Coulomb friction, latency 1 — within 10 %, one-step error shrinks")
    func cartpole() throws {
        let nominal = try RobotSpec.load(path: repositoryFile("robots/cartpole.json"))
        var truth = nominal
        truth.joints[0].body.mass *= 1.3
        truth.joints[1].body.mass *= 1.2
        truth.joints[0].body.viscous = 0.5
        truth.joints[0].body.coulomb = 0.2
        truth.joints[1].body.viscous = 0.02
        truth.joints[0].actuator!.gain = 0.8
        truth.sensing.latencyTicks = 1
        let log = try excite(
            truth: truth, taskFile: "tasks/cartpole-balance.json", seconds: 120, seed: 7, band: 0.5...2.0, amplitude: 0.3,
            start: [0, Double.pi])
        var options = ChainSystemID.Options()
        let pole = truth.joints[1].body
        options.anchor = .firstMoment(joint: 1, value: pole.mass * pole.com)
        options.coulombModel = .simulatorStep
        let fit = try ChainSystemID.fit(log: log, robot: nominal, options: options)
        let bad = report(fit, truth: truth, title: "cart-pole")
        #expect(bad.isEmpty, "off by more than 10 %: \(bad)")
        #expect(fit.identifiable.contains("cart.gain") && fit.identifiable.contains("cart.viscous"))
        #expect(fit.identifiable.contains("cart.coulomb") && fit.latencyTicks == 1)
        // The cart row sees the total mass.
        let total = fit.baseParameters[0] + fit.baseParameters[3], trueTotal = truth.joints[0].body.mass + pole.mass
        print("  cart + pole mass: true \(trueTotal) fitted \(total)")
        #expect(abs(total - trueTotal) < 0.1 * trueTotal)
        #expect(fit.heldOutErrorAfter < 0.7 * fit.heldOutErrorBefore)
    }
}

private struct SplitMixTest {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ range: ClosedRange<Double>) -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return range.lowerBound + (range.upperBound - range.lowerBound) * Double(z >> 11) / Double(1 << 53)
    }
}

@Suite("Chain system identification numerics")
struct ChainSystemIDNumericsTests {
    @Test("the excitation stays within effort and rate limits, ramps from and to rest, drives only actuated joints")
    func excitation() throws {
        var robot = try RobotSpec.load(path: repositoryFile("robots/acrobot.json"))
        robot.joints[1].actuator!.rateLimit = 20
        for ticks in [1, 63, 65, 100, 257] {
            let seconds = Double(ticks) / 200 + 4
            let e = try ChainExcitation(robot: robot, controlRateHz: 200, seconds: seconds, rampSeconds: 2, seed: UInt64(ticks))
            let c = e.commands()
            #expect(c.count == 2 && c[0].allSatisfy { $0 == 0 })
            let u = c[1]
            #expect(u.count == e.ticks)
            #expect(u.allSatisfy { abs($0) <= 0.8 * 1.0 + 1e-12 })
            for k in 1..<u.count { #expect(abs(u[k] - u[k - 1]) <= 20.0 / 200 + 1e-12) }
            #expect(abs(u[0]) < 1e-9 && abs(u[u.count - 1]) < 0.05)
            #expect(u.map(abs).max()! > 0.3, "the excitation moves the joint")
        }
        #expect(throws: ExcitationError.self) { try ChainExcitation(robot: robot, controlRateHz: 200, seconds: 3, rampSeconds: 2) }
        #expect(throws: ExcitationError.self) { try ChainExcitation(robot: robot, controlRateHz: 200, seconds: 30, band: 0.1...80) }
    }

    @Test("two actuated joints get uncorrelated inputs")
    func uncorrelated() throws {
        var robot = try RobotSpec.load(path: repositoryFile("robots/acrobot.json"))
        robot.joints[0].actuator = robot.joints[1].actuator
        let c = try ChainExcitation(robot: robot, controlRateHz: 200, seconds: 60).commands()
        let dot = zip(c[0], c[1]).reduce(0) { $0 + $1.0 * $1.1 }
        let n0 = c[0].reduce(0) { $0 + $1 * $1 }, n1 = c[1].reduce(0) { $0 + $1 * $1 }
        #expect(abs(dot) / (n0 * n1).squareRoot() < 0.1)
    }

    @Test("bad logs are one line naming the problem and the fix")
    func badLogs() throws {
        let robot = try RobotSpec.load(path: repositoryFile("robots/acrobot.json"))
        let ok = [Double](repeating: 0, count: 20_000)
        func message(_ log: ChainSysIDLog) -> String {
            do {
                _ = try ChainSystemID.fit(log: log, robot: robot)
                return ""
            } catch { return error.description }
        }
        let wrongJoints = message(ChainSysIDLog(dt: 0.005, positions: [ok], commands: [ok]))
        #expect(wrongJoints.contains("1 joints") && wrongJoints.contains("has 2"), "\(wrongJoints)")
        let short = message(ChainSysIDLog(dt: 0.005, positions: [[0, 0], [0, 0]], commands: []))
        #expect(short.contains("excite longer"), "\(short)")
        var nan = ok
        nan[7] = .nan
        let bad = message(ChainSysIDLog(dt: 0.005, positions: [ok, nan], commands: []))
        #expect(bad.contains("elbow") && bad.contains("non-finite"), "\(bad)")
        let still = message(ChainSysIDLog(dt: 0.005, positions: [ok, ok], commands: [ok, ok]))
        #expect(!still.isEmpty, "a log without motion cannot be fitted")
        for m in [wrongJoints, short, bad, still] { #expect(!m.contains("\n") && m.hasPrefix("system identification: ")) }
    }

    @Test("the Jacobi eigen-decomposition reconstructs symmetric matrices", arguments: [1, 2, 7, 17])
    func eigen(size: Int) {
        var rng = SystemRandomNumberGenerator()
        var a = [Double](repeating: 0, count: size * size)
        for i in 0..<size { for j in 0...i { let v = Double.random(in: -1...1, using: &rng); a[i * size + j] = v; a[j * size + i] = v } }
        let (l, v) = ChainSystemID.symmetricEigen(a, size)
        var worst = 0.0
        for i in 0..<size {
            for j in 0..<size {
                var s = 0.0
                for k in 0..<size { s += v[i * size + k] * l[k] * v[j * size + k] }
                worst = max(worst, abs(s - a[i * size + j]))
            }
        }
        #expect(worst < 1e-10, "largest reconstruction error \(worst)")
    }
}
