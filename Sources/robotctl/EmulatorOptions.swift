import ArgumentParser
import Hardware

/// The emulated robot's plant parameters beyond its robot file (`run`, `eval`, `teleop`,
/// `calibrate`: one emulated robot for every command).
struct EmulatorOptions: ParsableArguments {
    @Option(
        name: .customLong("emulator-param"),
        help: ArgumentHelp(
            "A plant parameter of the emulated robot, NAME=VALUE (repeatable; names in firmware-proto/plant/include/plant.h, e.g. j0.gain=1 for an ideal motor). Overrides the robot file's \"emulator\" section by name; ignored for a real robot.",
            valueName: "name=value"))
    var parameters: [String] = []

    /// The parsed `--emulator-param` values (valid after `check`).
    var parsedParameters: [(name: String, value: Double)] { parameters.compactMap(EmulatedRobot.parse) }

    func check() throws {
        for p in parameters where EmulatedRobot.parse(p) == nil {
            throw ValidationError("--emulator-param \(p): expected NAME=VALUE with a plant parameter name and a finite number, e.g. --emulator-param j0.gain=0.8")
        }
    }
}
