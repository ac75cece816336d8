import Foundation
import Testing

@testable import Control

private let valid = """
    {"schema_version": 1, "robot_id": "arm", "task": "pendulum", "control_rate_hz": 200,
     "joints": [{"name": "j0", "encoder_counts_per_rev": 4096, "direction": -1, "zero_offset_counts": 1024,
                 "position_min_rad": null, "position_max_rad": null, "velocity_limit_rad_s": 8,
                 "torque_limit_nm": 2, "torque_rate_limit_nm_per_s": 100}],
     "system_identification": {"parameters": {"mass": 1.1}, "standard_errors": {"mass": 0.01},
                               "held_out_error_before": 0.2, "held_out_error_after": 0.05}}
    """

/// `valid` with one substring replaced.
private func variant(_ of: String, _ with: String) -> Data {
    precondition(valid.contains(of), "test bug: \(of) not in the valid file")
    return Data(valid.replacingOccurrences(of: of, with: with).utf8)
}

@Test("a valid calibration loads and converts counts to radians with offset and direction")
func validCalibration() throws {
    let c = try RobotCalibration.parse(Data(valid.utf8), file: "arm.json")
    #expect(c.joints.count == 1 && c.joints[0].direction == -1)
    #expect(abs(c.joints[0].position(fromCounts: 1024 + 1024) - (-Double.pi / 2)) < 1e-12)
    #expect(c.systemIdentification?.parameters["mass"] == 1.1)
}

@Test("canonical JSON parses back to the same calibration and the same hash")
func canonicalRoundTrip() throws {
    let c = try RobotCalibration.parse(Data(valid.utf8), file: "arm.json")
    let again = try RobotCalibration.parse(Data(c.canonicalJSON().utf8), file: "again.json")
    #expect(again == c)
    #expect(again.contentHash == c.contentHash && c.contentHash.count == 16)
    var other = c
    other.joints[0].torqueLimit = 3
    #expect(other.contentHash != c.contentHash)
}

@Test("each invalid field is named, with the file, in one line", arguments: [
    ("\"torque_limit_nm\": 2", "\"torque_limit_nm\": -1", "joints[0].torque_limit_nm"),
    ("\"direction\": -1", "\"direction\": 0", "joints[0].direction"),
    ("\"encoder_counts_per_rev\": 4096", "\"encoder_counts_per_rev\": 0", "joints[0].encoder_counts_per_rev"),
    ("\"schema_version\": 1", "\"schema_version\": 9", "schema_version"),
    ("\"robot_id\": \"arm\",", "", "robot_id"),
    ("\"position_min_rad\": null", "\"position_min_rad\": 1.0", "joints[0].position_min_rad"),
    ("\"control_rate_hz\": 200", "\"control_rate_hz\": \"fast\"", "control_rate_hz"),
    ("\"mass\": 1.1", "\"mass\": \"heavy\"", "system_identification.parameters.mass"),
])
func invalidField(replace: String, with: String, field: String) {
    #expect {
        _ = try RobotCalibration.parse(variant(replace, with), file: "calibration/arm.json")
    } throws: { error in
        let message = "\(error)"
        return message.hasPrefix("calibration/arm.json: field \(field) ") && !message.contains("\n")
    }
}

@Test("a missing file and broken JSON are named with what to do")
func missingAndBrokenFiles() throws {
    #expect {
        _ = try RobotCalibration.load(path: "/nonexistent/cal.json")
    } throws: { "\($0)".contains("/nonexistent/cal.json: does not exist; ") && "\($0)".contains("robotctl calibrate") }
    #expect {
        _ = try RobotCalibration.parse(Data("{\"schema_version\": ".utf8), file: "x.json")
    } throws: { "\($0)".hasPrefix("x.json: is not valid JSON") }
}

@Test("the reference emulated-pendulum calibration in the repository is valid")
func referenceCalibrationIsValid() throws {
    // Tests/ControlTests/<this file> -> repository root.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let c = try RobotCalibration.load(path: root.appendingPathComponent("calibration/emulated-pendulum.json").path)
    #expect(c.task == "pendulum" && c.joints.count == 1)
}
