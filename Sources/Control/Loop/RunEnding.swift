/// How a supervised run of the loop ended, in one vocabulary for every command that drives
/// the robot (`robotctl run`, `eval`, `teleop`, `calibrate`), which maps it to its exit status.
public enum RunEnding: Sendable, Equatable, CustomStringConvertible {
    /// Ended as asked: the duration or the episode count reached, the operator's stop key.
    case completed
    /// An orderly stop requested from outside (SIGINT, SIGTERM, SIGHUP) before any planned end.
    case stopRequested
    /// The safety layer ended it: a latched stop that is not cleared and retried (a limit, the
    /// e-stop, a policy with non-finite output and no earlier good one).
    case safetyStop(StopReason)
    /// The robot or its link failed: the link lost or too slow, a motor-driver fault latched,
    /// the robot refusing to clear or re-activate. The text says what.
    case robotFailed(String)
    /// The trainer's parameters went non-finite (restored, but the fine-tuning did not hold).
    case trainerDiverged
    /// The dataset could not be written (disk full, I/O error); the motors were stopped.
    case recordingFailed(String)

    /// The ending of a latched stop that is not retried, from the stop's reasons and the
    /// faults the robot itself reports: a motor, encoder or link fault (or a link failure)
    /// is the robot failing, a dataset write error is the recording failing, anything else
    /// (limits, e-stop, non-finite values, the command watchdog) a safety stop.
    public static func latched(_ reasons: StopReason, robotFaults: RobotFaults) -> RunEnding {
        if reasons.contains(.recordingFailed) { return .recordingFailed("the dataset could not be written") }
        let hardware = robotFaults.intersection([.motor, .encoder, .link])
        if reasons.contains(.ioFailure) || (reasons.contains(.robotFault) && !hardware.isEmpty) {
            return .robotFailed("\(reasons) (robot faults: \(describe(robotFaults)))")
        }
        return .safetyStop(reasons)
    }

    /// "motor+link" for a set of robot faults ("none" for none).
    public static func describe(_ f: RobotFaults) -> String {
        let names: [(RobotFaults, String)] = [(.watchdog, "watchdog"), (.estop, "e-stop"), (.motor, "motor"), (.encoder, "encoder"),
                                              (.limit, "limit"), (.link, "link")]
        let parts = names.filter { f.contains($0.0) }.map(\.1)
        return parts.isEmpty ? "none" : parts.joined(separator: "+")
    }

    public var description: String {
        switch self {
        case .completed: "completed"
        case .stopRequested: "stop requested"
        case .safetyStop(let r): "safety stop: \(r)"
        case .robotFailed(let why): "robot failed: \(why)"
        case .trainerDiverged: "trainer diverged"
        case .recordingFailed(let why): "recording failed: \(why)"
        }
    }
}
