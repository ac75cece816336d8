import Foundation
import Testing
@testable import FixedNN

/// Holds a network shared read-only by several threads.
private final class SharedNetwork: @unchecked Sendable {
    let network: MLP
    init(_ network: consuming MLP) { self.network = network }
}

@Suite("FixedNN concurrent reads ThreadSanitized")
struct ConcurrentInferenceThreadSanitizedTests {
    @Test("two threads run inference and batched forward on one network, each with its own scratch")
    func concurrentReaders() async {
        let shape = MLPShape(layerSizes: [8, 64, 64, 4], hidden: .tanh, output: .tanh)
        let shared = SharedNetwork(MLP(shape: shape, lastLayer: .uniformFanIn, seed: 9))
        var expected = [Float](repeating: 0, count: 4)
        var scratch = InferenceScratch(shape: shape)
        let x: [Float] = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8]
        x.withUnsafeBufferPointer { xp in
            expected.withUnsafeMutableBufferPointer { op in shared.network.infer(xp, into: op, scratch: &scratch) }
        }
        let frozen = expected
        let results = await withTaskGroup(of: Bool.self) { group in
            for worker in 0..<2 {
                group.addTask {
                    var scratch = InferenceScratch(shape: shape)
                    var ws = MLPWorkspace(shape: shape, maxBatch: 4)
                    var out = [Float](repeating: 0, count: 4)
                    var ok = true
                    for _ in 0..<500 {
                        x.withUnsafeBufferPointer { xp in
                            out.withUnsafeMutableBufferPointer { op in shared.network.infer(xp, into: op, scratch: &scratch) }
                        }
                        ok = ok && out == frozen
                        for r in 0..<4 { for i in 0..<8 { ws.input[r * ws.inputStride + i] = x[i] } }
                        ws.forward(shared.network, batch: 4)
                        ok = ok && abs(ws.output[(worker + 1) * ws.outputStride] - frozen[0]) <= 1e-5
                    }
                    return ok
                }
            }
            var all = true
            for await ok in group { all = all && ok }
            return all
        }
        #expect(results)
    }
}
