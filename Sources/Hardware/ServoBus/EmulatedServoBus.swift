/// Starting the servo emulator (`servo-emulator`, beside the running executable) as the robot a
/// robot file's servo link describes, and the `ServoBusRobot` that drives it: the servo-bus
/// counterpart of the robot-emulator bring-up. Set-up only.
public enum EmulatedServoBus {
    /// `servo-emulator` arguments for a robot file's servo link: its servos (ids, models, baud,
    /// mounting) in front of one `chain` plant with `plantParameters` (the names of
    /// firmware-proto/plant/include/plant.h: `RobotSpec.plantParameters()`, then the reality
    /// gap; later values win), formatted by `EmulatedRobot.arguments` as robot-emulator's are.
    public static func arguments(link: ServoLink, plantParameters: [(name: String, value: Double)], seed: UInt64) -> [String] {
        func list<T>(_ values: [T]) -> String { values.map { "\($0)" }.joined(separator: ",") }
        return [
            "--bus", link.bus.rawValue, "--joints", "\(link.ids.count)", "--ids", list(link.ids),
            "--model", list(link.models.map { $0.name.lowercased() }), "--baud", "\(link.baud)", "--plant", "chain",
            "--zero-counts", list(link.zeroOffsetCounts), "--direction", list(link.directions), "--seed", "\(seed)",
            "--param", "joints=\(link.ids.count)",
        ] + EmulatedRobot.arguments(plantParameters)
    }

    /// Starts `servo-emulator` (beside the running executable) as the robot a robot file's
    /// servo link describes, its joints one coupled `chain` plant with `plantParameters`
    /// (`RobotSpec.plantParameters()`, plus any reality-gap overrides), and returns it with the
    /// ServoBusRobot configured for its pty (not yet `configure`d). `extraArguments`: fault
    /// injection (`--silent 2 --silent-at 3`, `--drop 0.001`, ...). The bring-up's call for
    /// `link.port == "emulator"` on a dynamixel or feetech robot.
    public static func start(
        link: ServoLink, plantParameters: [(name: String, value: Double)], seed: UInt64 = 1, extraArguments: [String] = []
    ) throws -> (emulator: EmulatorProcess, robot: ServoBusRobot) {
        let path = try EmulatorProcess.locateBesideExecutable(named: "servo-emulator")
        let emulator = try EmulatorProcess(
            executable: path, arguments: arguments(link: link, plantParameters: plantParameters, seed: seed) + extraArguments,
            realtimePriority: 50)
        return (emulator, robot(link: link, emulator: emulator))
    }

    /// A ServoBusRobot for `link`'s servos on a running `emulator`'s pty (not yet
    /// `configure`d): a second robot on the same emulator, e.g. after the calibration
    /// wizard's identity joints (`RobotBringup.reopen`).
    public static func robot(link: ServoLink, emulator: EmulatorProcess) -> ServoBusRobot {
        var c = link.configuration(devicePath: emulator.ptyPath)
        // The emulator shares this host: let the link stall up to 100 ms before latching.
        c.maxConsecutiveFailures = 20
        let pty = emulator.ptyPath
        let baud = link.baud
        return ServoBusRobot(configuration: c) { try TermiosTransport(path: pty, baudRate: baud) }
    }
}
