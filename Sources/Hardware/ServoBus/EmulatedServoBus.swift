/// Starting the servo emulator (`servo-emulator`, beside the running executable) and the
/// configuration that drives it: the servo-bus counterpart of the robot-emulator bring-up.
/// Set-up only.
public enum EmulatedServoBus {
    /// The emulator's arguments for `joints` servos of `model` at `baud`.
    public static func arguments(bus: ServoBusKind, joints: Int, model: ServoModel, baud: Int, seed: UInt64) -> [String] {
        ["--bus", bus.rawValue, "--joints", "\(joints)", "--model", model.name.lowercased(), "--baud", "\(baud)",
         "--seed", "\(seed)"]
    }

    /// Starts `servo-emulator` with `joints` servos of `model` (ids 1...joints) at `baud` and
    /// returns it with a configuration for them (`extraArguments`: faults, plant parameters).
    public static func start(
        bus: ServoBusKind, joints: Int, model: ServoModel, baud: Int = 1_000_000, seed: UInt64 = 1,
        torqueConstantNmPerAmp: Float = 0, extraArguments: [String] = []
    ) throws -> (emulator: EmulatorProcess, configuration: ServoBusConfiguration) {
        let path = try EmulatorProcess.locateBesideExecutable(named: "servo-emulator")
        let emulator = try EmulatorProcess(
            executable: path,
            arguments: arguments(bus: bus, joints: joints, model: model, baud: baud, seed: seed) + extraArguments,
            realtimePriority: 50)
        var c = ServoBusConfiguration.uniform(
            bus: bus, devicePath: emulator.ptyPath, count: joints, model: model, torqueConstantNmPerAmp: torqueConstantNmPerAmp)
        c.baudRate = baud
        // The emulator shares this host: let the link stall up to 100 ms before latching.
        c.maxConsecutiveFailures = 20
        return (emulator, c)
    }

    /// `servo-emulator` arguments for a robot file's servo link: its servos (ids, models, baud,
    /// mounting) in front of one `chain` plant with `plantParameters` (the names of
    /// firmware-proto/plant/include/plant.h: `RobotSpec.plantParameters()`; later values win).
    public static func arguments(link: ServoLink, plantParameters: [(name: String, value: Double)], seed: UInt64) -> [String] {
        func list<T>(_ values: [T]) -> String { values.map { "\($0)" }.joined(separator: ",") }
        var args = [
            "--bus", link.bus.rawValue, "--joints", "\(link.ids.count)", "--ids", list(link.ids),
            "--model", list(link.models.map { $0.name.lowercased() }), "--baud", "\(link.baud)", "--plant", "chain",
            "--zero-counts", list(link.zeroOffsetCounts), "--direction", list(link.directions), "--seed", "\(seed)",
            "--param", "joints=\(link.ids.count)",
        ]
        for p in plantParameters { args += ["--param", "\(p.name)=\(p.value)"] }
        return args
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
        var c = link.configuration(devicePath: emulator.ptyPath)
        // The emulator shares this host: let the link stall up to 100 ms before latching.
        c.maxConsecutiveFailures = 20
        let pty = emulator.ptyPath
        let baud = link.baud
        let robot = ServoBusRobot(configuration: c) { try TermiosTransport(path: pty, baudRate: baud) }
        return (emulator, robot)
    }

    /// The reference pendulum on a servo: one XM430-W350 in current (torque) mode carrying
    /// Gymnasium Pendulum-v1's rod (m = 1 kg, l = 1 m, g = 10), 0 rad upright, torque in N·m
    /// through the servo's torque constant (stall 4.1 N·m at 2.3 A: 1.78 N·m/A).
    public static func pendulum(seed: UInt64 = 1) throws -> (emulator: EmulatorProcess, robot: ServoBusRobot) {
        let model = ServoModel.named("XM430-W350")!
        let (emulator, configuration) = try start(
            bus: .dynamixel, joints: 1, model: model, seed: seed, torqueConstantNmPerAmp: 4.1 / 2.3,
            extraArguments: ["--param", "mass=1", "--param", "length=1", "--param", "rotor_inertia=0.02", "--param", "gravity=10"])
        var c = configuration
        c.robotID = "emulated-dynamixel-pendulum"
        c.joints[0].name = "pendulum"
        let path = c.devicePath
        let robot = ServoBusRobot(configuration: c) { try TermiosTransport(path: path, baudRate: 1_000_000) }
        return (emulator, robot)
    }
}
