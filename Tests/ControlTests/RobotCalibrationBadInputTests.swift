import Foundation
import Testing

@testable import Control

/// Calibrations outside physical ranges (issue 13, item 2): each used to validate and then trap
/// or misbehave later (`torque_limit_nm` 2.1e6 trapped in MotorBusRobot, counts of 5e9 and rates
/// of 1e-300 or 1e12 crashed teleop and calibrate, 20000 Hz ran a 20 kHz loop). Each is refused
/// in one line naming the file, the field, the value and the allowed range.
@Suite("calibration bad input")
struct RobotCalibrationBadInputTests {
    static let valid = """
        {"schema_version": 1, "robot_id": "arm", "task": "pendulum", "control_rate_hz": 200,
         "joints": [{"name": "j0", "encoder_counts_per_rev": 4096, "direction": 1, "zero_offset_counts": 0,
                     "position_min_rad": -1.5, "position_max_rad": 1.5, "velocity_limit_rad_s": 8,
                     "torque_limit_nm": 2, "torque_rate_limit_nm_per_s": 100}],
         "system_identification": null}
        """

    static func parse(_ replace: String, _ with: String) throws -> RobotCalibration {
        precondition(valid.contains(replace), "test bug: \(replace) not in the valid file")
        return try RobotCalibration.parse(Data(valid.replacingOccurrences(of: replace, with: with).utf8), file: "cal/arm.json")
    }

    @Test("values beyond the physical ranges are refused with field, value and range", arguments: [
        ("\"control_rate_hz\": 200", "\"control_rate_hz\": 20000", "control_rate_hz", "20000.0", "1.0...2000.0 Hz"),
        ("\"control_rate_hz\": 200", "\"control_rate_hz\": 1e-300", "control_rate_hz", "1e-300", "1.0...2000.0 Hz"),
        ("\"control_rate_hz\": 200", "\"control_rate_hz\": 1e12", "control_rate_hz", "1000000000000.0", "1.0...2000.0 Hz"),
        ("\"control_rate_hz\": 200", "\"control_rate_hz\": 0.5", "control_rate_hz", "0.5", "1.0...2000.0 Hz"),
        ("\"encoder_counts_per_rev\": 4096", "\"encoder_counts_per_rev\": 5e9", "joints[0].encoder_counts_per_rev", "5000000000", "1...2147483647"),
        ("\"zero_offset_counts\": 0", "\"zero_offset_counts\": 5e9", "joints[0].zero_offset_counts", "5000000000", "-2147483648...2147483647"),
        ("\"zero_offset_counts\": 0", "\"zero_offset_counts\": -5e9", "joints[0].zero_offset_counts", "-5000000000", "-2147483648...2147483647"),
        ("\"torque_limit_nm\": 2", "\"torque_limit_nm\": 2.1e6", "joints[0].torque_limit_nm", "2100000.0", "≤ 10000.0 N·m"),
        ("\"velocity_limit_rad_s\": 8", "\"velocity_limit_rad_s\": 1e300", "joints[0].velocity_limit_rad_s", "1e+300", "≤ 10000.0 rad/s"),
        ("\"torque_rate_limit_nm_per_s\": 100", "\"torque_rate_limit_nm_per_s\": 1e9", "joints[0].torque_rate_limit_nm_per_s", "1000000000.0", "≤ 10000000.0 N·m/s"),
        ("\"position_max_rad\": 1.5", "\"position_max_rad\": 1e7", "joints[0].position_max_rad", "10000000.0", "-10000.0...10000.0 rad"),
    ])
    func outOfRange(replace: String, with: String, field: String, value: String, range: String) {
        #expect {
            _ = try Self.parse(replace, with)
        } throws: { error in
            let m = "\(error)"
            return m.hasPrefix("cal/arm.json: field \(field) is \(value), must be in ") && m.contains(range) && !m.contains("\n")
        }
    }

    @Test("the ends of every range are accepted")
    func rangeEnds() throws {
        #expect(try Self.parse("\"control_rate_hz\": 200", "\"control_rate_hz\": 2000").controlRateHz == 2000)
        #expect(try Self.parse("\"control_rate_hz\": 200", "\"control_rate_hz\": 1").controlRateHz == 1)
        let c = try Self.parse("\"encoder_counts_per_rev\": 4096", "\"encoder_counts_per_rev\": 2147483647")
        #expect(c.joints[0].encoderCountsPerRevolution == Int(Int32.max))
        #expect(try Self.parse("\"zero_offset_counts\": 0", "\"zero_offset_counts\": -2147483648").joints[0].zeroOffsetCounts == Int(Int32.min))
        #expect(try Self.parse("\"torque_limit_nm\": 2", "\"torque_limit_nm\": 10000").joints[0].torqueLimit == 10000)
    }

    @Test("a file over the size cap is refused before parsing, quickly")
    func sizeCap() throws {
        let path = NSTemporaryDirectory() + "robotctl-big-calibration-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // 19 MB of JSON whitespace: parsing it took 80 s before the cap.
        var big = Data(Self.valid.utf8)
        big.append(Data(repeating: 0x20, count: 19_000_000))
        try big.write(to: URL(fileURLWithPath: path))
        let start = Date()
        #expect {
            _ = try RobotCalibration.load(path: path)
        } throws: { "\($0)".hasPrefix("\(path): is larger than \(RobotCalibration.maximumFileBytes) bytes") }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test("a character device is read only up to the cap")
    func device() {
        #expect {
            _ = try RobotCalibration.load(path: "/dev/zero")
        } throws: { "\($0)".hasPrefix("/dev/zero: is larger than") }
    }
}

