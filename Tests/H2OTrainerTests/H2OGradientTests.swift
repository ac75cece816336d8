import FixedNN
import Foundation
import Testing

@testable import H2OTrainer

/// The trained buffers of an agent, for perturbing one at a time.
enum TrainedBuffer: CaseIterable, CustomStringConvertible {
    case policy, logStd, q1, q2, value, discriminatorSA, discriminatorSAS, logAlpha

    var description: String { "\(self)" as String }

    /// The buffer's storage (heap memory owned by the agent; valid while the agent lives).
    func storage(_ agent: borrowing H2OAgent) -> UnsafeMutableBufferPointer<Float> {
        switch self {
        case .policy: UnsafeMutableBufferPointer(start: agent.policy.parameters.baseAddress, count: agent.policy.parameters.count)
        case .logStd: UnsafeMutableBufferPointer(start: agent.logStd.baseAddress, count: 2)
        case .q1: UnsafeMutableBufferPointer(start: agent.q1.parameters.baseAddress, count: agent.q1.parameters.count)
        case .q2: UnsafeMutableBufferPointer(start: agent.q2.parameters.baseAddress, count: agent.q2.parameters.count)
        case .value: UnsafeMutableBufferPointer(start: agent.value.parameters.baseAddress, count: agent.value.parameters.count)
        case .discriminatorSA:
            UnsafeMutableBufferPointer(start: agent.discriminatorSA.parameters.baseAddress, count: agent.discriminatorSA.parameters.count)
        case .discriminatorSAS:
            UnsafeMutableBufferPointer(start: agent.discriminatorSAS.parameters.baseAddress, count: agent.discriminatorSAS.parameters.count)
        case .logAlpha: UnsafeMutableBufferPointer(start: agent.logAlpha.baseAddress, count: 1)
        }
    }

    /// The step's gradient for this buffer after `H2OPlusStep.gradients`.
    func gradient(_ step: borrowing H2OPlusStep) -> [Float] {
        switch self {
        case .policy: step.gradPolicy.array
        case .logStd: step.gradLogStd.array
        case .q1: step.gradQ1.array
        case .q2: step.gradQ2.array
        case .value: step.gradValue.array
        case .discriminatorSA: step.gradDiscSA.array
        case .discriminatorSAS: step.gradDiscSAS.array
        case .logAlpha: step.gradLogAlpha.array
        }
    }
}

/// Every loss (and the gradients, left in `step`) at the agent's current parameters, with the
/// sim weights computed from the current discriminators. Parameters are not changed.
func evaluate(_ step: inout H2OPlusStep, _ agent: inout H2OAgent, _ inputs: borrowing StepInputs) -> StepLosses {
    step.gradients(&agent, inputs)
}

/// Central difference of `loss` along `direction` (unit norm) at step `h`, in Float.
func directionalDerivative(
    _ buffer: TrainedBuffer, _ agent: inout H2OAgent, _ inputs: borrowing StepInputs, _ step: inout H2OPlusStep,
    direction: [Float], h: Float, loss: (StepLosses) -> Float
) -> Float {
    let p = buffer.storage(agent)
    let original = Array(p)
    for i in p.indices { p[i] = original[i] + h * direction[i] }
    let plus = loss(evaluate(&step, &agent, inputs))
    for i in p.indices { p[i] = original[i] - h * direction[i] }
    let minus = loss(evaluate(&step, &agent, inputs))
    for i in p.indices { p[i] = original[i] }
    return (plus - minus) / (2 * h)
}

func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

/// The small golden fixture's agent (S=3, A=1, hidden 8, discriminators 16).
func goldenAgent() throws -> H2OAgent {
    let file = try AgentFile.read(path: H2OFixture.path("golden_params_in.safetensors", config: "h2oplus_small"))
    return try AgentFile.agent(from: file, source: "golden")
}

/// The small golden fixture's batch and noise.
func goldenInputs(_ algorithm: Algorithm = .h2oPlus) throws -> StepInputs {
    try StepInputs.load(
        batch: H2OFixture.path("golden_batch.npz", config: "h2oplus_small"),
        noise: H2OFixture.path("golden_noise.npz", config: "h2oplus_small"), algorithm: algorithm,
        observationSize: 3, actionSize: 1)
}

