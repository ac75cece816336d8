import Control
import Foundation
import Tasks
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
        arguments: ["robots/pendulum.json", "robots/acrobot.json", "robots/cartpole.json", "three-link"])
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
