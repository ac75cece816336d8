import FixedNN
import Foundation
import Testing
import TestSupport

@Suite("robotctl policy info and export")
struct PolicyCommandTests {
    @Test("info prints sizes, head, normalisation and provenance of a Python-written policy")
    func info() throws {
        let file = fixedNNFixturePath("python_policy.safetensors")
        let policy = try PolicyFile.load(path: file)
        let r = try runProcess(builtProduct("robotctl"), ["policy", "info", file, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((json["layer_sizes"] as? [Int]) == policy.network.shape.layerSizes)
        #expect((json["head"] as? String) == policy.head.rawValue)
        #expect((json["parameters"] as? Int) == policy.network.shape.logicalParameterCount)
        let text = try runProcess(builtProduct("robotctl"), ["policy", "info", file])
        #expect(text.stdout.contains("action scale") && text.stdout.contains("observation normalisation"))
    }

    @Test("export to .npz holds every layer's weights unchanged; to .safetensors the PyTorch names")
    func export() throws {
        let file = fixedNNFixturePath("python_policy.safetensors")
        let policy = try PolicyFile.load(path: file)
        let source = policy.tensors()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runProcess(builtProduct("robotctl"), ["policy", "export", file, "--output", dir + "/p.npz"])
        #expect(r.status == 0, "\(r.stderr)")
        let npz = try NumpyArchive.readNPZ(path: dir + "/p.npz")
        for i in 0..<policy.network.shape.layerCount {
            let w = try #require(npz["layer\(i).weight"])
            #expect(w.shape == source.tensors["policy.\(i).weight"]!.shape && w.floats() == source.tensors["policy.\(i).weight"]!.values)
        }
        #expect(npz["action_scale"]?.floats() == policy.actionScale)
        let t = try runProcess(builtProduct("robotctl"), ["policy", "export", file, "--output", dir + "/torch.safetensors"])
        #expect(t.status == 0, "\(t.stderr)")
        let torch = try SafeTensors.read(path: dir + "/torch.safetensors")
        #expect(torch.tensors["0.weight"] == source.tensors["policy.0.weight"])
        #expect(torch.tensors["2.bias"] == source.tensors["policy.1.bias"])
    }

    @Test("a missing or corrupt policy file is one error line naming it, and nothing is written")
    func badInput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policy-bad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/bad.safetensors"))
        for input in [dir + "/none.safetensors", dir + "/bad.safetensors"] {
            let r = try runProcess(builtProduct("robotctl"), ["policy", "export", input, "--output", dir + "/out.npz"])
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            #expect(r.status != 0 && errors.count == 1 && errors[0].contains(input), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.npz"))
        }
    }
}
