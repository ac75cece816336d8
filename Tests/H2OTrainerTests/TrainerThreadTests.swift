import Control
import FixedNN
import Foundation
import Synchronization
import Testing

@testable import H2OTrainer

/// A slot policy around a copy of a policy network: deterministic action tanh(μ).
final class NetworkSlotPolicy: SlotPolicy, @unchecked Sendable {
    var network: MLP
    var scratch: InferenceScratch
    let output: UnsafeMutablePointer<Float>
    let actionSize: Int
    init(shape: MLPShape) {
        network = MLP(shape: shape)
        scratch = InferenceScratch(shape: shape)
        output = .allocate(capacity: shape.outputSize)
        actionSize = shape.outputSize / 2
    }
    deinit { output.deallocate() }
    var observationSize: Int { network.shape.inputSize }
    var shape: [Int] { network.shape.layerSizes }
    var parameters: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: network.parameters.baseAddress, count: network.parameters.count)
    }
    func makeReplica() -> Self {
        let r = Self(shape: network.shape)
        r.network.copyParameters(from: network)
        return r
    }
    required convenience init(copying shape: MLPShape) { self.init(shape: shape) }
    func act(observation: UnsafePointer<Float>, action: UnsafeMutablePointer<Float>) {
        network.infer(observation, into: output, scratch: &scratch)
        TanhGaussianHead.deterministicAction(networkOutput: output, actionSize: actionSize, into: action)
    }
}

@Suite("Trainer thread publishing into the policy slot (ThreadSanitized)")
struct TrainerThreadThreadSanitizedTests {
    @Test("the trainer publishes validated policies while a control thread keeps acting, never blocked")
    func publishesWhileControlRuns() throws {
        var h = smallHyperparameters()  // small networks: this test also runs unoptimised under TSan
        h.simStepsPerEpoch = 20
        h.updatesPerEpoch = 10
        let run = try pendulumRun(hyperparameters: h, realCount: 300)
        let slot = try PolicySlot(initial: NetworkSlotPolicy(shape: run.agent.policy.shape))
        let trainer = TrainerThread(run: run, slot: slot, publishEvery: 10, validationEpisodes: 1)
        let stopControl = Atomic<Bool>(false)
        let maxVersion = Atomic<UInt64>(0)
        let ticks = Atomic<Int>(0)
        let control = Thread {
            let obs: [Float] = [1, 0, 0]
            var action: [Float] = [0]
            while !stopControl.load(ordering: .acquiring) {
                let (policy, version, _) = slot.acquire()
                action.withUnsafeMutableBufferPointer { policy.act(observation: obs, action: $0.baseAddress!) }
                if !action[0].isFinite { break }
                if version > maxVersion.load(ordering: .relaxed) { maxVersion.store(version, ordering: .relaxed) }
                ticks.add(1, ordering: .relaxed)
                usleep(200)
            }
        }
        control.start()
        trainer.start()
        let deadline = Date().addingTimeInterval(60)
        while trainer.published < 2 && Date() < deadline && !trainer.isFinished { usleep(10_000) }
        trainer.stop()
        usleep(20_000)
        stopControl.store(true, ordering: .releasing)
        usleep(20_000)
        #expect(trainer.stopReason == nil)
        #expect(trainer.published >= 2, "published \(trainer.published), rejected \(trainer.rejected), updates \(trainer.updates)")
        #expect(maxVersion.load(ordering: .relaxed) >= 2)
        #expect(ticks.load(ordering: .relaxed) > 10)
        #expect(trainer.isFinished)
    }
}
