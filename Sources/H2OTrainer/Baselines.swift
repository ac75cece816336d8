import FixedNN
import Foundation

/// What each algorithm changes in the H2O+ step (shared/spec/h2oplus.md, "H2O" and "Other
/// baselines"), decided once when the step is built; ``H2OPlusStep`` reads only these flags.
///
/// | algorithm | discriminators, w_c | V | λ | entropy in target | critic penalty | actor | α |
/// |---|---|---|---|---|---|---|---|
/// | H2O+ | yes | trained | `exploitCoefficient` | yes | – | reparameterised | trained |
/// | H2O | yes | – | 0 | no | CQL-style (`h2oPenalty`) | reparameterised | trained |
/// | SAC (sim only) | – | – | 0 | yes | – | reparameterised | trained |
/// | IQL (real only) | – | trained first | 1 | – | – | AWR (`advantageWeightedActor`) | – |
package struct BaselineFlags: Sendable, Equatable {
    /// How the policy is trained.
    enum Actor: Sendable, Equatable {
        /// L_π = E[α log π(ã|s) − min Q(s, ã)] with ã reparameterised (SAC, H2O, H2O+).
        case reparameterised
        /// IQL's advantage-weighted regression on the batch's own actions.
        case advantageWeighted
    }

    /// Steps 1–2: the discriminators train and weight the sim rows.
    var discriminators: Bool
    /// V is trained (on the real rows) and, for λ > 0, anchors the target.
    var value: Bool
    /// IQL: V takes its Adam step before the actor's and critics' losses, which then use the
    /// updated V (Kostrikov et al.'s `_update_jit` order); H2O+ builds every loss first.
    package var valueFirst: Bool
    /// λ of the mixed target.
    var lambda: Float
    /// The explore target subtracts α log π(a'|s').
    var entropyInTarget: Bool
    /// H2O's CQL-style penalty is added to L_Q.
    var penalty: Bool
    var actor: Actor
    /// α is trained.
    var temperature: Bool
    /// τe of the value regression.
    var expectile: Float

    init(algorithm: Algorithm, hyperparameters h: Hyperparameters) {
        switch algorithm {
        case .h2oPlus:
            self.init(
                discriminators: true, value: true, valueFirst: false, lambda: Float(h.exploitCoefficient),
                entropyInTarget: true, penalty: false, actor: .reparameterised, temperature: true, expectile: Float(h.expectile))
        case .h2o:
            self.init(
                discriminators: true, value: false, valueFirst: false, lambda: 0, entropyInTarget: false, penalty: true,
                actor: .reparameterised, temperature: true, expectile: Float(h.expectile))
        case .sacSim:
            self.init(
                discriminators: false, value: false, valueFirst: false, lambda: 0, entropyInTarget: true, penalty: false,
                actor: .reparameterised, temperature: true, expectile: Float(h.expectile))
        case .iqlReal:
            self.init(
                discriminators: false, value: true, valueFirst: true, lambda: 1, entropyInTarget: false, penalty: false,
                actor: .advantageWeighted, temperature: false, expectile: Float(h.iqlExpectile))
        }
    }

    init(
        discriminators: Bool, value: Bool, valueFirst: Bool, lambda: Float, entropyInTarget: Bool, penalty: Bool,
        actor: Actor, temperature: Bool, expectile: Float
    ) {
        self.discriminators = discriminators
        self.value = value
        self.valueFirst = valueFirst
        self.lambda = lambda
        self.entropyInTarget = entropyInTarget
        self.penalty = penalty
        self.actor = actor
        self.temperature = temperature
        self.expectile = expectile
    }
}

extension H2OPlusStep {
    // MARK: H2O: the CQL-style critic penalty

