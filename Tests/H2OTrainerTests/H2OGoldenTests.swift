import FixedNN
import Foundation
import Testing

@testable import H2OTrainer

/// Where the golden fixtures live (written by Tests/Fixtures/h2o/reference_h2oplus.py, one
/// subfolder per configuration).
enum H2OFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/h2o")
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    static func path(_ name: String, config: String) -> String {
        directory.appendingPathComponent(config).appendingPathComponent(name).path
    }

    /// The configurations the reference script writes (its `CONFIGS`, listed in configs.json):
    /// hidden 1, 8, 32, 63, 65, 100, 256; discriminators 16, 64, 256; RL batch 1 (sac-sim,
    /// iql-real) or 2 (h2o+, h2o: one real and one sim row), 7, 8, 32, 256; (S, A) of (3, 1),
    /// (4, 3), (5, 2); the mujoco (256/256/256) and robot (32/256/32) presets' sizes.
    static let configs = [
        "h2oplus_small", "h2oplus_mujoco", "h2oplus_robot", "h2oplus_h1", "h2oplus_h100",
        "h2o_robot", "h2o_h65", "h2o_h63",
        "sacsim_robot", "sacsim_h1", "sacsim_h100",
        "iqlreal_robot", "iqlreal_h65", "iqlreal_h63",
    ]
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

@Suite("One training step of every algorithm against the JAX reference, at awkward widths")
struct H2OGoldenTests {
    @Test("configs.json lists exactly the configurations tested here")
    func everyConfigurationIsTested() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: H2OFixture.path("configs.json")))
        let listed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(listed.keys) == Set(H2OFixture.configs))
    }

    /// Relative tolerance 1e-4 everywhere. Floors for near-zero values: losses and sim weights
    /// 1e-6 absolute; each parameter or Adam tensor 1e-2 × its largest magnitude (an entry under
    /// 1 % of its tensor's largest is held to 1e-6 × that largest, absolute). The floor is set by
    /// Adam's first moments m = 0.9·m₀ + 0.1·g, whose entries near zero are differences of
    /// float32 sums over 256-wide layers and batches: at a floor of 1e-3 × the largest they
    /// differ from the float64 reference by up to 4e-4 relative (5e-10 absolute), while a
    /// layout or gradient bug shows as errors of order 1.
    @Test(
        "one step: every loss, sim weight, parameter, target and Adam moment and count match the reference to 1e-4",
        arguments: H2OFixture.configs)
    func goldenStep(config: String) throws {
        let file = try AgentFile.read(path: H2OFixture.path("golden_params_in.safetensors", config: config))
        let algorithm = try #require(file.metadata["h2o.algorithm"].flatMap(Algorithm.init(rawValue:)))
        var agent = try AgentFile.agent(from: file, source: config)
        var inputs = try StepInputs.load(
            batch: H2OFixture.path("golden_batch.npz", config: config),
            noise: H2OFixture.path("golden_noise.npz", config: config),
            algorithm: algorithm, observationSize: agent.observationSize, actionSize: agent.actionSize)
        // H2O's next-state noise scale: the real set's per-dimension std, given with the batch.
        if let std = try NumpyArchive.readNPZ(path: H2OFixture.path("golden_batch.npz", config: config))["real_observation_std"] {
            for (j, v) in std.floats().enumerated() { inputs.nextStateStd[j] = v }
        }
        var step = H2OPlusStep(agent: agent, inputs: inputs)
        let losses = step.run(&agent, inputs)

        let expected = try NumpyArchive.readNPZ(path: H2OFixture.path("golden_losses.npz", config: config))
        var compared = 0
        for (name, value) in losses.named {
            // A loss the algorithm does not compute (e.g. V for H2O) is absent from the
            // reference and must be exactly zero here; absent charts (α and the sim weight of
            // IQL, which has neither) are not compared.
            guard let reference = expected[name.replacingOccurrences(of: "/", with: ".")] else {
                if name.hasPrefix("losses/") {
                    #expect(value == 0, "\(config) \(name): \(value), but the reference computes no such loss")
                }
                continue
            }
            compared += 1
            let want = reference.doubles()[0]
            let rel = abs(Double(value) - want) / max(abs(want), 1e-6)
            #expect(rel <= 1e-4, "\(config) \(name): \(value) vs reference \(want)")
        }
        #expect(compared >= 3, "\(config): only \(compared) losses compared")
        let weights = try #require(expected["sim_weights"]).floats()
        #expect(step.simWeights.count == weights.count, "\(config): \(step.simWeights.count) sim weights")
        let (wErr, _) = worstRelativeError(step.simWeights.array, weights, floor: 1e-6)
        #expect(wErr <= 1e-4, "\(config) sim weights \(step.simWeights.array) vs \(weights)")

        let out = AgentFile.tensors(of: agent, algorithm: algorithm)
        let want = try AgentFile.read(path: H2OFixture.path("golden_params_out.safetensors", config: config))
        #expect(Set(out.tensors.keys) == Set(want.tensors.keys), "\(config)")
        for (name, tensor) in want.tensors {
            guard let got = out.tensors[name] else { continue }
            #expect(
                got.shape == tensor.shape || tensor.count == 1,
                "\(config) \(name) shape \(got.shape) vs \(tensor.shape)")
            if tensor.dtype == .int64 {
                #expect(got.ints() == tensor.ints(), "\(config) \(name)")
                continue
            }
            let b = tensor.floats()
            let scale = b.map(abs).max() ?? 0
            let (err, at) = worstRelativeError(got.floats(), b, floor: max(1e-2 * scale, 1e-12))
            #expect(err <= 1e-4, "\(config) \(name)[\(at)]: relative error \(err)")
        }
    }
}
