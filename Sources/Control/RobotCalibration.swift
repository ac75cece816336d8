// The calibration file (`calibration/<id>.json`): per-joint encoder zero, direction and
// range, the safety limits the loop enforces, and the simulator parameters system
// identification fitted. Schema: `calibration/README.md`. Validated on load; every error
// names the file and the field.

import Foundation

/// One joint's calibration and limits.
public struct JointCalibration: Sendable, Equatable, Codable {
    /// Human-readable joint name.
    public var name: String
    /// Encoder counts per output-shaft revolution (> 0).
    public var encoderCountsPerRevolution: Int
    /// +1 or −1: the sign that makes positive torque increase the joint angle.
    public var direction: Int
    /// Encoder count at the joint's zero angle.
    public var zeroOffsetCounts: Int
    /// Joint range in rad; nil for a continuous joint (e.g. a pendulum).
    public var positionMin: Double?
    public var positionMax: Double?
    /// |velocity| above this stops the robot, rad/s (> 0).
    public var velocityLimit: Double
    /// Commands are clamped to ±this, N·m (> 0).
    public var torqueLimit: Double
    /// Commands change by at most this per second, N·m/s (> 0).
    public var torqueRateLimit: Double

    public init(name: String, encoderCountsPerRevolution: Int, direction: Int = 1, zeroOffsetCounts: Int = 0,
                positionMin: Double? = nil, positionMax: Double? = nil, velocityLimit: Double,
                torqueLimit: Double, torqueRateLimit: Double) {
        self.name = name
        self.encoderCountsPerRevolution = encoderCountsPerRevolution
        self.direction = direction
        self.zeroOffsetCounts = zeroOffsetCounts
        self.positionMin = positionMin
        self.positionMax = positionMax
        self.velocityLimit = velocityLimit
        self.torqueLimit = torqueLimit
        self.torqueRateLimit = torqueRateLimit
    }

    /// Radians per encoder count, signed by `direction`.
    public var radiansPerCount: Double { Double(direction) * 2 * Double.pi / Double(encoderCountsPerRevolution) }

    /// Joint angle in rad for a raw encoder count. Real-time safe: does not allocate, lock or throw.
    @inlinable public func position(fromCounts counts: Int32) -> Double {
        Double(Int64(counts) - Int64(zeroOffsetCounts)) * radiansPerCount
    }
}

/// Simulator parameters fitted by system identification, with their standard errors.
public struct SystemIdentification: Sendable, Equatable, Codable {
    /// Parameter name → fitted value (names of the task's gap parameters, e.g. "mass").
    public var parameters: [String: Double]
    /// Parameter name → standard error of the fit.
    public var standardErrors: [String: Double]
    /// One-step prediction RMS error on held-out data with the nominal and fitted parameters.
    public var heldOutErrorBefore: Double
    public var heldOutErrorAfter: Double

    public init(parameters: [String: Double], standardErrors: [String: Double], heldOutErrorBefore: Double,
                heldOutErrorAfter: Double) {
        self.parameters = parameters
        self.standardErrors = standardErrors
        self.heldOutErrorBefore = heldOutErrorBefore
        self.heldOutErrorAfter = heldOutErrorAfter
    }
}

/// A robot's calibration file.
public struct RobotCalibration: Sendable, Equatable, Codable {
    /// The schema version this code reads and writes.
    public static let schemaVersion = 1

    public var robotID: String
    /// The task the robot performs (e.g. "pendulum"); selects the observation and reward.
    public var task: String
    /// Control loop rate, Hz.
    public var controlRateHz: Double
    public var joints: [JointCalibration]
    public var systemIdentification: SystemIdentification?

    public init(robotID: String, task: String, controlRateHz: Double, joints: [JointCalibration],
                systemIdentification: SystemIdentification? = nil) {
        self.robotID = robotID
        self.task = task
        self.controlRateHz = controlRateHz
        self.joints = joints
        self.systemIdentification = systemIdentification
    }

    /// A short stable hash of the file's content (FNV-1a 64 of the canonical JSON), recorded
    /// in dataset schemas so data from differently calibrated robots is not mixed unknowingly.
    public var contentHash: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in canonicalJSON().utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Largest calibration (or robot configuration) file read: real ones are a few KiB, and a
    /// bigger one is refused before it is parsed.
    public static let maximumFileBytes = 1 << 20

