import Control
import FixedNN
import Foundation
import H2OTrainer
import Hardware
import Tasks
import Testing

/// Every committed fuzzing seed (Tests/Fixtures/fuzz/<reader>/, written by make_seeds.py) through
/// its reader, as scripts/fuzz.sh feeds them: `valid-*` files load, `crash-*` files (the hostile
/// files of issue 13, which trapped or allocated terabytes before) are refused with a one-line
/// error naming the file. A trap here fails the whole test process, so none may remain.
@Suite("fuzz seeds bad input")
struct FuzzSeedBadInputTests {
    static let root: String = {
        var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        components.removeLast(2)  // RobotctlTests/FuzzSeedBadInputTests.swift
        return components.joined(separator: "/") + "/Fixtures/fuzz/"
    }()

    /// The seeds of `reader` as (path, bytes), sorted by name.
    static func seeds(_ reader: String) throws -> [(path: String, bytes: [UInt8])] {
        let dir = root + reader
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        return try names.map { name in
            let path = dir + "/" + name
            return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        }
    }

    /// Checks one seed's outcome: `valid-` loads (`error == nil`), `crash-` is refused with one line naming `path`.
    static func check(_ path: String, error: (any Error)?) {
        let name = (path as NSString).lastPathComponent
        if name.hasPrefix("valid-") {
            #expect(error == nil, "\(name): \(error.map { "\($0)" } ?? "")")
        } else {
            #expect(name.hasPrefix("crash-"), "seed names start with valid- or crash-: \(name)")
            guard let error else {
                Issue.record("\(name) was accepted; it must be refused")
                return
            }
            let line = "\(error)"
            #expect(!line.contains("\n"), "\(name): \(line)")
            #expect(line.contains(path) || line.contains(name), "\(name): the error does not name the file: \(line)")
        }
    }

    static func outcome(_ body: () throws -> Void) -> (any Error)? {
        do { try body() } catch { return error }
        return nil
    }

    @Test("every reader has seeds, valid ones and the issue's crashing ones")
    func everyReaderHasSeeds() throws {
        for reader in ["safetensors", "policy", "numpy", "calibration", "robotconfig", "dataset"] {
            let names = try Self.seeds(reader).map { ($0.path as NSString).lastPathComponent }
            #expect(names.contains { $0.hasPrefix("valid-") }, "\(reader) has no valid seed")
            #expect(names.contains { $0.hasPrefix("crash-") }, "\(reader) has no crashing seed")
        }
    }

    @Test("safetensors seeds decode or are refused")
    func safetensors() throws {
        for (path, bytes) in try Self.seeds("safetensors") {
            Self.check(path, error: Self.outcome {
                // The policy-shaped seeds are valid safetensors but, for the huge ones, not valid policies.
                let t = try SafeTensors.decode(bytes, source: path)
                if path.contains("layers") { _ = try PolicyFile(tensors: t) }
            })
        }
    }

    @Test("policy seeds load into a runtime policy or are refused before allocating")
    func policies() throws {
        for (path, bytes) in try Self.seeds("policy") {
            Self.check(path, error: Self.outcome {
                let file = try PolicyFile(tensors: SafeTensors.decode(bytes, source: path))
                let runtime = try DeterministicPolicy(file, actionUnit: [Float](repeating: 2, count: file.actionSize), source: path)
                var action = [Float](repeating: .nan, count: runtime.actionSize)
                let observation = [Float](repeating: 0.5, count: runtime.observationSize)
                observation.withUnsafeBufferPointer { o in
                    action.withUnsafeMutableBufferPointer { a in runtime.act(observation: o.baseAddress!, action: a.baseAddress!) }
                }
                #expect(action.allSatisfy { $0.isFinite && abs($0) <= 1 }, "\(path): \(action)")
            })
        }
    }

    @Test("npz and npy seeds decode or are refused")
    func numpy() throws {
        for (path, bytes) in try Self.seeds("numpy") {
            Self.check(path, error: Self.outcome {
                if path.hasSuffix(".npy") {
                    _ = try NumpyArchive.decodeNPY(bytes, source: path).floats()
                } else {
                    let npz = try NumpyArchive.decodeNPZ(bytes, source: path)
                    _ = try D4RLImport.arrays(
                        from: npz.mapValues { a in
                            (floats: a.dtype == .float32 ? a.floats() : nil, bools: a.dtype == .bool ? a.bools() : nil, shape: a.shape)
                        },
                        observationSize: 3, actionSize: 1, file: path)
                }
            })
        }
    }

    @Test("calibration seeds validate within physical ranges or are refused")
    func calibrations() throws {
        for (path, bytes) in try Self.seeds("calibration") {
            Self.check(path, error: Self.outcome {
                let c = try RobotCalibration.parse(Data(bytes), file: path)
                try c.safetyLimits.validate(jointCount: c.joints.count)
            })
        }
    }

    @Test("robot file seeds load or are refused")
    func robotConfigs() throws {
        for (path, _) in try Self.seeds("robotconfig") {
            Self.check(path, error: Self.outcome { _ = try RobotSpec.load(path: path) })
        }
    }

    @Test("dataset schema seeds decode or are refused; segment seeds scan to their valid prefix")
    func datasets() throws {
        for (path, bytes) in try Self.seeds("dataset") {
            let body = Array(bytes.dropFirst())
            if bytes.first == 0 {
                Self.check(path, error: Self.outcome { _ = try DatasetSchema.decode(Data(body), file: path) })
            } else {
                let scan = body.withUnsafeBytes { SegmentFormat.scan($0, observationCount: 3, actionCount: 1) }
                // Valid bytes run to the end of the last valid record (damage between records
                // included, counted as skipped); the rest is the tail.
                #expect(scan.validBytes + scan.tailBytes == body.count && scan.droppedBytes == scan.skippedBytes + scan.tailBytes)
                if path.contains("valid-") {
                    #expect(scan.problem == nil && scan.records == 4, "\(path): \(scan)")
                } else {
                    #expect(scan.problem != nil && scan.droppedBytes > 0, "\(path): \(scan)")
                }
            }
        }
    }
}
