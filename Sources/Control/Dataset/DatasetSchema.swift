import Foundation
import SystemSupport

/// One named component of an observation or action vector.
public struct DatasetChannel: Codable, Sendable, Equatable {
    /// e.g. "cos_theta", "theta_dot", "torque".
    public var name: String
    /// SI unit or "1" for dimensionless, e.g. "rad", "rad/s", "N*m".
    public var unit: String
    public init(name: String, unit: String) {
        self.name = name
        self.unit = unit
    }
}

/// The dataset's `schema.json` (DATASET.md, "schema.json"): what every record means.
public struct DatasetSchema: Codable, Sendable, Equatable {
    /// Always "robotctl-dataset".
    public var format: String = DatasetSchema.formatName
    /// Format version; readers refuse versions newer than `DatasetSchema.currentVersion`.
    public var formatVersion: Int = DatasetSchema.currentVersion
    public var robotID: String
    /// The task name (`ControlTask.name`).
    public var task: String
    /// SHA-256 (hex) of the calibration file the robot ran with, or "" when none.
    public var calibrationHash: String
    public var controlRateHz: Double
    public var observation: [DatasetChannel]
    public var action: [DatasetChannel]
    /// The reward in words or as a formula, e.g. "-(theta^2 + 0.1 theta_dot^2 + 0.001 u^2)".
    public var rewardDefinition: String
    /// "real", "teleop" or "sim".
    public var source: String
    /// ISO 8601 UTC time the dataset was created.
    public var createdUTC: String

    public static let formatName = "robotctl-dataset"
    public static let currentVersion = 1
    public static let fileName = "schema.json"

    public init(
        robotID: String, task: String, calibrationHash: String = "", controlRateHz: Double,
        observation: [DatasetChannel], action: [DatasetChannel], rewardDefinition: String,
        source: String = "real", createdUTC: String = DatasetSchema.nowUTC()
    ) {
        self.robotID = robotID
        self.task = task
        self.calibrationHash = calibrationHash
        self.controlRateHz = controlRateHz
        self.observation = observation
        self.action = action
        self.rewardDefinition = rewardDefinition
        self.source = source
        self.createdUTC = createdUTC
    }

    public var observationCount: Int { observation.count }
    public var actionCount: Int { action.count }
    /// Bytes of one record payload.
    public var payloadBytes: Int {
        TransitionLayout.payloadBytes(observationCount: observationCount, actionCount: actionCount)
    }

    /// True when records written under `other` mean the same as under `self`.
    public func isCompatible(with other: DatasetSchema) -> Bool {
        observation == other.observation && action == other.action && task == other.task
            && robotID == other.robotID && controlRateHz == other.controlRateHz
    }

    /// Checks the fields a reader relies on; the error names the file and field.
    public func validate(file: String) throws(DatasetError) {
        if format != DatasetSchema.formatName {
            throw .invalidSchema(file, "field \"format\" is \"\(format)\", expected \"\(DatasetSchema.formatName)\"")
        }
        if formatVersion < 1 || formatVersion > DatasetSchema.currentVersion {
            throw .invalidSchema(
                file, "field \"formatVersion\" is \(formatVersion); this build reads 1...\(DatasetSchema.currentVersion), upgrade robotctl")
        }
        if observation.isEmpty || observation.count > Int(UInt16.max) {
            throw .invalidSchema(file, "field \"observation\" must list 1...65535 channels, has \(observation.count)")
        }
        if action.isEmpty || action.count > Int(UInt16.max) {
            throw .invalidSchema(file, "field \"action\" must list 1...65535 channels, has \(action.count)")
        }
        if !(controlRateHz > 0 && controlRateHz <= DatasetSchema.maximumControlRateHz) {
            throw .invalidSchema(
                file, "field \"controlRateHz\" must be in 0 < rate ≤ \(DatasetSchema.maximumControlRateHz) Hz, is \(controlRateHz); correct it or re-record")
        }
    }

    public static func nowUTC() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    /// Largest `schema.json` read (real ones are about 1 KiB; 65535 channels fit easily).
    public static let maximumFileBytes = 16 << 20
    /// Highest control rate a schema may state, Hz (the loop's own limit is far lower).
    public static let maximumControlRateHz = 100_000.0

    static func load(directory: String) throws(DatasetError) -> DatasetSchema {
        let path = directory + "/" + fileName
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try readUpTo(maximumFileBytes + 1, from: handle)
        } catch {
            throw .invalidSchema(path, "cannot read it (\(error.localizedDescription)); is \(directory) a dataset directory?")
        }
        guard data.count <= maximumFileBytes else {
            throw .invalidSchema(path, "is larger than \(maximumFileBytes) bytes, not a dataset schema; restore schema.json from a good copy")
        }
        return try decode(data, file: path)
    }

    /// Decodes and validates `schema.json` bytes; `file` names them in errors.
    public static func decode(_ data: Data, file path: String) throws(DatasetError) -> DatasetSchema {
        let schema: DatasetSchema
        do { schema = try JSONDecoder().decode(DatasetSchema.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
            throw .invalidSchema(path, "missing field \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw .invalidSchema(path, "field \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch {
            throw .invalidSchema(path, "not valid JSON (\(error))")
        }
        try schema.validate(file: path)
        return schema
    }
}

/// Errors of dataset set-up code. Each message names the file, the problem and the fix.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case invalidSchema(String, String)
    case incompatibleSchema(String, String)
    case vectorSize(String)
    case system(SystemError)
    /// Another process holds the dataset's write lock: the directory and who holds it.
    case locked(String, String)
    /// A dataset whose records cannot be trusted for this use: the directory and why.
    case unusableData(String, String)

    public var description: String {
        switch self {
        case .invalidSchema(let file, let why): "dataset schema \(file): \(why)"
        case .incompatibleSchema(let dir, let why):
            "dataset \(dir): \(why); record into a new directory instead"
        case .vectorSize(let why): "dataset record: \(why)"
        case .system(let e): e.description
        case .locked(let dir, let holder):
            "dataset \(dir): is being written by another process (\(holder)); wait for it to finish or record into another directory"
        case .unusableData(let dir, let why): "dataset \(dir): \(why)"
        }
    }
}
