import Foundation
import TestSupport
import Testing

@testable import FixedNN

/// Hostile and broken `.safetensors` inputs: each must throw (never crash) an error whose one-line
/// description names the file and the problem.
@Suite("safetensors bad input")
struct SafeTensorsBadInputTests {
    let source = "bad.safetensors"

    /// A file from a JSON header and raw data bytes (header padded like the writer does).
    func file(header: String, data: [UInt8]) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// The error decoding `bytes` throws, or nil if it decoded.
    func decodeError(_ bytes: [UInt8]) -> SafeTensorsError? {
        do {
            _ = try SafeTensors.decode(bytes, source: source)
            return nil
        } catch {
            return error
        }
    }

    func expectError(
        _ bytes: [UInt8], mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = decodeError(bytes) else {
            Issue.record("decoded without error", sourceLocation: sourceLocation)
            return
        }
        let text = error.description
        #expect(text.hasPrefix(source + ": "), sourceLocation: sourceLocation)
        #expect(!text.contains("\n"), sourceLocation: sourceLocation)
        for word in words { #expect(text.contains(word), "\(text)", sourceLocation: sourceLocation) }
    }

    @Test("a valid file truncated at every byte offset throws a named error")
    func truncatedEverywhere() {
        let bytes = smallPolicy().tensors().encode()
        var failures = 0
        for cut in 0..<bytes.count {
            guard let error = decodeError(Array(bytes[0..<cut])) else {
                failures += 1
                continue
            }
            if !error.description.hasPrefix(source + ": ") || error.description.contains("\n") {
                failures += 1
            }
        }
        #expect(failures == 0)
        #expect(decodeError(bytes) == nil)
    }

    @Test("random bytes, with and without a plausible header length, throw")
    func randomBytes() {
        var rng = SeededRandom(seed: 99)
        var decoded = 0
        for trial in 0..<2000 {
            let count = Int(rng.next() % 300)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if trial % 2 == 0 && count >= 8 {
                let n = UInt64(rng.next() % UInt64(count))
                for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
                if count > 8 { bytes[8] = UInt8(ascii: "{") }
            }
            if decodeError(bytes) == nil { decoded += 1 }
        }
        #expect(decoded == 0)
    }

    @Test("a lying header throws naming the problem")
    func lyingHeaders() {
        let four = floats([1, 2, 3, 4])
        // Offsets past the end of the data.
        expectError(
            file(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,32]}}"#, data: four),
            mentioning: ["'a'", "past the end"])
        // Overlapping tensors.
        expectError(
            file(
                header:
                    #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
                data: four), mentioning: ["overlap"])
        // A gap between tensors.
        expectError(
            file(
                header:
                    #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
                data: four), mentioning: ["gap"])
        // Negative offsets.
        expectError(
            file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: four),
            mentioning: ["negative"])
        // Offsets ending before they begin.
        expectError(
            file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: four),
            mentioning: ["end before they begin"])
        // Shape that does not match the byte range.
        expectError(
            file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, data: four),
            mentioning: ["'a'", "needs 12"])
        // Shape whose product overflows.
        expectError(
            file(
                header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}}"#,
                data: four),
            mentioning: ["larger than"])
        // Data not covered by any tensor.
        expectError(
            file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: four),
            mentioning: ["cover"])
        // Huge header length.
        var huge = file(header: #"{}"#, data: [])
        for k in 0..<8 { huge[k] = 0xFF }
        expectError(huge, mentioning: ["implausible"])
        // Header length beyond the file.
        var long = file(header: #"{}"#, data: [])
        long[0] = 200
        expectError(long, mentioning: ["past the end", "truncated"])
        // Not JSON, not an object, metadata not strings, fractional or non-numeric offsets.
        expectError(file(header: #"{"a":"#, data: []), mentioning: ["not valid JSON"])
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        expectError(file(header: deep, data: []), mentioning: ["not valid JSON"])
        expectError(file(header: #"[1,2]"#, data: []), mentioning: ["start with '{'"])
        expectError(
            file(header: #"{"__metadata__":{"k":3}}"#, data: []), mentioning: ["'k'", "not a string"])
        expectError(
            file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}}"#, data: four),
            mentioning: ["data_offsets"])
        expectError(
            file(header: #"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: four),
            mentioning: ["shape"])
        expectError(
            file(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: four), mentioning: ["data_offsets"])
    }

    @Test("an unsupported dtype names the tensor, the supported ones and the fix")
    func unsupportedDtype() {
        expectError(
            file(
                header: #"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#,
                data: [0, 60, 0, 60]),
            mentioning: ["'a'", "F16", "F32, F64, I32, I64, BOOL, U8", "float32"])
    }

    @Test("a byte count that does not match the dtype names both")
    func dtypeSizeMismatch() {
        expectError(
            file(
                header: #"{"a":{"dtype":"F64","shape":[4],"data_offsets":[0,16]}}"#,
                data: floats([1, 2, 3, 4])),
            mentioning: ["'a'", "F64", "32"])
    }

    @Test("a BOOL byte other than 0 or 1 is corruption")
    func badBool() {
        expectError(
            file(header: #"{"a":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}}"#, data: [0, 1, 2, 1]),
            mentioning: ["'a'", "BOOL", "byte 2"])
    }

    @Test("a network weight that is not F32 names the tensor, its dtype and the fix")
    func weightNotF32() throws {
        let bytes = file(
            header: #"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#, data: floats([1, 2, 3, 4]))
        let decoded = try SafeTensors.decode(bytes, source: source)
        #expect(decoded.tensors["a"]?.doubles().count == 2)
        do {
            _ = try decoded.tensor("a", shape: [2])
            Issue.record("an F64 tensor was accepted as F32")
        } catch {
            #expect(
                error.description.contains("'a'") && error.description.contains("F64")
                    && error.description.contains("float32") && !error.description.contains("\n"))
        }
    }

    @Test("non-finite F64 values are rejected like F32 ones")
    func nonFiniteDouble() {
        let nan = withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { Array($0) }
        expectError(
            file(header: #"{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, data: nan),
            mentioning: ["'d'", "nan", "index 0"])
    }

    @Test("NaN and infinite weights are rejected with the tensor and index")
    func nonFinite() {
        let data = floats([1, .nan, 3, 4])
        expectError(
            file(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: data),
            mentioning: ["'w'", "nan", "index 1"])
        let inf = floats([1, 2, -.infinity, 4])
        expectError(
            file(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: inf),
            mentioning: ["'w'", "index 2"])
        #expect(throws: Never.self) {
            _ = try SafeTensors.decode(
                self.file(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: data),
                allowNonFinite: true)
        }
    }

    @Test("policy files with wrong shapes, missing tensors or broken metadata throw naming the file")
    func badPolicies() throws {
        func policyError(_ edit: (inout SafeTensors) -> Void) -> String {
            var t = smallPolicy().tensors()
            edit(&t)
            do {
                _ = try PolicyFile(tensors: SafeTensors.decode(t.encode(), source: "p.safetensors"))
                return "loaded"
            } catch {
                return error.description
            }
        }
        let wrongShape = policyError {
            $0.tensors["policy.0.weight"] = .init(shape: [2, 3], values: [Float](repeating: 0, count: 6))
        }
        #expect(
            wrongShape.hasPrefix("p.safetensors: ") && wrongShape.contains("shape [2, 3], expected [3, 2]"))
        let missing = policyError { $0.tensors["policy.1.bias"] = nil }
        #expect(missing.contains("'policy.1.bias' is missing"))
        let extraLayer = policyError { $0.tensors["policy.2.weight"] = .init(shape: [1], values: [0]) }
        #expect(extraLayer.contains("beyond"))
        let noSizes = policyError { $0.metadata["policy.layer_sizes"] = nil }
        #expect(noSizes.contains("'policy.layer_sizes' is missing"))
        let badActivation = policyError { $0.metadata["policy.activations"] = "[\"gelu\",\"identity\"]" }
        #expect(
            badActivation.contains("unknown activation") && badActivation.contains("relu, tanh or identity"))
        let badStd = policyError { $0.metadata["policy.observation_std"] = "[1, 0]" }
        #expect(badStd.contains("must be > 0"))
        let wrongCount = policyError { $0.metadata["policy.observation_mean"] = "[1, 2, 3]" }
        #expect(wrongCount.contains("3 values, expected 2"))
        let notJSON = policyError { $0.metadata["policy.action_scale"] = "three" }
        #expect(notJSON.contains("not a JSON list"))
        let oddOutput = policyError { $0.metadata["policy.layer_sizes"] = "[2,3,3]" }
        #expect(oddOutput.contains("even output size"))
        let nanWeight = policyError { $0.tensors["policy.1.weight"]!.values[4] = .nan }
        #expect(nanWeight.contains("'policy.1.weight'") && nanWeight.contains("nan"))
    }

    @Test("a missing file throws naming the path")
    func missingFile() {
        let path = "/nonexistent/dir/policy.safetensors"
        do {
            _ = try PolicyFile.load(path: path)
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.description.hasPrefix(path + ": cannot read the file"))
        }
    }
}

@Test("the Swift-written policy fixture acts like numpy reading it (check_swift_policy.py)")
func swiftPolicyActsLikeNumpy() throws {
    let policy = try PolicyFile.load(path: fixedNNFixturePath("swift_policy.safetensors"))
    let expected = try SafeTensors.read(path: fixedNNFixturePath("swift_policy_numpy_actions.safetensors"))
    let obs = try expected.tensor("observations", shape: [4, 2]).values
    let actions = try expected.tensor("actions", shape: [4, 1]).values
    let runtime = DeterministicPolicy(policy)
    var a: Float = 0
    for r in 0..<4 {
        obs.withUnsafeBufferPointer { runtime.act(observation: $0.baseAddress! + 2 * r, action: &a) }
        #expect(abs(a - actions[r]) <= 1e-6)
    }
}
