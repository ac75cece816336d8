import Control

/// The checks that a robot file, its calibration, a task file and a policy belong together,
/// each failing in one line before any motor moves.
extension RobotSpec {
    /// The calibration describes this robot: the same joints, by count and name, and the same id.
    public func check(calibration: RobotCalibration, file: String) throws(SpecError) {
        guard calibration.joints.count == joints.count else {
            throw SpecError(
                file: file, field: "joints",
                problem: "has \(calibration.joints.count) joint(s) but \(source) has \(joints.count) (\(joints.map(\.name).joined(separator: ", "))); calibrate this robot with `robotctl calibrate --robot \(source)`")
        }
        for (i, (c, j)) in zip(calibration.joints, joints).enumerated() where c.name != j.name {
            throw SpecError(
                file: file, field: "joints[\(i)].name",
                problem: "'\(c.name)' but \(source) calls joint \(i) '\(j.name)'; use the calibration of this robot")
        }
        guard calibration.robotID == id else {
            throw SpecError(
                file: file, field: "robot_id",
                problem: "'\(calibration.robotID)' but \(source) is '\(id)'; use the calibration of this robot")
        }
    }
}

extension TaskSpec {
    /// The calibration was made at this task's control rate (its limits and watchdog assume it).
    public func check(calibration: RobotCalibration, file: String) throws(SpecError) {
        guard abs(calibration.controlRateHz - Double(controlRateHz)) <= 1e-9 * Double(controlRateHz) else {
            throw SpecError(
                file: file, field: "control_rate_hz",
                problem: "is \(calibration.controlRateHz) Hz but task \(source) runs at \(controlRateHz) Hz; use a calibration made at the task's rate, or set the task's control_rate_hz")
        }
    }

    /// A policy's sizes fit this task's observation and action.
    public func check(policyObservationSize s: Int, actionSize a: Int, policyFile: String) throws(SpecError) {
        guard s == observationSize, a == actionSize else {
            throw SpecError(
                file: policyFile, field: "",
                problem: "maps \(s) observations to \(a) actions but task \(source) has \(observationSize) → \(actionSize); train a policy for this task")
        }
    }
}
