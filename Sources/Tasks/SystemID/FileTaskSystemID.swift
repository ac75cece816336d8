import Control
import Foundation

/// The N-joint fit (`ChainSystemID`) as the file task's simulator parameters and as the
/// calibration file's `system_identification` block, and back.
///
/// The names are `FileTaskParameters`'s: `<joint>.mass|com|inertia|viscous|coulomb|gain` and
/// `latency_ticks`. Every fitted value is written, identifiable or not: the ones the data do
/// not determine are the robot file's values (the fit steps only along identifiable
/// directions), so the block is the complete simulator the run should use.
///
/// Set-up code: allocates, never on the control thread.
extension ChainSystemID.Fit {
    /// The fitted simulator over `robot` (the robot file the fit started from).
    public func fileTaskParameters(robot: RobotSpec) throws(SimError) -> FileTaskParameters {
        var p = FileTaskParameters(robot: robot)
        for name in values.keys.sorted() { try p.set(name, to: values[name]!) }
        return p
    }

    /// The calibration file's `system_identification` object.
    public var systemIdentification: SystemIdentification {
        SystemIdentification(
            parameters: values, standardErrors: standardErrors.filter { $0.value.isFinite }, heldOutErrorBefore: heldOutErrorBefore,
            heldOutErrorAfter: heldOutErrorAfter)
    }

    /// One line per fitted value for a terminal: value ± standard error, the robot file's
    /// value, and whether the data determine it.
    public func table(robot: RobotSpec) -> [String] {
        let nominal = FileTaskParameters(robot: robot)
        return values.keys.sorted().map { name in
            let v = values[name]!, se = standardErrors[name] ?? 0
            let before = nominal.value(of: name) ?? 0
            let note = identifiable.contains(name) ? "" : "   (not determined on its own: moved only along combinations the data determine)"
            return "  " + name.padding(toLength: 18, withPad: " ", startingAt: 0)
                + String(format: "%10.4f ± %.4f   robot file %.4f", v, se, before) + note
        }
    }
}

extension FileTaskParameters {
    /// The simulator a calibration's `system_identification` block describes, over `robot`.
    /// Throws one line naming the file when the block names a parameter the robot does not have
    /// (a calibration of another robot) or a value out of range.
    public init(robot: RobotSpec, systemIdentification: SystemIdentification, calibrationFile: String) throws(SimError) {
        self.init(robot: robot)
        for name in systemIdentification.parameters.keys.sorted() {
            do { try set(name, to: systemIdentification.parameters[name]!) } catch {
                throw SimError("\(calibrationFile): system_identification: \(error.description); run robotctl calibrate --sysid for this robot again")
            }
        }
    }
}
