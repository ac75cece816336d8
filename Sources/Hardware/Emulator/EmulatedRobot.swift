/// The emulated robot `robotctl run` and `robotctl eval` start when no robot is given: the
/// reference firmware and plant (firmware-proto) with these plant parameters passed on its
/// command line (`robot-emulator --param NAME=VALUE`; names and ranges in
/// firmware-proto/plant/include/plant.h). The compiled-in reference robot is not changed.
public enum EmulatedRobot {
    /// A motor that delivers 70 % of the commanded torque (`actuator_gain` 0.7), on top of the
    /// reference robot's friction, rotor inertia, back-EMF, latency and sensor noise. The
    /// onboard simulator assumes the nominal gain of 1, so a policy trained only in it
    /// swings up on this robot but pumps once more than it needs (5–6 s to upright instead of
    /// 4): a dynamics gap that fine-tuning on the robot can close. `actuator_gain=1` gives the
    /// reference robot.
    public static let defaultParameters: [(name: String, value: Double)] = [("actuator_gain", 0.7)]

    /// `defaultParameters` with `overrides` (by name) applied, in a stable order.
    public static func parameters(overriding overrides: [(name: String, value: Double)]) -> [(name: String, value: Double)] {
        var result = defaultParameters
        for o in overrides {
            if let i = result.firstIndex(where: { $0.name == o.name }) { result[i] = o } else { result.append(o) }
        }
        return result
    }

    /// Parses `NAME=VALUE` (a plant parameter name and a finite number); nil if malformed.
    public static func parse(_ text: String) -> (name: String, value: Double)? {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
            let v = Double(parts[1]), v.isFinite
        else { return nil }
        return (parts[0], v)
    }

    /// `robot-emulator` arguments for `parameters`.
    public static func arguments(_ parameters: [(name: String, value: Double)]) -> [String] {
        parameters.flatMap { ["--param", "\($0.name)=\($0.value)"] }
    }

    /// "actuator_gain=0.7, coulomb=0.1" (or "reference robot").
    public static func describe(_ parameters: [(name: String, value: Double)]) -> String {
        parameters.isEmpty ? "reference robot" : parameters.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
    }
}
