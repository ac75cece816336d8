import Foundation
import TestSupport
import Testing

@testable import FixedNN

/// Hostile policy files and `action_scale` (issue 13, items 1 and 7): declared layers are
/// checked against the tensors present before anything is allocated, and the action scale is
/// validated on load and honoured by the runtime policy.
@Suite("policy file bad input")
struct PolicyFileBadInputTests {
    /// A tanh-head policy S→16→A whose file metadata says `actionScale`.
    func policy(actions: Int, scale: Float) -> PolicyFile {
        let shape = MLPShape(layerSizes: [3, 16, actions], hidden: .relu)
        return PolicyFile(
            network: MLP(shape: shape, lastLayer: .uniformFanIn, seed: UInt64(actions)), head: .tanh,
            actionScale: [Float](repeating: scale, count: actions))
    }

    /// The tensors of `policy(actions: 1, scale: 2)` with metadata entry `key` replaced.
    func loadError(_ key: String, _ value: String) -> String {
        var t = policy(actions: 1, scale: 2).tensors()
        t.metadata[key] = value
        do {
            _ = try PolicyFile(tensors: SafeTensors.decode(t.encode(), source: "p.safetensors"))
            return "loaded"
        } catch {
            return error.description
        }
    }

    /// Peak resident set of this process, bytes.
    func peakResident() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    @Test("metadata declaring huge layers without their tensors fails before allocating them")
    func hugeLayersDoNotAllocate() {
        // 3→20000→20000→2: 1.6 GB of parameters before the fix; no layer tensors in the file.
        var t = SafeTensors(source: "huge.safetensors")
        t.metadata = [
            "format": "pt", "policy.layer_sizes": "[3,20000,20000,2]", "policy.activations": "[\"relu\",\"relu\",\"identity\"]",
            "policy.head": "tanh", "policy.observation_mean": "[0,0,0]", "policy.observation_std": "[1,1,1]",
            "policy.action_scale": "[2,2]",
        ]
        t.tensors["policy.log_std_scale"] = .init(shape: [1], values: [1])
        let before = peakResident()
        let error = Result { try PolicyFile(tensors: SafeTensors.decode(t.encode(), source: "huge.safetensors")) }
        guard case .failure(let e) = error else {
            Issue.record("a policy without layer tensors loaded")
            return
        }
        #expect("\(e)" == "huge.safetensors: tensor 'policy.0.weight' is missing; tensor names follow <net>.<layer>.weight/.bias (see FixedNN README)")
        #expect(peakResident() - before < 200_000_000, "loading grew the peak resident set by \(peakResident() - before) bytes")
    }

    @Test("absurd widths and layer counts are refused with the limit")
    func absurdWidths() {
        let wide = loadError("policy.layer_sizes", "[3,1000000,1]")
        #expect(wide == "p.safetensors: metadata 'policy.layer_sizes' declares a layer 1000000.0 wide (limit 65536); use layers of at most 65536 units")
        let deep = loadError("policy.layer_sizes", "[" + Array(repeating: "4", count: 300).joined(separator: ",") + "]")
        #expect(deep.contains("declares 299 layers (limit 256)"))
    }

    @Test("action_scale must be finite as a Float, positive and bounded", arguments: [
        ("[-2]", "entry 0 is -2.0; it must be > 0"),
        ("[0]", "entry 0 is 0.0; it must be > 0"),
        ("[1e30]", "entry 0 is 1e+30; it must be > 0 and ≤ 1000000.0"),
        ("[1e39]", "not a finite 32-bit number"),
        ("[null]", "not a finite 32-bit number"),
        ("[Infinity]", "not a JSON list"),
    ])
    func actionScaleValidated(value: String, expected: String) {
        let message = loadError("policy.action_scale", value)
        #expect(message.hasPrefix("p.safetensors: metadata 'policy.action_scale'") && message.contains(expected), "\(message)")
        #expect(!message.contains("\n"))
    }

