import Control
import FixedNN
import Foundation
import H2OTrainer
import Hardware
import Tasks

/// The readers under fuzzing: each feeds one input through a file reader and everything a
/// command does next with what it read. An input may be accepted or refused with an error;
/// anything else (a trap, a runaway allocation, a hang) is a finding.
enum Reader: String, CaseIterable {
    /// `.safetensors` decoding (SafeTensors.decode).
    case safetensors
    /// A policy file: decode, PolicyFile validation, the runtime policy, one action.
    case policy
    /// `.npz` archives and `.npy` arrays, their element conversions and the D4RL import.
    case numpy
    /// Calibration JSON (RobotCalibration.parse) and the safety limits built from it.
    case calibration
    /// Robot file JSON (RobotSpec.load, through a temporary file, as the commands read it).
    case robotconfig
    /// A dataset's schema.json (DatasetSchema.decode) and segment scan (SegmentFormat.scan).
    case dataset

    /// Runs one input. Errors thrown by a reader are the expected refusals and are dropped.
    func run(_ bytes: [UInt8]) {
        switch self {
        case .safetensors:
            _ = try? SafeTensors.decode(bytes, source: "fuzz.safetensors")
        case .policy:
            Self.policy(bytes)
        case .numpy:
            Self.numpy(bytes)
        case .calibration:
            if let c = try? RobotCalibration.parse(Data(bytes), file: "fuzz.json") {
                try? c.safetyLimits.validate(jointCount: c.joints.count)
                _ = c.contentHash
            }
        case .robotconfig:
            Self.robotConfig(bytes)
        case .dataset:
            Self.dataset(bytes)
        }
    }

    static func policy(_ bytes: [UInt8]) {
        guard let tensors = try? SafeTensors.decode(bytes, source: "fuzz.safetensors"),
            let file = try? PolicyFile(tensors: tensors)
        else { return }
        let unit = [Float](repeating: 2, count: file.actionSize)
        guard let runtime = try? DeterministicPolicy(file, actionUnit: unit, source: "fuzz.safetensors") else { return }
        let observation = [Float](repeating: 0.5, count: runtime.observationSize)
        var action = [Float](repeating: 0, count: runtime.actionSize)
        observation.withUnsafeBufferPointer { o in
            action.withUnsafeMutableBufferPointer { a in runtime.act(observation: o.baseAddress!, action: a.baseAddress!) }
        }
        _ = file.tensors().encode()
    }

    static func numpy(_ bytes: [UInt8]) {
        if let a = try? NumpyArchive.decodeNPY(bytes, source: "fuzz.npy") {
            _ = a.floats()
            _ = a.ints()
            _ = NumpyArchive.encodeNPY(a)
        }
        guard let npz = try? NumpyArchive.decodeNPZ(bytes, source: "fuzz.npz") else { return }
        for a in npz.values {
            _ = a.doubles()
            _ = a.bools()
        }
        // What `dataset import` does with an archive (sizes of the pendulum task).
        _ = try? D4RLImport.arrays(
            from: npz.mapValues { a in
                (floats: a.dtype == .float32 || a.dtype == .float64 ? a.floats() : nil,
                 bools: a.dtype == .bool || a.dtype == .uint8 ? a.bools() : nil, shape: a.shape)
            },
            observationSize: 3, actionSize: 1, file: "fuzz.npz")
    }

    /// One temporary file per process, rewritten for every input (the reader takes a path).
    nonisolated(unsafe) static var configPath: String?

    static func robotConfig(_ bytes: [UInt8]) {
        let path: String
        if let p = configPath { path = p } else {
            path = NSTemporaryDirectory() + "robotctl-fuzz-robot-\(getpid()).json"
            configPath = path
        }
        // Plain open/write/close: FileManager's atomic replace costs a rename per input.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { return }
        _ = try? RobotSpec.load(path: path)
    }

    static func dataset(_ bytes: [UInt8]) {
        // The first byte picks the schema or a segment (sizes of the pendulum task).
        guard let first = bytes.first else { return }
        let rest = Array(bytes.dropFirst())
        if first & 1 == 0 {
            if let schema = try? DatasetSchema.decode(Data(rest), file: "fuzz/schema.json") {
                _ = schema.payloadBytes
            }
        } else {
            let scan = rest.withUnsafeBytes { SegmentFormat.scan($0, observationCount: 3, actionCount: 1) }
            precondition(scan.validBytes + scan.tailBytes == rest.count && scan.droppedBytes == scan.skippedBytes + scan.tailBytes, "segment scan lost bytes")
        }
    }
}