    /// H2O's penalty, Σ_j (over the N critics) β·clip(log Σ_i ω_i exp(Q_j(s_i,a_i)) − mean_real Q_j, −1000, 1000) over
    /// the sim rows, with ω_i = u_i / Σ u and u_i = clip(mean_k −(D_sas[0] − D_sas[1])(s_i, a_i,
    /// s'_ik), 1e-45, 10) on K noisy copies s'_ik = s'_i + ratio·σ_real ⊙ ε_ik (σ_real: the real
    /// set's per-dimension observation std, `StepInputs.nextStateStd`), with the updated D_sas.
    /// Adds its gradient to the critics' output gradients (which hold the squared-error
    /// gradient); returns its value. Real-time safe: does not allocate, lock or throw.
    mutating func h2oPenalty(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) -> Float {
        let stage = discriminators
        let Ns = simRows, Nr = realRows, K = copies
        guard Ns > 0 else { return 0 }
        let x = stage.pointee.discSAS.input, stride = stage.pointee.discSAS.inputStride
        let noise = inputs.nextStateNoise.baseAddress, std = inputs.nextStateStd.baseAddress
        for i in 0..<Ns {
            let r = Nr + i
            for k in 0..<K {
                let row = x + (i * K + k) * stride
                row.update(from: inputs.rl.observations + r * S, count: S)
                (row + S).update(from: inputs.rl.actions + r * A, count: A)
                let e = noise + (i * K + k) * S
                for j in 0..<S { row[S + A + j] = inputs.rl.nextObservations[r * S + j] + cqlStdRatio * std[j] * e[j] }
            }
        }
        stage.pointee.discSAS.forward(agent.discriminatorSAS, batch: Ns * K)
        let out = stage.pointee.discSAS.output, o = stage.pointee.discSAS.outputStride
        var total: Float = 0
        for i in 0..<Ns {
            var s: Float = 0
            for k in 0..<K {
                let row = out + (i * K + k) * o
                s += -2 * (row[0] - row[1])
            }
            scratch[i] = Swift.min(Swift.max(s / Float(K), Float.leastNonzeroMagnitude), 10)
            total += scratch[i]
        }
        for i in 0..<Ns { scratch[i] /= total }  // ω
        var penalty: Float = 0
        for ws in 0..<(2 + extra) {
            let (q, g) = criticPass(ws)
            let qo = q1.outputStride
            var maxQ = -Float.infinity
            for i in 0..<Ns { maxQ = Swift.max(maxQ, q[(Nr + i) * qo]) }
            var sum: Float = 0
            for i in 0..<Ns { sum += scratch[i] * Foundation.exp(q[(Nr + i) * qo] - maxQ) }
            var realMean: Float = 0
            for r in 0..<Nr { realMean += q[r * qo] }
            realMean /= Float(Nr)
            let raw = Foundation.log(sum) + maxQ - realMean
            penalty += cqlWeight * Swift.min(Swift.max(raw, -1000), 1000)
            guard raw > -1000 && raw < 1000 else { continue }
            for i in 0..<Ns {
                g[(Nr + i) * qo] += cqlWeight * scratch[i] * Foundation.exp(q[(Nr + i) * qo] - maxQ) / sum
            }
            for r in 0..<Nr { g[r * qo] -= cqlWeight / Float(Nr) }
        }
        return penalty
    }

    // MARK: IQL: V first, then advantage-weighted regression

    /// IQL's order: V's Adam step from this step's `gradValue`, then V again on the prelude's
    /// rows (s of the batch, then s'), so the targets and the advantages use the updated V.
    /// Real-time safe: does not allocate, lock or throw.
    mutating func updateValueFirst(_ agent: inout H2OAgent) {
        agent.valueOptimizer.step(&agent.value.parameters, gradient: gradValue)
        v.forward(agent.value, batch: realRows + rows)
    }

    /// IQL's policy extraction: L = −mean_i min(exp(β·(min Q̄(s_i,a_i) − V(s_i))), w_max)·log π(a_i|s_i)
    /// over the batch's own actions (u = atanh(a), a clamped inside ±(1 − 1e-6)); leaves the
    /// gradient in `gradPolicy`/`gradLogStd`. The prelude's target critics on (s, a) and V on s
    /// must hold this step's passes. Real-time safe: does not allocate, lock or throw.
    mutating func advantageWeightedActor(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) -> Float {
        let B = rows
        let m = agent.logStd[0], c = agent.logStd[1]
        let piOut = pi.output, po = pi.outputStride
        let dOut = pi.outputGradient
        let t1 = q1T.output, t2 = q2T.output, to = q1T.outputStride
        let vOut = v.output, vo = v.outputStride
        let invB = 1 / Float(B)
        var loss: Float = 0, dm: Float = 0, dc: Float = 0
        for r in 0..<B {
            let advantage = targetMinimum(t1, t2, row: B + r, stride: to) - vOut[r * vo]
            let weight = Swift.min(Foundation.exp(iqlTemperature * advantage), iqlMaxWeight)
            var logProb: Float = 0
            for j in 0..<A {
                let a = Swift.min(Swift.max(inputs.rl.actions[r * A + j], -1 + 1e-6), 1 - 1e-6)
                let u = Foundation.atanh(a)
                let mu = piOut[r * po + j]
                let s = m * piOut[r * po + A + j] + c
                let logStd = Swift.min(Swift.max(s, TanhGaussianHead.logStdMin), TanhGaussianHead.logStdMax)
                let sigma = Foundation.exp(logStd)
                let z = (u - mu) / sigma
                let correction = 2 * (0.693147180559945 - u - softplus(-2 * u))
                logProb += -0.5 * z * z - logStd - 0.918938533204673 - correction
                // d(−w·logπ)/dμ = −w·z/σ; d/dlogσ = −w·(z² − 1).
                let scale = -weight * invB
                dOut[r * po + j] = scale * z / sigma
                let dLogStd = scale * (z * z - 1)
                let pass: Float = (s >= TanhGaussianHead.logStdMin && s <= TanhGaussianHead.logStdMax) ? 1 : 0
                dOut[r * po + A + j] = dLogStd * pass * m
                dm += dLogStd * pass * piOut[r * po + A + j]
                dc += dLogStd * pass
            }
            loss += -weight * logProb
        }
        gradLogStd[0] = dm
        gradLogStd[1] = dc
        pi.backward(agent.policy, batch: B, accumulatingInto: &gradPolicy, inputGradient: false)
        return loss * invB
    }
}

@inline(__always)
func softplus(_ x: Float) -> Float { Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x))) }
