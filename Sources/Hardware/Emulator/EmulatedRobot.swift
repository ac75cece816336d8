/// The emulated robot's plant parameters (`robot-emulator --param NAME=VALUE`; names and
/// ranges in firmware-proto/plant/include/plant.h): the robot file's `emulator.params` (its
/// reality gap, data) overridden by name with `--emulator-param`. The robot file itself
/// becomes the plant's geometry through `RobotSpec.emulatorArguments` (Tasks).
public enum EmulatedRobot {
    /// Parses `NAME=VALUE` (a plant parameter name and a finite number); nil if malformed.
    public static func parse(_ text: String) -> (name: String, value: Double)? {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }),
            let v = Double(parts[1]), v.isFinite
        else { return nil }
        return (parts[0], v)
    }

    /// `robot-emulator` arguments for `parameters`.
    public static func arguments(_ parameters: [(name: String, value: Double)]) -> [String] {
        parameters.flatMap { ["--param", "\($0.name)=\($0.value)"] }
    }

    /// "j0.gain=0.7, j0.coulomb=0.1" (or "as its robot file").
    public static func describe(_ parameters: [(name: String, value: Double)]) -> String {
        parameters.isEmpty ? "as its robot file" : parameters.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
    }
}