    @Test("the runtime policy honours action_scale against the task's unit, at awkward widths", arguments: [1, 63, 65])
    func actionScaleHonoured(actions: Int) throws {
        let observation: [Float] = [0.3, -0.7, 1.1]
        func act(_ p: DeterministicPolicy) -> [Float] {
            var a = [Float](repeating: .nan, count: actions)
            observation.withUnsafeBufferPointer { o in a.withUnsafeMutableBufferPointer { p.act(observation: o.baseAddress!, action: $0.baseAddress!) } }
            return a
        }
        let unit = [Float](repeating: 2, count: actions)
        let full = try DeterministicPolicy(policy(actions: actions, scale: 2), actionUnit: unit, source: "p")
        let half = try DeterministicPolicy(policy(actions: actions, scale: 0.5), actionUnit: unit, source: "p")
        #expect(full.commandGain == [Float](repeating: 1, count: actions))
        #expect(half.commandGain == [Float](repeating: 0.25, count: actions))
        let a = act(full), b = act(half)
        #expect(a.contains { abs($0) > 1e-3 }, "the test network's actions are all near zero")
        for j in 0..<actions { #expect(abs(b[j] - 0.25 * a[j]) <= 1e-6 * max(1, abs(a[j]))) }
        // Replicas (the policy slot's copies) keep the gain.
        #expect(act(half.makeReplica()) == b)
        // Without a unit, `act` is the unscaled tanh(μ), as before.
        #expect(act(DeterministicPolicy(policy(actions: actions, scale: 0.5))) == a)
    }

    @Test("an action_scale beyond the task's range is refused in one line")
    func actionScaleBeyondTask() {
        #expect {
            _ = try DeterministicPolicy(policy(actions: 2, scale: 3), actionUnit: [2, 2], source: "runs/p.safetensors")
        } throws: {
            "\($0)" == "runs/p.safetensors: metadata 'policy.action_scale' entry 0 is 3.0, outside the task's command range (0, 2.0]; store an action_scale of at most 2.0 (the task's torque limit)"
        }
        #expect {
            _ = try DeterministicPolicy(policy(actions: 2, scale: 1), actionUnit: [2], source: "p")
        } throws: { "\($0)".contains("has 2 values, the task has 1 actions") }
    }
}

/// Hostile `.npy`/`.npz` headers (issue 13, item 1): overflowing shapes, declared sizes beyond
/// the data and zip64 records pointing anywhere are refused with one line naming the file.
@Suite("numpy archive bad input")
struct NumpyArchiveBadInputTests {
    func npy(_ descr: String, _ shape: String, data: [UInt8] = []) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        out += [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        return out + Array(header.utf8) + data
    }

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body() } catch { return "\(error)" }
        return "decoded"
    }

    @Test("a shape whose product overflows, or exceeds the data, is refused", arguments: [
        "(4294967296, 4294967296, 4)", "(9223372036854775807, 2)", "(1000, 1000)", "(3,)", "(1000000000000, 0)",
    ])
    func overflowingShape(shape: String) {
        let m = message { try NumpyArchive.decodeNPY(npy("<f4", shape, data: [0, 0, 0, 0]), source: "x.npy") }
        #expect(m.hasPrefix("x.npy: shape ") && m.contains("declares more data than the 4 bytes the file holds"), "\(m)")
    }

    @Test("a stored entry declaring more bytes than it holds is refused")
    func declaredSizeBeyondData() throws {
        var z = NumpyArchive.encodeNPZ([("rewards", NumpyArray([Float(1), 2]))])
        let signature: [UInt8] = [0x50, 0x4B, 1, 2]
        var found: Int?
        for i in 0..<(z.count - 4) where Array(z[i..<(i + 4)]) == signature { found = i }
        let central = try #require(found)
        for (k, b) in [UInt8(0xF0), 0xFF, 0xFF, 0x7F].enumerated() { z[central + 24 + k] = b }
        let m = message { try NumpyArchive.decodeNPZ(z, source: "d.npz") }
        #expect(m.hasPrefix("d.npz: stored entry 'rewards.npy' declares 2147483632 bytes but holds"), "\(m)")
    }

    @Test("a valid archive still round-trips, at awkward sizes", arguments: [1, 63, 65, 100, 257])
    func roundTrip(n: Int) throws {
        let values = (0..<n).map { Float($0) * 0.5 }
        let z = NumpyArchive.encodeNPZ([("a", NumpyArray(values, shape: [n, 1])), ("b", NumpyArray((0..<n).map { $0 % 2 == 0 }))])
        let back = try NumpyArchive.decodeNPZ(z, source: "r.npz")
        #expect(back["a"]?.floats() == values && back["a"]?.shape == [n, 1] && back["b"]?.count == n)
    }
}
