import ArgumentParser
import Hardware

/// How `run` and `eval` drive the pendulum: the emulated robot's plant parameters and the
/// policy's decision rate.
struct EmulatorOptions: ParsableArguments {
    @Option(
        name: .customLong("emulator-param"),
        help: ArgumentHelp(
            "A plant parameter of the emulated robot, NAME=VALUE (repeatable; names in firmware-proto/plant/include/plant.h). Default: actuator_gain=0.7; actuator_gain=1 is the reference robot. Ignored with --robot.",
            valueName: "name=value"))
    var parameters: [String] = []

    @Option(help: "Loop ticks per policy decision: the 200 Hz loop holds each action this many ticks (10: the policy acts at 20 Hz, the onboard simulator's time step; must divide the 2000-tick episode).")
    var decisionTicks: Int = 10

    /// The parsed `--emulator-param` values (valid after `check`).
    var parsedParameters: [(name: String, value: Double)] { parameters.compactMap(EmulatedRobot.parse) }

    func check() throws {
        for p in parameters where EmulatedRobot.parse(p) == nil {
            throw ValidationError("--emulator-param \(p): expected NAME=VALUE with a plant parameter name and a finite number, e.g. --emulator-param actuator_gain=0.8")
        }
        guard (1...100).contains(decisionTicks), 2000 % decisionTicks == 0 else {
            throw ValidationError("--decision-ticks \(decisionTicks): must be 1...100 and divide the 2000-tick episode (e.g. 1, 5, 10, 20)")
        }
    }
}
