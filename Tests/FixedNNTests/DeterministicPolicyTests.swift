import Foundation
import TestSupport
import Testing

@testable import FixedNN

@Suite("Deterministic policy for the control loop")
struct DeterministicPolicyTests {
    /// A policy with a plain tanh head (deterministic actor trained elsewhere).
    func tanhHeadPolicy() -> PolicyFile {
        let shape = MLPShape(layerSizes: [3, 24, 2], hidden: .relu)
        return PolicyFile(
            network: MLP(shape: shape, lastLayer: .uniformFanIn, seed: 5), head: .tanh,
            observationMean: [1, 2, 3], observationStd: [0.5, 1, 2], actionScale: [0.5, 4])
    }

    @Test("act normalises, runs the network and squashes with tanh, for both heads")
    func actMatchesReference() throws {
        for useTanhHead in [true, false] {
            let file = useTanhHead ? tanhHeadPolicy() : smallPolicy()
            let path = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fixednn-\(getpid())-det.safetensors"
            ).path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try file.save(path: path)
            let loaded = try PolicyFile.load(path: path)
            #expect(loaded.head == file.head && loaded.actionScale == file.actionScale)
            let policy = DeterministicPolicy(loaded)
            let ref = ReferenceMLP(file.network)
            let obs = randomValues(file.observationSize, seed: 3, scale: 2)
            var action = [Float](repeating: 0, count: file.actionSize)
            obs.withUnsafeBufferPointer { o in
                action.withUnsafeMutableBufferPointer { a in
                    policy.act(observation: o.baseAddress!, action: a.baseAddress!)
                }
            }
            let normalised = (0..<obs.count).map {
                Double((obs[$0] - file.observationMean[$0]) / file.observationStd[$0])
            }
            let out = ref.forward(normalised)
            for j in 0..<file.actionSize { #expect(abs(Double(action[j]) - tanh(out[j])) <= 1e-5) }
        }
    }

    @Test("replicas share shape and weights; parameters can be overwritten in place")
    func replicas() {
        let policy = DeterministicPolicy(smallPolicy())
        let replica = policy.makeReplica()
        #expect(replica.shapeCode == policy.shapeCode)
        #expect(Array(replica.parameters) == Array(policy.parameters))
        var a: Float = 0, b: Float = 0
        let obs: [Float] = [0.3, -0.2]
        replica.parameters.update(repeating: 0)
        policy.act(observation: obs, action: &a)
        replica.act(observation: obs, action: &b)
        #expect(b == 0 && a != 0)
        #expect(DeterministicPolicy(tanhHeadPolicy()).shapeCode != policy.shapeCode)
    }

    @Test("10,000 actions allocate nothing")
    func actAllocatesNothing() {
        let policy = DeterministicPolicy(tanhHeadPolicy())
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: 3)
        let action = UnsafeMutablePointer<Float>.allocate(capacity: 2)
        defer { obs.deallocate(); action.deallocate() }
        obs.initialize(repeating: 0.5, count: 3)
        policy.act(observation: obs, action: action)  // warm-up (debug builds instantiate metadata once)
        var sum: Float = 0
        let count = allocationsOnThisThread {
            for k in 0..<10_000 {
                obs[k % 3] += 1e-3
                policy.act(observation: obs, action: action)
                sum += action[0]
            }
        }
        #expect(count == 0)
        #expect(sum.isFinite)
    }
}