@Suite("H2O+ gradients by finite differences")
struct H2OGradientTests {
    /// (buffer trained, the loss whose gradient it receives).
    static let routes: [(TrainedBuffer, String, @Sendable (StepLosses) -> Float)] = [
        (.discriminatorSA, "L_sa + L_sas", { $0.discriminatorSA + $0.discriminatorSAS }),
        (.discriminatorSAS, "L_sas", { $0.discriminatorSAS }),
        (.policy, "L_pi", { $0.actor }),
        (.logStd, "L_pi", { $0.actor }),
        (.logAlpha, "L_alpha", { $0.alpha }),
        (.q1, "L_Q", { $0.critic }),
        (.q2, "L_Q", { $0.critic }),
        (.value, "L_V", { $0.value }),
    ]

    @Test("each network's gradient is the derivative of exactly the loss that trains it (1e-3 relative, Float)",
          arguments: 0..<8)
    func gradientMatchesFiniteDifference(route: Int) throws {
        var agent = try goldenAgent()
        let inputs = try goldenInputs()
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        let (buffer, lossName, loss) = Self.routes[route]
        _ = evaluate(&step, &agent, inputs)
        let g = buffer.gradient(step)
        let gNorm = norm(g)
        #expect(gNorm > 1e-6, "\(buffer): zero gradient from \(lossName)")
        // Along the gradient: the slope must be |g|.
        let along = g.map { $0 / gNorm }
        let fdAlong = directionalDerivative(buffer, &agent, inputs, &step, direction: along, h: 1e-3, loss: loss)
        #expect(abs(fdAlong - gNorm) <= 1e-3 * gNorm, "\(buffer) ∂\(lossName) along g: FD \(fdAlong) vs |g| \(gNorm)")
        // Along three random directions (padding excluded: the gradient there is zero).
        var random = TrainerRandom(seed: UInt64(route + 11))
        for _ in 0..<3 {
            var d = g.map { $0 == 0 ? 0 : random.normal() }
            let dn = norm(d)
            d = d.map { $0 / dn }
            let analytic = zip(g, d).reduce(0) { $0 + $1.0 * $1.1 }
            let fd = directionalDerivative(buffer, &agent, inputs, &step, direction: d, h: 1e-3, loss: loss)
            #expect(abs(fd - analytic) <= 1e-3 * gNorm, "\(buffer) ∂\(lossName) random direction: FD \(fd) vs \(analytic)")
        }
    }

    @Test("L_sa does not depend on D_sas; L_pi's dependence on Q does not reach the critics' gradient")
    func routing() throws {
        var agent = try goldenAgent()
        let inputs = try goldenInputs()
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        _ = evaluate(&step, &agent, inputs)
        let gQ = TrainedBuffer.q1.gradient(step)
        // L_sa along D_sas: zero.
        let gSAS = TrainedBuffer.discriminatorSAS.gradient(step)
        let d = gSAS.map { $0 / norm(gSAS) }
        let fd = directionalDerivative(.discriminatorSAS, &agent, inputs, &step, direction: d, h: 1e-2) { $0.discriminatorSA }
        #expect(fd == 0)
        // L_pi does depend on Q1 (so discarding its gradient is a real choice) ...
        let dq = gQ.map { $0 / norm(gQ) }
        let fdPi = directionalDerivative(.q1, &agent, inputs, &step, direction: dq, h: 1e-3) { $0.actor }
        #expect(abs(fdPi) > 1e-4)
        // ... and the critic gradient equals ∂L_Q alone (checked above), not ∂(L_Q + L_pi).
        let fdQ = directionalDerivative(.q1, &agent, inputs, &step, direction: dq, h: 1e-3) { $0.critic }
        #expect(abs(fdQ - norm(gQ)) <= 1e-3 * norm(gQ))
        #expect(abs(fdQ + fdPi - norm(gQ)) > 1e-3 * norm(gQ))
    }

    @Test("V trains on real samples only: changing the sim rows leaves its gradient unchanged")
    func valueIgnoresSimRows() throws {
        var agent = try goldenAgent()
        let inputs = try goldenInputs()
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        _ = evaluate(&step, &agent, inputs)
        let before = step.gradValue.array
        let S = inputs.observationSize, A = inputs.actionSize
        // Plain loads and stores through local pointers (a compound assignment through the
        // borrowed batch's pointer crashes the compiler under -sanitize=thread, Swift 6.3.1).
        let obs = inputs.rl.observations, next = inputs.rl.nextObservations
        let act = inputs.rl.actions, rew = inputs.rl.rewards
        for r in inputs.realRows..<inputs.rows {
            for j in 0..<S {
                obs[r * S + j] = obs[r * S + j] + 0.5
                next[r * S + j] = next[r * S + j] - 0.3
            }
            for j in 0..<A { act[r * A + j] = -0.5 * act[r * A + j] }
            rew[r] = rew[r] + 1
        }
        let losses = evaluate(&step, &agent, inputs)
        #expect(step.gradValue.array == before)
        #expect(losses.value.isFinite)
        // The critic's gradient does see them (the sim rows are in L_Q).
        #expect(step.gradQ1.array != before)
    }
}

