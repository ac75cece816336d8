import Foundation
import Testing

@testable import Benchmarks
import FixedNN

@Suite("Inference benchmark library")
struct InferenceBenchmarkTests {
    @Test("single-sample and batched measurements produce consistent figures")
    func measures() {
        let reference = InferenceBenchmark.referenceNetworks[1]
        let r = InferenceBenchmark.singleSample(name: reference.name, network: reference.make(), calls: 2000)
        #expect(r.calls == 2000 && r.medianNanoseconds > 0 && r.p99Nanoseconds >= r.medianNanoseconds)
        #expect(r.flopsPerCall == 2 * (8 * 64 + 64 * 64 + 64 * 4))
        let b = InferenceBenchmark.batched(
            name: "small", shape: MLPShape(layerSizes: [4, 32, 1], hidden: .relu), batch: 16, repetitions: 3)
        #expect(b.forwardBackwardMinimumMicroseconds <= b.forwardBackwardMedianMicroseconds)
        #expect(b.forwardBackwardFlops == 2 * 16 * (4 * 32 + 32) * 3)
    }

    @Test("exported benchmark weights load back as the same networks")
    func export() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fixednn-bench-\(getpid())")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try InferenceBenchmark.exportReferenceNetworks(to: dir)
        for reference in InferenceBenchmark.referenceNetworks {
            let file = try SafeTensors.read(path: "\(dir)/\(reference.fileName)")
            #expect(
                file.metadata["layer_sizes"] == "["
                    + reference.shape.layerSizes.map(String.init).joined(separator: ",") + "]")
            let net = try file.network(prefix: "net", shape: reference.shape)
            let same = net.parameters.array == reference.make().parameters.array
            #expect(same)
        }
    }
}