    /// Physical ranges a calibration must respect: beyond them a value is a typo or a corrupt
    /// file, and inside them every later conversion (Int32 counts, mN·m, loop periods) is exact.
    public enum Range {
        /// Control loop rate, Hz.
        public static let controlRateHz: ClosedRange<Double> = 1...2000
        /// Encoder counts per output revolution (an Int32 on the wire).
        public static let encoderCountsPerRevolution: ClosedRange<Int> = 1...Int(Int32.max)
        /// Encoder count at the zero angle (an Int32 on the wire).
        public static let zeroOffsetCounts: ClosedRange<Int> = Int(Int32.min)...Int(Int32.max)
        /// Joint range ends, rad.
        public static let positionRad: ClosedRange<Double> = -10_000...10_000
        /// Velocity limit, rad/s (above 0).
        public static let velocityLimitRadPerSecond: ClosedRange<Double> = 0...10_000
        /// Torque limit, N·m (above 0; 10 kN·m is 10⁷ mN·m on the wire).
        public static let torqueLimitNm: ClosedRange<Double> = 0...10_000
        /// Torque rate limit, N·m/s (above 0).
        public static let torqueRateLimitNmPerSecond: ClosedRange<Double> = 0...10_000_000
    }

    /// Loads and validates `path`.
    public static func load(path: String) throws(CalibrationError) -> RobotCalibration {
        let data = try readBounded(
            path: path, fix: "pass an existing file, or run `robotctl calibrate` to make one")
        return try parse(data, file: path)
    }

