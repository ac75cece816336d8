import FixedNN
import Foundation
import Testing

@testable import H2OTrainer

/// A Python with numpy and safetensors for the PyTorch-layout check, or nil (the test is then
/// skipped with a printed note). Looked for in `$H2O_REFERENCE_PYTHON`, the venv the golden
/// fixtures' script documents (/tmp/venv-h2o), then every `python3` on `PATH`.
enum ReferencePython {
    static let path: String? = {
        let environment = ProcessInfo.processInfo.environment
        var candidates = [environment["H2O_REFERENCE_PYTHON"], "/tmp/venv-h2o/bin/python"].compactMap { $0 }
        for dir in (environment["PATH"] ?? "").split(separator: ":") { candidates.append("\(dir)/python3") }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            if (try? run(candidate, ["-c", "import numpy, safetensors.numpy"]))?.status == 0 {
                return candidate
            }
        }
        print(
            "note: skipping the numpy round trip of hidden-256 checkpoints: no python3 with numpy and safetensors "
                + "(pip install numpy safetensors, or set H2O_REFERENCE_PYTHON)")
        return nil
    }()

    /// Runs `executable` with `arguments`; returns its exit status and standard error.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}

/// Overwrites every logical weight and bias of a buffer laid out like `shape` (padding stays
/// zero) with N(0, 1/fan_in) weights and N(0, 0.01) biases, so no layer is near zero.
func randomizeLayered(
    _ buffer: inout FloatBuffer, shape: MLPShape, random: inout TrainerRandom, scale: Float = 1
) {
    for l in 0..<shape.layerCount {
        let fanIn = shape.layerSizes[l], fanOut = shape.layerSizes[l + 1]
        let std = scale / Float(fanIn).squareRoot()
        for o in 0..<fanOut {
            for i in 0..<fanIn {
                buffer[shape.weightIndex(layer: l, output: o, input: i)] = std * random.normal()
            }
            buffer[shape.biasIndex(layer: l, output: o)] = 0.1 * scale * random.normal()
        }
    }
}

/// An agent whose every parameter, target, Adam moment and step count is random (not the
/// initialisation's structure), at hidden size `hidden` and discriminator width `discriminator`.
func randomAgent(S: Int, A: Int, hidden: Int, discriminator: Int, seed: UInt64) -> H2OAgent {
    var h = Hyperparameters.mujoco
    h.hiddenSize = hidden
    h.discriminatorHiddenSize = discriminator
    var agent = H2OAgent(observationSize: S, actionSize: A, hyperparameters: h, seed: seed)
    var r = TrainerRandom(seed: seed ^ 0x5EED)
    func net(_ mlp: inout MLP) {
        let shape = mlp.shape
        randomizeLayered(&mlp.parameters, shape: shape, random: &r)
    }
    func moments(_ adam: inout Adam, _ shape: MLPShape, steps: Int) {
        randomizeLayered(&adam.firstMoment, shape: shape, random: &r, scale: 1e-2)
        randomizeLayered(&adam.secondMoment, shape: shape, random: &r, scale: 1e-3)
        adam.stepCount = steps
    }
    net(&agent.policy)
    net(&agent.q1)
    net(&agent.q2)
    net(&agent.q1Target)
    net(&agent.q2Target)
    net(&agent.value)
    net(&agent.discriminatorSA)
    net(&agent.discriminatorSAS)
    let s = H2OAgent.shapes(observationSize: S, actionSize: A, hyperparameters: h)
    moments(&agent.policyOptimizer, s.policy, steps: 11)
    moments(&agent.q1Optimizer, s.critic, steps: 12)
    moments(&agent.q2Optimizer, s.critic, steps: 12)
    moments(&agent.valueOptimizer, s.value, steps: 13)
    moments(&agent.discriminatorSAOptimizer, s.discriminatorSA, steps: 14)
    moments(&agent.discriminatorSASOptimizer, s.discriminatorSAS, steps: 15)
    agent.logStd[0] = 0.8 + 0.1 * r.normal()
    agent.logStd[1] = -0.9 + 0.1 * r.normal()
    agent.logAlpha[0] = -0.3 + 0.1 * r.normal()
    for k in 0..<2 {
        agent.logStdOptimizer.firstMoment[k] = 1e-2 * r.normal()
        agent.logStdOptimizer.secondMoment[k] = 1e-4 * r.uniform()
    }
    agent.logStdOptimizer.stepCount = 11
    agent.logAlphaOptimizer.firstMoment[0] = 1e-2 * r.normal()
    agent.logAlphaOptimizer.secondMoment[0] = 1e-4 * r.uniform()
    agent.logAlphaOptimizer.stepCount = 16
    return agent
}

