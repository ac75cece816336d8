import Foundation
import TestSupport
import Testing

@testable import FixedNN

/// A small policy with exactly representable parameters (the byte-for-byte fixture).
func smallPolicy() -> PolicyFile {
    let shape = MLPShape(layerSizes: [2, 3, 2], hidden: .tanh, output: .identity)
    var net = MLP(shape: shape)
    var k: Float = 0
    for l in 0..<2 {
        for o in 0..<shape.layerSizes[l + 1] {
            for i in 0..<shape.layerSizes[l] {
                net.setWeight(layer: l, output: o, input: i, (k - 6) * 0.125)
                k += 1
            }
            net.setBias(layer: l, output: o, k * 0.0625)
        }
    }
    return PolicyFile(
        network: net, head: .tanhGaussian, logStdScale: 1, logStdBias: -1, observationMean: [0.5, -1],
        observationStd: [2, 0.25], actionScale: [3], provenance: ["algorithm": "test", "seed": "7"])
}

@Suite("safetensors files")
struct SafeTensorsTests {
    @Test("golden forward outputs computed by numpy match single-sample and batched inference")
    func goldenForward() throws {
        let file = try SafeTensors.read(path: fixedNNFixturePath("golden_forward.safetensors"))
        for name in ["tanh_net", "relu_net", "mixed_net"] {
            let sizes = try JSONDecoder().decode(
                [Int].self, from: Data(file.metadata["\(name).layer_sizes"]!.utf8))
            let acts = try JSONDecoder().decode(
                [Activation].self, from: Data(file.metadata["\(name).activations"]!.utf8))
            let shape = MLPShape(layerSizes: sizes, activations: acts)
            let net = try file.network(prefix: name, shape: shape)
            let inputTensor = try file.tensor("\(name).inputs", shape: nil)
            let outputTensor = try file.tensor("\(name).outputs", shape: nil)
            let inputs = inputTensor.values, outputs = outputTensor.values
            let n = inputTensor.shape[0]
            #expect(n == 16 && outputTensor.shape == [n, shape.outputSize])
            var scratch = InferenceScratch(shape: shape)
            var ws = MLPWorkspace(shape: shape, maxBatch: n)
            var y = [Float](repeating: 0, count: shape.outputSize)
            for r in 0..<n {
                for i in 0..<shape.inputSize {
                    ws.input[r * ws.inputStride + i] = inputs[r * shape.inputSize + i]
                }
            }
            ws.forward(net, batch: n)
            for r in 0..<n {
                inputs.withUnsafeBufferPointer { x in
                    y.withUnsafeMutableBufferPointer { out in
                        net.infer(
                            x.baseAddress! + r * shape.inputSize, into: out.baseAddress!, scratch: &scratch)
                    }
                }
                for k in 0..<shape.outputSize {
                    let expected = outputs[r * shape.outputSize + k]
                    #expect(
                        abs(y[k] - expected) <= 2e-5 * max(1, abs(expected)), "\(name) row \(r) output \(k)")
                    #expect(
                        abs(ws.output[r * ws.outputStride + k] - expected) <= 2e-5 * max(1, abs(expected)))
                }
            }
        }
    }

    @Test("a policy written by Python with the documented names loads and acts like numpy")
    func pythonPolicy() throws {
        let policy = try PolicyFile.load(path: fixedNNFixturePath("python_policy.safetensors"))
        #expect(policy.network.shape == MLPShape(layerSizes: [3, 32, 32, 2], hidden: .relu))
        #expect(policy.head == .tanhGaussian && policy.actionSize == 1 && policy.observationSize == 3)
        #expect(policy.observationMean == [0.1, -0.2, 0.5] && policy.observationStd == [1.5, 0.5, 2])
        #expect(policy.actionScale == [2] && policy.logStdScale == 1 && policy.logStdBias == -1)
        #expect(policy.provenance["algorithm"] == "numpy fixture")
        let expected = try SafeTensors.read(path: fixedNNFixturePath("python_policy_expected.safetensors"))
        let obs = try expected.tensor("observations", shape: [10, 3]).values
        let actions = try expected.tensor("actions", shape: [10, 1]).values
        let runtime = DeterministicPolicy(policy)
        var a: Float = 0
        for r in 0..<10 {
            obs.withUnsafeBufferPointer { runtime.act(observation: $0.baseAddress! + 3 * r, action: &a) }
            #expect(abs(a - actions[r]) <= 1e-5)
        }
    }

    @Test("a written file follows the format byte for byte: header length, JSON, offsets, alignment, data")
    func byteLevelFormat() throws {
        let bytes = smallPolicy().tensors().encode()
        var n = 0
        for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
        #expect(n % 8 == 0)
        let headerBytes = Array(bytes[8..<(8 + n)])
        let trimmed = String(decoding: headerBytes, as: UTF8.self)
        #expect(trimmed.hasPrefix("{\"__metadata__\":{"))
        #expect(headerBytes.suffix(while: { $0 == 0x20 }) < 8)
        let header = try #require(JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any])
        let meta = try #require(header["__metadata__"] as? [String: String])
        #expect(meta["policy.layer_sizes"] == "[2,3,2]")
        #expect(meta["policy.activations"] == "[\"tanh\",\"identity\"]")
        #expect(meta["policy.head"] == "tanh_gaussian")
        #expect(meta["policy.observation_std"] == "[2.0,0.25]")
        #expect(meta["provenance.seed"] == "7")
        let names = header.keys.filter { $0 != "__metadata__" }.sorted()
        #expect(
            names == [
                "policy.0.bias", "policy.0.weight", "policy.1.bias", "policy.1.weight",
                "policy.log_std_bias", "policy.log_std_scale",
            ])
        let policy = smallPolicy()
        var offset = 0
        let dataStart = 8 + n
        for name in names {
            let info = try #require(header[name] as? [String: Any])
            #expect(info["dtype"] as? String == "F32")
            let shape = try #require(info["shape"] as? [Int])
            let offsets = try #require(info["data_offsets"] as? [Int])
            #expect(offsets[0] == offset && offsets[0] % 4 == 0)
            #expect(offsets[1] - offsets[0] == 4 * shape.reduce(1, *))
            // Values: PyTorch layout [out][in], little-endian f32.
            var expected: [Float] = []
            let parts = name.split(separator: ".")
            if let l = Int(parts[1]) {
                let rows = policy.network.shape.layerSizes[l + 1], cols = policy.network.shape.layerSizes[l]
                if parts[2] == "weight" {
                    #expect(shape == [rows, cols])
                    for o in 0..<rows {
                        for i in 0..<cols {
                            expected.append(policy.network.weight(layer: l, output: o, input: i))
                        }
                    }
                } else {
                    #expect(shape == [rows])
                    for o in 0..<rows { expected.append(policy.network.bias(layer: l, output: o)) }
                }
            } else {
                expected = [name.hasSuffix("scale") ? 1 : -1]
            }
            for (k, v) in expected.enumerated() {
                let p = dataStart + offsets[0] + 4 * k
                let bits =
                    UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(
                        bytes[p + 3]) << 24
                #expect(Float(bitPattern: bits) == v)
            }
            offset = offsets[1]
        }
        #expect(dataStart + offset == bytes.count)
        // And it is exactly the committed fixture that check_swift_policy.py reads with numpy.
        // (FIXEDNN_REGENERATE_FIXTURES=1 rewrites it after an intended format change.)
        if ProcessInfo.processInfo.environment["FIXEDNN_REGENERATE_FIXTURES"] == "1" {
            try smallPolicy().save(path: fixedNNFixturePath("swift_policy.safetensors"))
        }
        let fixture = try [UInt8](
            Data(contentsOf: URL(fileURLWithPath: fixedNNFixturePath("swift_policy.safetensors"))))
        let sameBytes = fixture == bytes
        #expect(sameBytes)
    }

    @Test("policy files and multi-network checkpoints round-trip exactly")
    func roundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fixednn-\(getpid())-policy.safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try smallPolicy().save(path: path)
        let back = try PolicyFile.load(path: path)
        let sameParameters = back.network.parameters.array == smallPolicy().network.parameters.array
        #expect(sameParameters)
        #expect(back.observationStd == [2, 0.25] && back.provenance == ["algorithm": "test", "seed": "7"])

        let shape = MLPShape(layerSizes: [5, 40, 1], hidden: .relu)
        let q = MLP(shape: shape, lastLayer: .xavierUniform(gain: 0.01), seed: 1)
        var adam = Adam(parameterCount: shape.parameterCount)
        var grad = q.makeGradient()
        for o in 0..<40 {  // logical entries only: padding gradients are always zero
            for i in 0..<5 { grad[q.weightIndex(layer: 0, output: o, input: i)] = Float((o + i) % 13) * 0.01 }
            grad[q.biasIndex(layer: 0, output: o)] = Float(o % 7) * 0.02
        }
        var qq = q.clone()
        adam.step(&qq.parameters, gradient: grad)
        var file = SafeTensors()
        file.insert(q, prefix: "q1")
        file.insertLayered(adam.firstMoment, shape: shape, prefix: "q1.adam_m")
        file.insert(FloatBuffer([0.5]), name: "log_alpha")
        let decoded = try SafeTensors.decode(file.encode())
        let q2 = try decoded.network(prefix: "q1", shape: shape)
        let sameNetwork = q2.parameters.array == q.parameters.array
        #expect(sameNetwork)
        var m = FloatBuffer(count: shape.parameterCount)
        try decoded.readLayered(prefix: "q1.adam_m", shape: shape, into: &m)
        let sameMoments = m.array == adam.firstMoment.array
        #expect(sameMoments)
        var alpha = FloatBuffer(count: 1)
        try decoded.read("log_alpha", into: &alpha)
        #expect(alpha[0] == 0.5)
    }

    @Test("every supported dtype round-trips under its safetensors name, scalars included")
    func everyDtypeRoundTrips() throws {
        var file = SafeTensors()
        file.tensors["f32"] = NumpyArray([Float(1.5), -2], shape: [2])
        file.tensors["f64"] = NumpyArray([0.1, 0.2, 0.3], shape: [3, 1])
        file.tensors["i32"] = NumpyArray([Int32(-7), 8])
        file.tensors["i64"] = NumpyArray([Int64(1) << 40], shape: [])
        file.tensors["bool"] = NumpyArray([true, false, true])
        file.tensors["u8"] = NumpyArray([UInt8(0), 255])
        let bytes = file.encode()
        let decoded = try SafeTensors.decode(bytes)
        #expect(decoded.tensors == file.tensors)
        let n = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        let header = try #require(
            try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        for (name, dtype) in [
            ("f32", "F32"), ("f64", "F64"), ("i32", "I32"), ("i64", "I64"), ("bool", "BOOL"), ("u8", "U8"),
        ] {
            #expect((header[name] as? [String: Any])?["dtype"] as? String == dtype, "\(name)")
        }
        #expect(decoded.tensors["i64"]?.ints() == [1 << 40] && decoded.tensors["i64"]?.shape == [])
    }
}

extension Array where Element == UInt8 {
    func suffix(while predicate: (UInt8) -> Bool) -> Int { reversed().prefix(while: predicate).count }
}