    /// The bytes of `path`, refused without reading further when the file holds more than
    /// ``maximumFileBytes`` (a device or a huge file fails fast). `fix` completes the
    /// missing-file error.
    public static func readBounded(path: String, limit: Int = maximumFileBytes, fix: String) throws(CalibrationError) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CalibrationError(file: path, field: nil,
                                   problem: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist",
                                   fix: fix)
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try readUpTo(limit + 1, from: handle) } catch {
            throw CalibrationError(file: path, field: nil, problem: "cannot be read (\(error.localizedDescription))",
                                   fix: "check that it is a regular file and readable")
        }
        guard data.count <= limit else {
            throw CalibrationError(file: path, field: nil, problem: "is larger than \(limit) bytes, not a calibration or robot file",
                                   fix: "pass the JSON file written by `robotctl calibrate` (a few KiB)")
        }
        return data
    }

    /// Parses and validates calibration JSON; `file` names the source in errors.
    public static func parse(_ data: Data, file: String) throws(CalibrationError) -> RobotCalibration {
        let root: [String: Any]
        do {
            guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CalibrationError(file: file, field: nil, problem: "is not a JSON object",
                                       fix: "see calibration/README.md for the schema")
            }
            root = obj
        } catch let e as CalibrationError { throw e } catch {
            throw CalibrationError(file: file, field: nil, problem: "is not valid JSON (\(error.localizedDescription))",
                                   fix: "see calibration/README.md for the schema")
        }
        let r = FieldReader(file: file)
        let version = try r.int(root, "schema_version")
        guard version == schemaVersion else {
            throw CalibrationError(file: file, field: "schema_version",
                                   problem: "is \(version), this robotctl reads version \(schemaVersion)",
                                   fix: "re-run `robotctl calibrate` with this version")
        }
        let robotID = try r.string(root, "robot_id")
        let task = try r.string(root, "task")
        let rate = try r.number(root, "control_rate_hz", in: Range.controlRateHz, unit: "Hz")
        guard let jointObjects = root["joints"] as? [Any], !jointObjects.isEmpty else {
            throw CalibrationError(file: file, field: "joints", problem: "is missing or empty",
                                   fix: "list one object per joint (see calibration/README.md)")
        }
        guard jointObjects.count <= maxJoints else {
            throw CalibrationError(file: file, field: "joints", problem: "has \(jointObjects.count) joints, at most \(maxJoints) are supported",
                                   fix: "split the robot or raise maxJoints")
        }
        var joints: [JointCalibration] = []
        for (i, item) in jointObjects.enumerated() {
            let path = "joints[\(i)]"
            guard let j = item as? [String: Any] else {
                throw CalibrationError(file: file, field: path, problem: "is not an object", fix: "see calibration/README.md")
            }
            let jr = FieldReader(file: file, prefix: path + ".")
            let cpr = try jr.int(j, "encoder_counts_per_rev")
            guard Range.encoderCountsPerRevolution.contains(cpr) else {
                throw CalibrationError(file: file, field: path + ".encoder_counts_per_rev",
                                       problem: "is \(cpr), must be in \(Range.encoderCountsPerRevolution.lowerBound)...\(Range.encoderCountsPerRevolution.upperBound)",
                                       fix: "use the encoder's counts per output revolution")
            }
            let zero = try jr.int(j, "zero_offset_counts")
            guard Range.zeroOffsetCounts.contains(zero) else {
                throw CalibrationError(file: file, field: path + ".zero_offset_counts",
                                       problem: "is \(zero), must be in \(Range.zeroOffsetCounts.lowerBound)...\(Range.zeroOffsetCounts.upperBound)",
                                       fix: "re-run the zero step of `robotctl calibrate`")
            }
            let direction = try jr.int(j, "direction")
            guard direction == 1 || direction == -1 else {
                throw CalibrationError(file: file, field: path + ".direction", problem: "is \(direction), must be 1 or -1",
                                       fix: "re-run the direction step of `robotctl calibrate`")
            }
            let lo = try jr.optionalNumber(j, "position_min_rad", in: Range.positionRad, unit: "rad")
            let hi = try jr.optionalNumber(j, "position_max_rad", in: Range.positionRad, unit: "rad")
            if (lo == nil) != (hi == nil) {
                throw CalibrationError(file: file, field: path + ".position_min_rad", problem: "and position_max_rad must both be set or both be null",
                                       fix: "set both, or null both for a continuous joint")
            }
            if let lo, let hi, lo >= hi {
                throw CalibrationError(file: file, field: path + ".position_min_rad", problem: "(\(lo)) is not below position_max_rad (\(hi))",
                                       fix: "re-run the range step of `robotctl calibrate`")
            }
            joints.append(JointCalibration(
                name: try jr.string(j, "name"), encoderCountsPerRevolution: cpr, direction: direction,
                zeroOffsetCounts: zero, positionMin: lo, positionMax: hi,
                velocityLimit: try jr.positive(j, "velocity_limit_rad_s", atMost: Range.velocityLimitRadPerSecond.upperBound, unit: "rad/s"),
                torqueLimit: try jr.positive(j, "torque_limit_nm", atMost: Range.torqueLimitNm.upperBound, unit: "N·m"),
                torqueRateLimit: try jr.positive(
                    j, "torque_rate_limit_nm_per_s", atMost: Range.torqueRateLimitNmPerSecond.upperBound, unit: "N·m/s")))
        }
        var sysid: SystemIdentification?
        if let s = root["system_identification"], !(s is NSNull) {
            guard let so = s as? [String: Any] else {
                throw CalibrationError(file: file, field: "system_identification", problem: "is not an object",
                                       fix: "re-run `robotctl calibrate --sysid` or set it to null")
            }
            let sr = FieldReader(file: file, prefix: "system_identification.")
            sysid = SystemIdentification(
                parameters: try sr.numberMap(so, "parameters"), standardErrors: try sr.numberMap(so, "standard_errors"),
                heldOutErrorBefore: try sr.number(so, "held_out_error_before"),
                heldOutErrorAfter: try sr.number(so, "held_out_error_after"))
        }
        return RobotCalibration(robotID: robotID, task: task, controlRateHz: rate, joints: joints,
                                systemIdentification: sysid)
    }

    /// The file's JSON, keys sorted, as `parse` reads it.
    public func canonicalJSON() -> String {
        var root: [String: Any] = [
            "schema_version": Self.schemaVersion, "robot_id": robotID, "task": task, "control_rate_hz": controlRateHz,
            "joints": joints.map { j -> [String: Any] in
                [
                    "name": j.name, "encoder_counts_per_rev": j.encoderCountsPerRevolution, "direction": j.direction,
                    "zero_offset_counts": j.zeroOffsetCounts,
                    "position_min_rad": j.positionMin.map { $0 as Any } ?? NSNull(),
                    "position_max_rad": j.positionMax.map { $0 as Any } ?? NSNull(),
                    "velocity_limit_rad_s": j.velocityLimit, "torque_limit_nm": j.torqueLimit,
                    "torque_rate_limit_nm_per_s": j.torqueRateLimit,
                ]
            },
        ]
        if let s = systemIdentification {
            root["system_identification"] = [
                "parameters": s.parameters, "standard_errors": s.standardErrors,
                "held_out_error_before": s.heldOutErrorBefore, "held_out_error_after": s.heldOutErrorAfter,
            ]
        } else {
            root["system_identification"] = NSNull()
        }
        let data = try! JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .prettyPrinted])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension RobotCalibration {
    /// The safety limits the loop enforces for this calibration, the only calibration → limits
    /// mapping (every command that drives a robot uses it): each joint's velocity, torque and
    /// torque-rate limits; a continuous joint (no range) gets a range of ±10⁶ rad. The loop's
    /// command watchdog matches a real robot's firmware watchdog (100 ms).
    public var safetyLimits: SafetyLimits {
        var limits = SafetyLimits(joints: joints.map { j in
            JointLimits(
                positionMin: Float(j.positionMin ?? -1e6), positionMax: Float(j.positionMax ?? 1e6),
                velocityMax: Float(j.velocityLimit), effortMax: Float(j.torqueLimit), rateMax: Float(j.torqueRateLimit))
        })
        limits.commandTimeout = 0.1
        return limits
    }
}

