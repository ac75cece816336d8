import FixedNN
import Testing
import TestSupport

@testable import H2OTrainer

/// Small hyperparameters for the thread tests: the robot preset with narrower discriminators.
func twoThreadTestHyperparameters() -> Hyperparameters {
    var h = Hyperparameters.robot
    h.discriminatorHiddenSize = 64
    return h
}

@Suite("Two-thread H2O+ step")
struct H2OTwoThreadTests {
    @Test("two threads give bit-identical losses, sim weights and agents to one thread", arguments: [Algorithm.h2oPlus, .h2o])
    func identicalToOneThread(algorithm: Algorithm) throws {
        let h = twoThreadTestHyperparameters()
        var random = TrainerRandom(seed: 21)
        let replay = SyntheticReplay(observationSize: 3, actionSize: 1, count: 512, using: &random)
        var one = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 5)
        var two = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 5)
        var inputs = StepInputs(algorithm: algorithm, observationSize: 3, actionSize: 1, hyperparameters: h)
        var single = H2OPlusStep(agent: one, inputs: inputs)
        var double = try H2OPlusStep(agent: two, inputs: inputs, threads: 2)
        #expect(single.threadCount == 1 && double.threadCount == 2)
        for step in 0..<6 {
            inputs.sample(real: replay.real, sim: replay.sim, using: &random)
            let a = single.run(&one, inputs)
            let b = double.run(&two, inputs)
            for ((name, x), (_, y)) in zip(a.named, b.named) {
                #expect(x.bitPattern == y.bitPattern, "step \(step) \(name): \(x) vs \(y)")
            }
            #expect(single.simWeights.array == double.simWeights.array, "step \(step) sim weights")
        }
        let p = AgentFile.tensors(of: one, algorithm: algorithm), q = AgentFile.tensors(of: two, algorithm: algorithm)
        #expect(Set(p.tensors.keys) == Set(q.tensors.keys))
        for (name, tensor) in p.tensors where tensor.dtype != .int64 {
            #expect(tensor.floats().map(\.bitPattern) == q.tensors[name]?.floats().map(\.bitPattern), "\(name)")
        }
    }

    @Test("the two-thread step allocates nothing after set-up, on the calling thread or the worker")
    func noAllocation() throws {
        let h = twoThreadTestHyperparameters()
        var random = TrainerRandom(seed: 22)
        let replay = SyntheticReplay(observationSize: 3, actionSize: 1, count: 512, using: &random)
        var agent = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: h, seed: 6)
        var inputs = StepInputs(algorithm: .h2oPlus, observationSize: 3, actionSize: 1, hyperparameters: h)
        var step = try H2OPlusStep(agent: agent, inputs: inputs, threads: 2)
        inputs.sample(real: replay.real, sim: replay.sim, using: &random)
        _ = step.run(&agent, inputs)
        // The worker reports its own allocation counter through a job posted before and after.
        let counters = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
        defer { counters.deallocate() }
        let stepWorker = step.worker
        #expect(stepWorker != nil)
        guard let worker = stepWorker else { return }
        worker.post({ $0.assumingMemoryBound(to: UInt64.self)[0] = threadAllocationCount() }, context: counters)
        worker.wait()
        let here = allocationsOnThisThread {
            for _ in 0..<20 {
                inputs.sample(real: replay.real, sim: replay.sim, using: &random)
                _ = step.run(&agent, inputs)
            }
        }
        worker.post({ $0.assumingMemoryBound(to: UInt64.self)[1] = threadAllocationCount() }, context: counters)
        worker.wait()
        #expect(here == 0, "\(here) allocations on the calling thread in 20 steps")
        #expect(counters[1] - counters[0] == 0, "\(counters[1] - counters[0]) allocations on the worker in 20 steps")
    }
}
