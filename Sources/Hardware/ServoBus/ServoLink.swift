import Control

/// A robot file's servo link (`link` with `bus` dynamixel or feetech, `port`, `baud`, `ids`,
/// `models`) and the per-joint mounting from its joints' `encoder` sections, as Hardware sees
/// it: Hardware does not import Tasks, so the bring-up copies `RobotSpec`'s fields in.
///
///     let link = try ServoLink(bus: "feetech", port: "emulator", baud: 1_000_000, ids: [1, 2],
///         models: ["STS3215", "STS3215"], jointNames: ["shoulder", "elbow"], file: "robots/so101-feetech.json")
///     let (emulator, robot) = try EmulatedServoBus.start(link: link, plantParameters: spec.plantParameters())
///
/// Set-up value.
public struct ServoLink: Sendable, Equatable {
    public var bus: ServoBusKind
    /// A serial device, or "emulator" (`isEmulator`): the bring-up starts servo-emulator.
    public var port: String
    public var baud: Int
    public var ids: [UInt8]
    public var models: [ServoModel]
    public var jointNames: [String]
    /// Per joint: +1 when the servo counts grow with the joint, −1 against it.
    public var directions: [Int8]
    /// Per joint: the position register at the joint's 0.
    public var zeroOffsetCounts: [Int32]
    /// Per joint, N·m per A for torque mode: the model's nominal value unless given.
    public var torqueConstantsNmPerAmp: [Float]
    public var robotID: String
    /// The robot file, named in errors.
    public var file: String

    /// The model a link without `models` has: XM430-W350 (Dynamixel), STS3215 (Feetech), as
    /// servo-emulator's default.
    public static func defaultModel(_ bus: ServoBusKind) -> ServoModel {
        bus == .dynamixel ? ServoModel.named("XM430-W350")! : FeetechMemoryTable.sts3215
    }

    /// The port value that starts the servo emulator.
    public static let emulatorPort = "emulator"
    public var isEmulator: Bool { port == ServoLink.emulatorPort }

    /// Checks and converts a robot file's link. `bus` is "dynamixel" or "feetech"; `models` one
    /// name per joint (`ServoModel.named`), or empty for the bus's default (`defaultModel`); `directions` and `zeroOffsetCounts` empty for the
    /// defaults (+1; 2048, the middle of the servo's range). Throws one line naming `file`, the
    /// field and the fix.
    public init(
        bus: String, port: String, baud: Int, ids: [Int], models: [String], jointNames: [String],
        directions: [Int] = [], zeroOffsetCounts: [Int] = [], torqueConstantsNmPerAmp: [Double] = [],
        robotID: String = "servo-robot", file: String
    ) throws {
        func fail(_ field: String, _ problem: String, _ fix: String) -> HardwareError {
            HardwareError(.invalidArgument, device: file, problem: "\(field): \(problem)", fix: fix)
        }
        guard let kind = ServoBusKind(rawValue: bus) else {
            throw fail("link.bus", "\"\(bus)\" is not a servo bus", "use \"dynamixel\" or \"feetech\"")
        }
        let n = jointNames.count
        guard n >= 1, n <= maxJoints else {
            throw fail("joints", "\(n) joints", "give 1 to \(maxJoints) joints on one servo bus")
        }
        guard ids.count == n else {
            throw fail(
                "link.ids", "\(ids.count) ids for \(n) joints", "give one servo id per joint, in joint order")
        }
        guard models.isEmpty || models.count == n else {
            throw fail(
                "link.models", "\(models.count) models for \(n) joints",
                "give one servo model per joint, in joint order")
        }
        for (name, list) in [
            ("directions", directions.count), ("zero offsets", zeroOffsetCounts.count),
            ("torque constants", torqueConstantsNmPerAmp.count),
        ]
        where list != 0 && list != n {
            throw fail("joints", "\(list) \(name) for \(n) joints", "give one per joint")
        }
        let maxID = kind == .dynamixel ? 252 : 253
        var seen = Set<Int>()
        for (i, id) in ids.enumerated() {
            guard (0...maxID).contains(id) else {
                throw fail(
                    "link.ids[\(i)]", "\(id) is not 0...\(maxID)",
                    "give the servo's id (`robotctl motors scan` finds it)")
            }
            guard seen.insert(id).inserted else {
                throw fail(
                    "link.ids[\(i)]", "id \(id) is given twice",
                    "give each servo its own id with `robotctl motors setup`")
            }
        }
        var parsed: [ServoModel] = []
        let names = models.isEmpty ? Array(repeating: ServoLink.defaultModel(kind).name, count: n) : models
        for (i, name) in names.enumerated() {
            guard let m = ServoModel.named(name), m.bus == kind else {
                let known = ServoModel.known.filter { $0.bus == kind }.map(\.name).joined(separator: ", ")
                throw fail(
                    "link.models[\(i)]", "\"\(name)\" is not a \(kind) model robotctl knows",
                    "use one of \(known)")
            }
            parsed.append(m)
        }
        _ = try kind.checkedBaudRegisterValue(for: baud, device: file, field: "link.baud")
        self.bus = kind
        self.port = port
        self.baud = baud
        self.ids = ids.map { UInt8($0) }
        self.models = parsed
        self.jointNames = jointNames
        self.directions =
            directions.isEmpty ? Array(repeating: 1, count: n) : directions.map { $0 < 0 ? -1 : 1 }
        self.zeroOffsetCounts =
            zeroOffsetCounts.isEmpty
            ? parsed.map { $0.countsPerRevolution / 2 } : zeroOffsetCounts.map { Int32(clamping: $0) }
        self.torqueConstantsNmPerAmp =
            torqueConstantsNmPerAmp.isEmpty
            ? parsed.map { Float($0.nominalTorqueConstantNmPerAmp) }
            : torqueConstantsNmPerAmp.map { Float($0) }
        self.robotID = robotID
        self.file = file
    }

    /// The bus configuration for this link on `devicePath` (the port, or the emulator's pty).
    public func configuration(devicePath: String? = nil) -> ServoBusConfiguration {
        var c = ServoBusConfiguration(
            bus: bus, devicePath: devicePath ?? port,
            joints: jointNames.indices.map { i in
                ServoJoint(
                    name: jointNames[i], id: ids[i], model: models[i], direction: directions[i],
                    zeroOffsetCounts: zeroOffsetCounts[i], torqueConstantNmPerAmp: torqueConstantsNmPerAmp[i])
            })
        c.baudRate = baud
        c.robotID = robotID
        return c
    }

    /// The servo robot on the real port (not the emulator): opened at `configure`.
    public func robot() -> ServoBusRobot { ServoBusRobot(configuration: configuration()) }
}
