import FixedNN
import Foundation
import Testing
import TestSupport

@testable import H2OTrainer

/// The stability options of every method: LayerNorm critics (`criticLayernorm`) and an ensemble
/// of N critics whose targets take the min over all N (`criticEnsemble`).
@Suite("Critic options: LayerNorm and ensemble")
struct CriticOptionsTests {
    func hyperparameters(layernorm: Bool, ensemble: Int) -> Hyperparameters {
        var h = twoThreadTestHyperparameters()
        h.criticLayernorm = layernorm
        h.criticEnsemble = ensemble
        return h
    }

    /// Every float tensor of the agent's file, by name, as bit patterns.
    func bits(_ agent: borrowing H2OAgent, _ algorithm: Algorithm) -> [String: [UInt32]] {
        var out: [String: [UInt32]] = [:]
        for (name, tensor) in AgentFile.tensors(of: agent, algorithm: algorithm).tensors where tensor.dtype != .int64 {
            out[name] = tensor.floats().map(\.bitPattern)
        }
        return out
    }

    @Test(
        "two threads stay bit-identical to one thread with LayerNorm critics and a 3-critic ensemble",
        arguments: [(Algorithm.h2oPlus, true, 3), (.h2o, true, 3), (.h2oPlus, false, 4), (.h2oPlus, true, 2)])
    func twoThreadsIdentical(algorithm: Algorithm, layernorm: Bool, ensemble: Int) throws {
        let h = hyperparameters(layernorm: layernorm, ensemble: ensemble)
        var random = TrainerRandom(seed: 31)
        let replay = SyntheticReplay(observationSize: 3, actionSize: 1, count: 512, using: &random)
        var one = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 5)
        var two = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 5)
        var inputs = StepInputs(algorithm: algorithm, observationSize: 3, actionSize: 1, hyperparameters: h)
        var single = H2OPlusStep(agent: one, inputs: inputs)
        var double = try H2OPlusStep(agent: two, inputs: inputs, threads: 2)
        for step in 0..<5 {
            inputs.sample(real: replay.real, sim: replay.sim, using: &random)
            let a = single.run(&one, inputs)
            let b = double.run(&two, inputs)
            for ((name, x), (_, y)) in zip(a.named, b.named) {
                #expect(x.bitPattern == y.bitPattern, "step \(step) \(name): \(x) vs \(y)")
            }
        }
        let p = bits(one, algorithm), q = bits(two, algorithm)
        #expect(Set(p.keys) == Set(q.keys))
        #expect(p.keys.contains("q\(ensemble)_target.0.weight"))
        #expect(p.keys.contains("q1.0.norm.weight") == layernorm && p.keys.contains("v.1.norm.bias") == layernorm)
        #expect(!p.keys.contains("policy.0.norm.weight"))
        for (name, x) in p { #expect(x == q[name], "\(name)") }
        let finite = one.allFinite
        #expect(finite)
    }

    @Test("a third critic that duplicates Q2 changes nothing else: the min over three is the min over two", arguments: [Algorithm.h2oPlus, .h2o, .sacSim, .iqlReal])
    func duplicatedCriticIsNeutral(algorithm: Algorithm) {
        let h2 = hyperparameters(layernorm: false, ensemble: 2), h3 = hyperparameters(layernorm: false, ensemble: 3)
        var random = TrainerRandom(seed: 32)
        let replay = SyntheticReplay(observationSize: 3, actionSize: 1, count: 512, using: &random)
        var two = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h2, seed: 8)
        var three = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h3, seed: 8)
        three.extraCritics[0].copyParameters(from: three.q2)
        three.extraCriticTargets[0].copyParameters(from: three.q2Target)
        var inputs = StepInputs(algorithm: algorithm, observationSize: 3, actionSize: 1, hyperparameters: h2)
        var stepTwo = H2OPlusStep(agent: two, inputs: inputs)
        var stepThree = H2OPlusStep(agent: three, inputs: inputs)
        for _ in 0..<4 {
            inputs.sample(real: replay.real, sim: replay.sim, using: &random)
            let a = stepTwo.run(&two, inputs)
            let b = stepThree.run(&three, inputs)
            #expect(a.actor.bitPattern == b.actor.bitPattern && a.value.bitPattern == b.value.bitPattern)
            #expect(b.critic > a.critic)  // Q3's own squared error is added
        }
        let p = bits(two, algorithm), q = bits(three, algorithm)
        for (name, x) in p where !name.contains("hyper") { #expect(x == q[name], "\(name)") }
        #expect(q["q3.0.weight"] == q["q2.0.weight"] && q["q3_target.2.bias"] == q["q2_target.2.bias"])
    }

    @Test("a pessimistic third target critic sets V's target and the actor's min")
    func minimumOverAllCritics() {
        let h = hyperparameters(layernorm: false, ensemble: 3)
        var random = TrainerRandom(seed: 33)
        let replay = SyntheticReplay(observationSize: 3, actionSize: 1, count: 512, using: &random)
        var agent = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 9)
        var inputs = StepInputs(algorithm: .h2oPlus, observationSize: 3, actionSize: 1, hyperparameters: h)
        inputs.sample(real: replay.real, sim: replay.sim, using: &random)
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        let before = step.gradients(&agent, inputs)
        agent.extraCriticTargets[0].setBias(layer: 2, output: 0, -1000)
        agent.extraCritics[0].setBias(layer: 2, output: 0, -1000)
        let after = step.gradients(&agent, inputs)
        // V regresses on min Q̄ ≈ −1000 now; the actor's min Q ≈ −1000 makes L_π ≈ +1000.
        #expect(before.value < 10 && after.value > 1e4)
        #expect(before.actor < 10 && after.actor > 900)
        // The actor's gradient reaches π only through the critic attaining the min: Q3.
        let policyGradient = step.gradPolicy.array
        #expect(policyGradient.contains { $0 != 0 })
    }

    @Test("checkpoints keep LayerNorm parameters and the extra critics; a default checkpoint still loads")
    func checkpointRoundTrip() throws {
        let h = hyperparameters(layernorm: true, ensemble: 3)
        var random = TrainerRandom(seed: 34)
        let replay = SyntheticReplay(observationSize: 3, actionSize: 1, count: 512, using: &random)
        var agent = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 10)
        var inputs = StepInputs(algorithm: .h2oPlus, observationSize: 3, actionSize: 1, hyperparameters: h)
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        for _ in 0..<3 {
            inputs.sample(real: replay.real, sim: replay.sim, using: &random)
            _ = step.run(&agent, inputs)
        }
        let file = AgentFile.tensors(of: agent, algorithm: .h2oPlus)
        #expect(file.tensors["q3.0.norm.weight"]?.shape == [h.hiddenSize])
        #expect(file.tensors["adam.m.q3.1.norm.bias"] != nil)
        let decoded = try SafeTensors.decode(file.encode(), source: "checkpoint")
        let back = try AgentFile.agent(from: decoded, base: .robot, source: "checkpoint")
        let (backNorm, backCount) = (back.hyperparameters.criticLayernorm, back.criticCount)
        let backSteps = back.extraCriticOptimizers[0].stepCount
        #expect(backNorm && backCount == 3)
        #expect(bits(back, .h2oPlus) == bits(agent, .h2oPlus))
        #expect(backSteps == 3)
        // A checkpoint of the default networks (no LayerNorm, two critics) loads as before.
        let plain = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: twoThreadTestHyperparameters(), seed: 11)
        var old = AgentFile.tensors(of: plain, algorithm: .h2oPlus)
        // As written before these options existed: no critic_layernorm / critic_ensemble keys.
        old.metadata["h2o.hyperparameters"] = old.metadata["h2o.hyperparameters"]!
            .replacingOccurrences(of: "\"critic_ensemble\":2,", with: "")
            .replacingOccurrences(of: "\"critic_layernorm\":false,", with: "")
        #expect(!(old.metadata["h2o.hyperparameters"]!.contains("critic_")))
        let loaded = try AgentFile.agent(from: old, base: .robot, source: "old")
        let (loadedNorm, loadedCount) = (loaded.hyperparameters.criticLayernorm, loaded.criticCount)
        #expect(!loadedNorm && loadedCount == 2)
        #expect(bits(loaded, .h2oPlus) == bits(plain, .h2oPlus))
        // LayerNorm asked for but absent from the file: a one-line error naming the tensor.
        old.metadata["h2o.hyperparameters"] = "{\"critic_layernorm\": true}"
        #expect(throws: TrainerError.self) { _ = try AgentFile.agent(from: old, base: .robot, source: "old") }
    }

    @Test("a step with LayerNorm critics and 3 critics allocates nothing after set-up", arguments: [Algorithm.h2oPlus, .h2o, .iqlReal])
    func noAllocation(algorithm: Algorithm) {
        let h = hyperparameters(layernorm: true, ensemble: 3)
        var random = TrainerRandom(seed: 35)
        let replay = SyntheticReplay(observationSize: 3, actionSize: 1, count: 512, using: &random)
        var agent = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 12)
        var inputs = StepInputs(algorithm: algorithm, observationSize: 3, actionSize: 1, hyperparameters: h)
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        inputs.sample(real: replay.real, sim: replay.sim, using: &random)
        _ = step.run(&agent, inputs)
        let count = allocationsOnThisThread {
            for _ in 0..<10 {
                inputs.sample(real: replay.real, sim: replay.sim, using: &random)
                _ = step.run(&agent, inputs)
            }
        }
        #expect(count == 0, "\(count) allocations in 10 steps")
    }

    @Test("criticEnsemble outside 2…16 is rejected with the field's name")
    func validation() {
        var h = Hyperparameters.robot
        h.criticEnsemble = 1
        #expect(throws: TrainerError.self) { try h.validate() }
        h.criticEnsemble = 10
        #expect(throws: Never.self) { try h.validate() }
    }
}