/// Hidden 8, discriminators 16, batch 8, K = 3: small sizes for the baselines' checks.
func smallHyperparameters() -> Hyperparameters {
    var h = Hyperparameters.robot
    h.hiddenSize = 8
    h.discriminatorHiddenSize = 16
    h.batchSize = 8
    h.cqlNoisyCopies = 3
    return h
}

/// A small agent with larger-than-init output layers, so every loss has a sizeable gradient.
func smallBaselineAgent() -> H2OAgent {
    var agent = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: smallHyperparameters(), seed: 9)
    for k in 0..<agent.q1.parameters.count { agent.q1.parameters[k] *= 3 }
    for k in 0..<agent.q2.parameters.count { agent.q2.parameters[k] *= 3 }
    var vr = TrainerRandom(seed: 4)
    for k in 0..<agent.value.parameters.count where agent.value.parameters[k] != 0 { agent.value.parameters[k] += 0.3 * vr.normal() }
    for k in 0..<agent.policy.parameters.count where agent.policy.parameters[k] != 0 { agent.policy.parameters[k] += 0.3 * vr.normal() }
    return agent
}

/// Inputs of `algorithm` sampled from random transitions.
func smallBaselineInputs(_ algorithm: Algorithm) -> StepInputs {
    var random = TrainerRandom(seed: 5)
    var real = ReplayBuffer(observationSize: 3, actionSize: 1, capacity: 64, overflow: .refuse)
    var sim = ReplayBuffer(observationSize: 3, actionSize: 1, capacity: 64, overflow: .overwriteOldest)
    for i in 0..<128 {
        let o = [random.normal(), random.normal(), random.normal()]
        let n = [random.normal(), random.normal(), random.normal()]
        let a = [2 * random.uniform() - 1]
        if i < 64 {
            real.append(observation: o, action: a, reward: random.normal(), nextObservation: n, terminal: i % 9 == 0)
        } else {
            sim.append(observation: o, action: a, reward: random.normal(), nextObservation: n, terminal: false)
        }
    }
    var inputs = StepInputs(algorithm: algorithm, observationSize: 3, actionSize: 1, hyperparameters: smallHyperparameters())
    inputs.sample(real: real, sim: sim, using: &random)
    return inputs
}

@Suite("Baseline gradients by finite differences")
struct BaselineGradientTests {
    static let cases: [(Algorithm, TrainedBuffer)] = [
        (.h2o, .discriminatorSA), (.h2o, .discriminatorSAS), (.h2o, .policy), (.h2o, .logAlpha), (.h2o, .q1), (.h2o, .q2),
        (.sacSim, .policy), (.sacSim, .logStd), (.sacSim, .logAlpha), (.sacSim, .q1),
        (.iqlReal, .policy), (.iqlReal, .logStd), (.iqlReal, .q1), (.iqlReal, .value),
    ]

    static func loss(_ buffer: TrainedBuffer) -> (StepLosses) -> Float {
        switch buffer {
        case .discriminatorSA: { $0.discriminatorSA + $0.discriminatorSAS }
        case .discriminatorSAS: { $0.discriminatorSAS }
        case .policy, .logStd: { $0.actor }
        case .logAlpha: { $0.alpha }
        case .q1, .q2: { $0.critic }
        case .value: { $0.value }
        }
    }

    @Test("H2O (penalty included), SAC and IQL (AWR) gradients match finite differences", arguments: 0..<14)
    func baselineGradient(index: Int) {
        let (algorithm, buffer) = Self.cases[index]
        var agent = smallBaselineAgent()
        let inputs = smallBaselineInputs(algorithm)
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        let losses = evaluate(&step, &agent, inputs)
        if algorithm == .h2o { #expect(losses.penalty != 0) }
        let g = buffer.gradient(step)
        let gNorm = norm(g)
        #expect(gNorm > 1e-6, "\(algorithm) \(buffer): zero gradient")
        let along = g.map { $0 / gNorm }
        let fd = directionalDerivative(buffer, &agent, inputs, &step, direction: along, h: 1e-3, loss: Self.loss(buffer))
        #expect(abs(fd - gNorm) <= 1e-3 * gNorm, "\(algorithm) \(buffer): FD \(fd) vs |g| \(gNorm)")
    }
}
