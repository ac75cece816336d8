import Control
import Tasks

/// `robotctl calibrate --sysid` for any robot file: excite every actuated joint on the robot
/// (`ChainExcitation` through `ExcitationRunner`, behind the safety filter), then fit the
/// robot file's simulator (`ChainSystemID`). The caller writes `fit.systemIdentification` into
/// the calibration and prints `fit.table(robot:)`.
///
/// Set-up code: drives the robot for `seconds`, allocates.
public enum ChainCalibration {
    /// Excites and fits. `robot` must be configured in torque mode with `calibration`'s joints
    /// (one per robot-file joint). Throws one line naming the problem and the fix.
    public static func identify(
        robot: any RobotInterface, spec: RobotSpec, calibration: RobotCalibration, seconds: Double, amplitudeFraction: Double = 0.8,
        band: ClosedRange<Double> = 0.2...2.5, seed: UInt64 = 1, options: ChainSystemID.Options = ChainSystemID.Options(),
        progress: (Int) -> Void = { _ in }
    ) throws -> (fit: ChainSystemID.Fit, log: ChainExcitationLog) {
        guard calibration.joints.count == spec.joints.count else {
            throw ExcitationError(
                "the calibration has \(calibration.joints.count) joints, \(spec.source) has \(spec.joints.count); calibrate with the robot file's calibration")
        }
        let rate = Int(calibration.controlRateHz.rounded())
        let excitation = try ChainExcitation(
            robot: spec, controlRateHz: rate, seconds: seconds, band: band, amplitudeFraction: amplitudeFraction, seed: seed)
        let period = 1 / calibration.controlRateHz
        let log = try ExcitationRunner.run(
            robot: robot, limits: calibration.safetyLimits, periodSeconds: period, excitation: excitation, progress: progress)
        let fit = try ChainSystemID.fit(log: log.sysIDLog(periodSeconds: period), robot: spec, options: options)
        return (fit, log)
    }
}