/// Dataset files a reader must bound (issue 13, item 1): an oversized schema.json, a segment
/// larger than any the writer makes (a sparse file here, so the test costs no disk), segment
/// names that are not 32-bit indices.
@Suite("dataset reader bad input")
struct DatasetReaderBadInputTests {
    func directory(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "robotctl-dataset-bad-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func schema() -> DatasetSchema {
        DatasetSchema(
            robotID: "r", task: "t", controlRateHz: 200, observation: [DatasetChannel(name: "x", unit: "rad")],
            action: [DatasetChannel(name: "u", unit: "1")], rewardDefinition: "-x^2")
    }

    @Test("a schema.json over the cap is refused naming the file")
    func oversizedSchema() throws {
        let dir = try directory("schema")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/schema.json"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(DatasetSchema.maximumFileBytes + 1))
        try handle.close()
        #expect {
            _ = try DatasetReader(directory: dir)
        } throws: { "\($0)".hasPrefix("dataset schema \(path): is larger than \(DatasetSchema.maximumFileBytes) bytes") }
    }

    @Test("a segment larger than any the writer makes is refused, not allocated")
    func oversizedSegment() throws {
        let dir = try directory("segment")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try DatasetWriter(directory: dir, schema: schema()).close()
        let path = dir + "/" + SegmentFormat.fileName(7)
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(DatasetReader.maximumSegmentBytes + 1))
        try handle.close()
        #expect {
            _ = try DatasetReader(directory: dir)
        } throws: { "\($0)".contains("\(path): is \(DatasetReader.maximumSegmentBytes + 1) bytes, more than any segment") }
    }

    @Test("only digit names within 32 bits are segment files", arguments: [
        ("segment-000003.rcds", 3), ("segment--1.rcds", nil), ("segment-99999999999.rcds", nil),
        ("segment-4294967295.rcds", nil), ("segment-+5.rcds", nil), ("segment-.rcds", nil),
    ] as [(String, Int?)])
    func segmentNames(name: String, index: Int?) {
        #expect(SegmentFormat.index(ofFileName: name) == index)
    }

    @Test("a schema stating an absurd control rate is refused")
    func absurdRate() throws {
        var s = schema()
        s.controlRateHz = 1e300
        #expect(throws: DatasetError.self) { try s.validate(file: "x/schema.json") }
    }
}