/// Every buffer of the agent (padding included) with its name, and every step count.
func agentBuffers(_ agent: borrowing H2OAgent) -> [(String, [Float])] {
    [
        ("policy", agent.policy.parameters.array), ("q1", agent.q1.parameters.array),
        ("q2", agent.q2.parameters.array),
        ("q1_target", agent.q1Target.parameters.array), ("q2_target", agent.q2Target.parameters.array),
        ("v", agent.value.parameters.array), ("disc_sa", agent.discriminatorSA.parameters.array),
        ("disc_sas", agent.discriminatorSAS.parameters.array), ("log_std", agent.logStd.array),
        ("log_alpha", agent.logAlpha.array),
        ("m.policy", agent.policyOptimizer.firstMoment.array),
        ("v.policy", agent.policyOptimizer.secondMoment.array),
        ("m.q1", agent.q1Optimizer.firstMoment.array), ("v.q1", agent.q1Optimizer.secondMoment.array),
        ("m.q2", agent.q2Optimizer.firstMoment.array), ("v.q2", agent.q2Optimizer.secondMoment.array),
        ("m.v", agent.valueOptimizer.firstMoment.array), ("v.v", agent.valueOptimizer.secondMoment.array),
        ("m.disc_sa", agent.discriminatorSAOptimizer.firstMoment.array),
        ("v.disc_sa", agent.discriminatorSAOptimizer.secondMoment.array),
        ("m.disc_sas", agent.discriminatorSASOptimizer.firstMoment.array),
        ("v.disc_sas", agent.discriminatorSASOptimizer.secondMoment.array),
        ("m.log_std", agent.logStdOptimizer.firstMoment.array),
        ("v.log_std", agent.logStdOptimizer.secondMoment.array),
        ("m.log_alpha", agent.logAlphaOptimizer.firstMoment.array),
        ("v.log_alpha", agent.logAlphaOptimizer.secondMoment.array),
        (
            "steps",
            [
                agent.policyOptimizer.stepCount, agent.logStdOptimizer.stepCount, agent.q1Optimizer.stepCount,
                agent.q2Optimizer.stepCount, agent.valueOptimizer.stepCount,
                agent.discriminatorSAOptimizer.stepCount,
                agent.discriminatorSASOptimizer.stepCount, agent.logAlphaOptimizer.stepCount,
            ].map(Float.init)
        ),
    ]
}

private func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("agentfile-\(UUID().uuidString)")
        .path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("Checkpoints in PyTorch order at every width")
