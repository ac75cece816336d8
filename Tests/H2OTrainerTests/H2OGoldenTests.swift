import FixedNN
import Foundation
import Testing

@testable import H2OTrainer

/// Where the H2O+ golden fixture lives (written by Tests/Fixtures/h2o/reference_h2oplus.py).
enum H2OFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/h2o")
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// Largest |a − b| / max(|b|, floor) over two equally long arrays, with the index.
func worstRelativeError(_ a: [Float], _ b: [Float], floor: Float) -> (Float, Int) {
    var worst: Float = 0, at = -1
    for i in 0..<min(a.count, b.count) {
        let e = abs(a[i] - b[i]) / max(abs(b[i]), floor)
        if e > worst || e.isNaN { worst = e; at = i }
    }
    return (worst, at)
}

@Suite("H2O+ step against the JAX reference")
struct H2OGoldenTests {
    @Test(
        "one step: losses, sim weights, parameters, targets and Adam state match the reference to 1e-4",
        arguments: [("golden_", Algorithm.h2oPlus), ("golden_h2o_", .h2o), ("golden_iql_", .iqlReal)])
    func goldenStep(prefix: String, algorithm: Algorithm) throws {
        let file = try TensorFile.read(path: H2OFixture.path(prefix + "params_in.safetensors"))
        var agent = try AgentFile.agent(from: file, source: prefix + "params_in.safetensors")
        var inputs = try StepInputs.load(
            batch: H2OFixture.path(prefix + "batch.npz"), noise: H2OFixture.path(prefix + "noise.npz"),
            algorithm: algorithm, observationSize: agent.observationSize, actionSize: agent.actionSize)
        // H2O's next-state noise scale: the real set's per-dimension std, given with the batch.
        if let std = try NumpyArchive.readNPZ(path: H2OFixture.path(prefix + "batch.npz"))["real_observation_std"] {
            for (j, v) in std.floats().enumerated() { inputs.nextStateStd[j] = v }
        }
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        let losses = step.run(&agent, inputs)

        let expected = try NumpyArchive.readNPZ(path: H2OFixture.path(prefix + "losses.npz"))
        for (name, value) in losses.named where expected[name.replacingOccurrences(of: "/", with: ".")] != nil {
            let want = expected[name.replacingOccurrences(of: "/", with: ".")]!.doubles()[0]
            let rel = abs(Double(value) - want) / max(abs(want), 1e-6)
            #expect(rel <= 1e-4, "\(name): \(value) vs reference \(want)")
        }
        let weights = expected["sim_weights"]!.floats()
        let (wErr, _) = worstRelativeError(step.simWeights.array, weights, floor: 1e-6)
        #expect(wErr <= 1e-4, "sim weights \(step.simWeights.array) vs \(weights)")

        let out = AgentFile.tensors(of: agent, algorithm: algorithm)
        let want = try TensorFile.read(path: H2OFixture.path(prefix + "params_out.safetensors"))
        #expect(Set(out.tensors.keys) == Set(want.tensors.keys))
        for (name, tensor) in want.tensors {
            guard let got = out.tensors[name] else { continue }
            #expect(got.shape == tensor.shape || tensor.count == 1, "\(name) shape \(got.shape) vs \(tensor.shape)")
            if tensor.dtype == .int64 {
                #expect(got.ints() == tensor.ints(), "\(name)")
                continue
            }
            let b = tensor.floats()
            let scale = b.map(abs).max() ?? 0
            let (err, at) = worstRelativeError(got.floats(), b, floor: max(1e-3 * scale, 1e-12))
            #expect(err <= 1e-4, "\(name)[\(at)]: relative error \(err)")
        }
    }
}
