import Control
import FixedNN
import Foundation
import Synchronization
import Testing

@testable import H2OTrainer
import Tasks
@testable import Sessions

@Suite("Online trainer publishing into the policy slot (ThreadSanitized)")
struct OnlineTrainerThreadSanitizedTests {
    @Test("the trainer publishes validated policies while a control thread keeps acting, never blocked")
    func publishesWhileControlRuns() throws {
        let task = PendulumTask()
        var h = smallHyperparameters()  // small networks: this test also runs unoptimised under TSan
        h.gamma = task.discount
        h.simStepsPerEpoch = 20
        h.updatesPerEpoch = 10
        h.publishEveryUpdates = 10
        var settings = OnRobotSettings(hyperparameters: h, seed: 4)
        settings.minimumRealTransitions = 100
        settings.warmupUpdates = 0
        settings.validationEpisodes = 1
        settings.validationTolerance = 1e9
        settings.selectOnRobot = false
        let start = PolicyFile(
            network: MLP(
                shape: MLPShape(layerSizes: [3, h.hiddenSize, h.hiddenSize, 2], hidden: .relu), lastLayer: .xavierUniform(gain: 0.01),
                seed: 5),
            head: .tanhGaussian)
        let learner = try StartingPolicy.learner(
            task: task, checkpoint: nil, policy: start, hyperparameters: h, settings: settings, realCapacity: 1000, source: "test")
        var env = SimEnvironment(task: task, seed: 7)
        let real = ReplayBuffer.randomTransitions(in: &env, count: 300, seed: 3)
        for i in 0..<real.count {
            learner.addReal(
                observation: real.observation(i), action: real.action(i), reward: real.reward(i),
                nextObservation: real.nextObservation(i), terminal: real.isTerminal(i))
        }
        let slot = try PolicySlot(initial: DeterministicPolicy(start))
        let publisher = PolicyPublisher(slot: slot, initial: start.network.parameters.array)
        let ring = TransitionRing(capacity: 4, observationCount: 3, actionCount: 1)
        let recorder = RunRecorder(ring: ring, writer: nil, startNanos: 0, feedsTrainer: true)
        let trainer = OnlineTrainer(
            learner: learner, settings: settings, recorder: recorder, publisher: publisher, log: RunLog(startNanos: 0),
            loopTicks: { 0 })
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
        try trainer.start()
        let deadline = Date().addingTimeInterval(60)
        while publisher.slotVersion < 3 && Date() < deadline { usleep(10_000) }
        trainer.stop()
        usleep(20_000)
        stopControl.store(true, ordering: .releasing)
        usleep(20_000)
        #expect(publisher.slotVersion >= 3, "published up to v\(publisher.slotVersion) in \(trainer.updateCount) updates")
        #expect(maxVersion.load(ordering: .relaxed) >= 2)
        #expect(ticks.load(ordering: .relaxed) > 10)
        #expect(trainer.updateCount >= 20)
    }
}
