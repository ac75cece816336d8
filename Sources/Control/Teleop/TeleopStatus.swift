import Foundation

/// The teleop status line's joint part, read on the supervising thread from what the control
/// loop publishes (`LoopStatistics.publishJoints`, relaxed atomics written after every good
/// read) and what the operator source holds: nothing is computed or allocated on the control
/// thread for it.
///
/// Thread contract: any thread but the control thread (it allocates the string).
public enum TeleopStatus {
    /// "shoulder +0.123 rad +1.20 rad/s | elbow −0.500 rad +0.00 rad/s": every joint of the
    /// last published read; `units[i]` is joint i's position unit ("rad" or "m"), its velocity
    /// unit is that per second. Before the first read: "joints: no reading yet".
    public static func joints(names: [String], units: [String], statistics: LoopStatistics) -> String {
        joints(names: names, units: units, count: statistics.publishedJointCount) {
            (statistics.jointPosition($0), statistics.jointVelocity($0))
        }
    }

    /// The same from any source of positions and velocities (`count`: joints read so far).
    public static func joints(names: [String], units: [String], count: Int, value: (Int) -> (Float, Float)) -> String {
        guard count > 0 else { return "joints: no reading yet" }
        return (0..<min(count, names.count)).map { i in
            let (p, v) = value(i)
            let unit = i < units.count ? units[i] : "rad"
            return names[i] + String(format: " %+.3f %@ %+.2f %@/s", Double(p), unit, Double(v), unit)
        }.joined(separator: " | ")
    }

    /// "action elbow +0.50" or "action shoulder +0.25 elbow −0.50": the operator's action per
    /// driven joint (`names[i]` drives action component i).
    public static func actions(names: [String], source: OperatorSource) -> String {
        "action" + names.prefix(source.actionSize).enumerated().map { i, n in
            String(format: " %@ %+.2f", n, Double(source.action(i)))
        }.joined()
    }
}