/// A calibration file problem: which file, which field, what is wrong, what to do.
public struct CalibrationError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var field: String?
    public var problem: String
    public var fix: String

    public init(file: String, field: String?, problem: String, fix: String) {
        self.file = file
        self.field = field
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        if let field { return "\(file): field \(field) \(problem); \(fix)" }
        return "\(file): \(problem); \(fix)"
    }
}

/// Typed field access on decoded JSON, with errors naming the file and the dotted field.
struct FieldReader {
    let file: String
    var prefix = ""

    private func fail(_ key: String, _ problem: String, _ fix: String = "see calibration/README.md for the schema")
        -> CalibrationError
    {
        CalibrationError(file: file, field: prefix + key, problem: problem, fix: fix)
    }

    func string(_ o: [String: Any], _ key: String) throws(CalibrationError) -> String {
        guard let v = o[key] else { throw fail(key, "is missing") }
        guard let s = v as? String, !s.isEmpty else { throw fail(key, "must be a non-empty string") }
        return s
    }

    func number(_ o: [String: Any], _ key: String) throws(CalibrationError) -> Double {
        guard let v = o[key] else { throw fail(key, "is missing") }
        // JSON booleans decode as NSNumber subclasses too; reject them by their type name
        // (`is Bool` is also true for the number 1 on Linux).
        guard let n = v as? NSNumber, !"\(type(of: v))".contains("Boolean"), n.doubleValue.isFinite else {
            throw fail(key, "must be a finite number, found \(v)")
        }
        return n.doubleValue
    }

    func optionalNumber(_ o: [String: Any], _ key: String) throws(CalibrationError) -> Double? {
        guard let v = o[key], !(v is NSNull) else { return nil }
        return try number(o, key)
    }

    func positive(_ o: [String: Any], _ key: String) throws(CalibrationError) -> Double {
        let n = try number(o, key)
        guard n > 0 else { throw fail(key, "is \(n), must be > 0") }
        return n
    }

    /// A number in `0 < n ≤ atMost` (`unit` names the range in the error).
    func positive(_ o: [String: Any], _ key: String, atMost: Double, unit: String) throws(CalibrationError) -> Double {
        let n = try number(o, key)
        guard n > 0, n <= atMost else {
            throw fail(key, "is \(n), must be in 0 < \(key) ≤ \(atMost) \(unit)", "correct the value (see calibration/README.md)")
        }
        return n
    }

    /// A number in `range` (`unit` names the range in the error).
    func number(_ o: [String: Any], _ key: String, in range: ClosedRange<Double>, unit: String) throws(CalibrationError) -> Double {
        let n = try number(o, key)
        guard range.contains(n) else {
            throw fail(key, "is \(n), must be in \(range.lowerBound)...\(range.upperBound) \(unit)", "correct the value (see calibration/README.md)")
        }
        return n
    }

    /// An optional number in `range`.
    func optionalNumber(_ o: [String: Any], _ key: String, in range: ClosedRange<Double>, unit: String) throws(CalibrationError) -> Double? {
        guard let v = o[key], !(v is NSNull) else { return nil }
        return try number(o, key, in: range, unit: unit)
    }

    func int(_ o: [String: Any], _ key: String) throws(CalibrationError) -> Int {
        let n = try number(o, key)
        guard n == n.rounded(), abs(n) < 1e15 else { throw fail(key, "is \(n), must be an integer") }
        return Int(n)
    }

    func numberMap(_ o: [String: Any], _ key: String) throws(CalibrationError) -> [String: Double] {
        guard let v = o[key] else { throw fail(key, "is missing") }
        guard let m = v as? [String: Any] else { throw fail(key, "must be an object of numbers") }
        var out: [String: Double] = [:]
        for (k, _) in m { out[k] = try FieldReader(file: file, prefix: prefix + key + ".").number(m, k) }
        return out
    }
}

/// At most `count` bytes of `handle`, read in 64 KiB pieces (asking for `count` bytes at once
/// would allocate that much for a file of a few KiB). Set-up code.
func readUpTo(_ count: Int, from handle: FileHandle) throws -> Data {
    var data = Data()
    while data.count < count, let piece = try handle.read(upToCount: min(65_536, count - data.count)), !piece.isEmpty {
        data.append(piece)
    }
    return data
}