struct AgentFileRoundTripTests {
    @Test(
        "resume (write, read) keeps every weight, target, Adam moment and step count bit-identical",
        arguments: [(100, 64), (256, 256), (65, 100)])
    func resumeIsBitIdentical(hidden: Int, discriminator: Int) throws {
        let agent = randomAgent(
            S: 5, A: 2, hidden: hidden, discriminator: discriminator, seed: UInt64(hidden))
        let path = try temporaryDirectory() + "/checkpoint.safetensors"
        try AgentFile.tensors(of: agent, algorithm: .h2oPlus).writeDurably(path: path)
        let restored = try AgentFile.agent(
            from: AgentFile.read(path: path), expect: (5, 2, hidden, discriminator), source: path)
        for ((name, a), (_, b)) in zip(agentBuffers(agent), agentBuffers(restored)) {
            #expect(
                a.map(\.bitPattern) == b.map(\.bitPattern),
                "hidden \(hidden): \(name) changed in the round trip")
        }
    }

    @Test("a file tensor is [out][in]: policy.1.weight[o][i] is the weight from input i to output o")
    func fileLayoutIsOutIn() throws {
        let agent = randomAgent(S: 3, A: 1, hidden: 100, discriminator: 64, seed: 5)
        let file = AgentFile.tensors(of: agent, algorithm: .h2oPlus)
        let shape = agent.policy.shape
        let w = try #require(file.tensors["policy.1.weight"])
        #expect(w.shape == [100, 100])
        let values = w.values
        var mismatches = 0
        for o in 0..<100 {
            for i in 0..<100
            where values[o * 100 + i]
                != agent.policy.parameters[shape.weightIndex(layer: 1, output: o, input: i)]
            {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
        let m = try #require(file.tensors["adam.m.disc_sa.0.weight"])
        let dShape = agent.discriminatorSA.shape
        #expect(m.shape == [64, 4])
        #expect(
            m.values[63 * 4 + 2]
                == agent.discriminatorSAOptimizer.firstMoment[
                    dShape.weightIndex(layer: 0, output: 63, input: 2)])
    }

    @Test(
        "a hidden-256 checkpoint and policy read by numpy into a PyTorch-layout forward pass reproduce our outputs to 1e-5",
        .enabled(if: ReferencePython.path != nil))
    func numpyReproducesOutputs() throws {
        let python = try #require(ReferencePython.path)
        let script = H2OFixture.path("pytorch_layout_forward.py")
        let S = 5, A = 2
        let agent = randomAgent(S: S, A: A, hidden: 256, discriminator: 256, seed: 256)
        let dir = try temporaryDirectory()
        try AgentFile.tensors(of: agent, algorithm: .h2oPlus).writeDurably(
            path: dir + "/checkpoint.safetensors")
        let policy = PolicyFile(
            network: agent.policy.clone(), head: .tanhGaussian, logStdScale: agent.logStd[0],
            logStdBias: agent.logStd[1])
        try policy.save(path: dir + "/policy.safetensors")

        let rows = 7
        var r = TrainerRandom(seed: 77)
        var inputs: [String: NumpyArray] = [:]
        var ours: [String: [Float]] = [:]
        func evaluate(_ name: String, _ net: borrowing MLP) {
            let width = net.shape.inputSize, outputs = net.shape.outputSize
            let x = (0..<(rows * width)).map { _ in r.normal() }
            inputs[name] = NumpyArray(x, shape: [rows, width])
            var ws = MLPWorkspace(shape: net.shape, maxBatch: rows)
            for row in 0..<rows {
                for i in 0..<width { ws.input[row * ws.inputStride + i] = x[row * width + i] }
            }
            ws.forward(net, batch: rows)
            var y = [Float](repeating: 0, count: rows * outputs)
            for row in 0..<rows {
                for k in 0..<outputs { y[row * outputs + k] = ws.output[row * ws.outputStride + k] }
            }
            ours[name] = y
        }
        evaluate("policy", agent.policy)
        evaluate("q1", agent.q1)
        evaluate("q2", agent.q2)
        evaluate("q1_target", agent.q1Target)
        evaluate("q2_target", agent.q2Target)
        evaluate("v", agent.value)
        evaluate("disc_sa", agent.discriminatorSA)
        evaluate("disc_sas", agent.discriminatorSAS)
        try NumpyArchive.writeNPZ(inputs, path: dir + "/inputs.npz")
        try NumpyArchive.writeNPZ(["policy": inputs["policy"]!], path: dir + "/policy_inputs.npz")

        for (file, inputFile, names) in [
            ("checkpoint", "inputs", Array(inputs.keys)), ("policy", "policy_inputs", ["policy"]),
        ] {
            let out = "\(dir)/\(file)_outputs.npz"
            let result = try ReferencePython.run(
                python, [script, "\(dir)/\(file).safetensors", "\(dir)/\(inputFile).npz", out])
            #expect(result.status == 0, "\(script) failed: \(result.stderr)")
            let theirs = try NumpyArchive.readNPZ(path: out)
            for name in names {
                let want = try #require(theirs[name], "\(file): numpy wrote no \(name)").doubles()
                let got = try #require(ours[name])
                #expect(want.count == got.count)
                var worst = 0.0
                for (a, b) in zip(got, want) { worst = max(worst, abs(Double(a) - b) / max(1, abs(b))) }
                #expect(worst <= 1e-5, "\(file) \(name): numpy's PyTorch-layout forward differs by \(worst)")
                #expect(
                    want.map(abs).max()! > 1e-2, "\(file) \(name): outputs too small to tell layouts apart")
            }
        }
    }

    @Test(
        "robotctl train verify-step at hidden 256 (the mujoco preset) writes the reference's [out][in] tensors"
    )
    func verifyStepAtHidden256() throws {
        let config = "h2oplus_mujoco"
        let out = try temporaryDirectory() + "/out.safetensors"
        let losses = try VerifyStep.run(
            params: H2OFixture.path("golden_params_in.safetensors", config: config),
            batch: H2OFixture.path("golden_batch.npz", config: config),
            noise: H2OFixture.path("golden_noise.npz", config: config), out: out)
        #expect(losses.critic.isFinite)
        let got = try AgentFile.read(path: out)
        let want = try AgentFile.read(path: H2OFixture.path("golden_params_out.safetensors", config: config))
        #expect(got.metadata["h2o.losses"] != nil)
        #expect(Set(got.tensors.keys) == Set(want.tensors.keys))
        for name in ["policy.1.weight", "q1.1.weight", "disc_sas.1.weight", "adam.m.v.1.weight"] {
            let a = try #require(got.tensors[name]), b = try #require(want.tensors[name])
            #expect(a.shape == b.shape && a.shape == [256, 256], "\(name) shape \(a.shape)")
            let scale = b.floats().map(abs).max() ?? 0
            let (err, at) = worstRelativeError(a.floats(), b.floats(), floor: 1e-2 * scale)
            #expect(err <= 1e-4, "\(name)[\(at)]: relative error \(err)")
        }
    }
}
