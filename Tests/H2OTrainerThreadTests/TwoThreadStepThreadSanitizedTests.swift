import FixedNN
import H2OTrainer
import Testing

/// The two-thread H2O+ step under the thread sanitizer (`make tsan-test`): the worker runs the
/// discriminators' phase while the calling thread runs the learner's forward passes, every
/// step; TSan reports any memory both touch without ordering. This target holds only this
/// test because swift-frontend 6.3.1 crashes compiling H2OTrainerTests with -sanitize=thread.
@Suite("Two-thread H2O+ step ThreadSanitized")
struct TwoThreadStepThreadSanitizedTests {
    @Test("ten two-thread steps race-free and equal to ten one-thread steps", arguments: [Algorithm.h2oPlus, .h2o])
    func twoThreadSteps(algorithm: Algorithm) throws {
        var h = Hyperparameters.robot
        h.discriminatorHiddenSize = 32
        h.batchSize = 16
        var random = TrainerRandom(seed: 3)
        let replay = SyntheticReplay(observationSize: 3, actionSize: 1, count: 256, using: &random)
        var one = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 4)
        var two = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 4)
        var inputs = StepInputs(algorithm: algorithm, observationSize: 3, actionSize: 1, hyperparameters: h)
        var single = H2OPlusStep(agent: one, inputs: inputs)
        var double = try H2OPlusStep(agent: two, inputs: inputs, threads: 2)
        for step in 0..<10 {
            inputs.sample(real: replay.real, sim: replay.sim, using: &random)
            let a = single.run(&one, inputs)
            let b = double.run(&two, inputs)
            #expect(a.critic.bitPattern == b.critic.bitPattern, "step \(step) critic loss")
            #expect(a.discriminatorSAS.bitPattern == b.discriminatorSAS.bitPattern, "step \(step) L_sas")
        }
        #expect(one.discriminatorSAS.parameters.array == two.discriminatorSAS.parameters.array)
        #expect(one.q1.parameters.array == two.q1.parameters.array)
    }
}
