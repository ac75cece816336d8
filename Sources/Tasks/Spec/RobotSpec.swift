import Foundation

/// A robot defined as data (`robots/<name>.json`, format `robotctl-robot/1`): its joints and
/// the links they carry, actuators, sensing pipeline, serial link and GPIO lines. The schema,
/// with an example per field, is in `docs/robot-and-task-files.md`.
///
/// Set-up value: loaded and validated once; every error is one `SpecError` line naming the
/// file and the field.
public struct RobotSpec: Sendable, Hashable {
    public static let format = "robotctl-robot/1"

    /// How an actuator is commanded.
    public enum ActuatorMode: String, Sendable, Hashable, CaseIterable {
        case torque, velocity, position
    }

    /// A motor on a joint.
    public struct Actuator: Sendable, Hashable {
        public var mode: ActuatorMode
        /// Delivered torque per commanded torque (1 = ideal), for the onboard simulator.
        public var gain: Double
        /// Largest commanded torque (N·m) or force (N).
        public var effortLimit: Double
        /// Largest change of the command per second (N·m/s or N/s).
        public var rateLimit: Double
        /// Position/velocity modes: the servo's own proportional gain (N·m per rad or per rad/s).
        public var servoGain: Double
    }

    /// One joint, the link it carries, and its encoder.
    public struct Joint: Sendable, Hashable {
        public var name: String
        /// Geometry, mass and friction for the onboard simulator.
        public var body: ChainJoint
        /// "rad" (revolute) or "m" (prismatic).
        public var unit: String { body.kind == .revolute ? "rad" : "m" }
        /// Position range; nil for a continuous revolute joint.
        public var positionLimits: ClosedRange<Double>?
        public var velocityLimit: Double
        public var encoderCountsPerUnit: Double
        public var direction: Int
        public var zeroOffsetCounts: Int
        /// nil for a passive joint (an acrobot's shoulder, a cart-pole's pole).
        public var actuator: Actuator?
    }

    /// The robot's sensor pipeline as the firmware runs it (the simulator reproduces it).
    public struct Sensing: Sendable, Hashable {
        /// Firmware tick rate, Hz (encoders sampled, velocity filtered, torque applied).
        public var firmwareRateHz: Int
        /// Control ticks between a command and its effect.
        public var latencyTicks: Int
        /// Firmware velocity estimate: differentiation window (ticks) and low-pass shift.
        public var velocityWindow: Int
        public var velocityShift: Int
    }

    /// Which bus the robot speaks and where.
    public enum Bus: String, Sendable, Hashable, CaseIterable {
        /// Our firmware-proto microcontroller (the reference firmware).
        case firmware
        case dynamixel
        case feetech
    }

    public struct Link: Sendable, Hashable {
        public var bus: Bus
        /// A device path, or "emulator" to start the emulated robot.
        public var port: String
        public var baud: Int
        /// Servo IDs per joint (servo buses); empty for `firmware`.
        public var servoIDs: [Int]
        /// Servo model per joint (servo buses, e.g. "XM430-W350"); empty: the bus's default model.
        public var servoModels: [String] = []
    }

    public struct GPIOLines: Sendable, Hashable {
        public var chip: String
        public var estopLine: Int?
        public var enableLine: Int?
        public var ledLine: Int?
        /// The e-stop input reads asserted (stop) when the line is low.
        public var estopActiveLow = false
    }

    public var id: String
    public var joints: [Joint]
    /// m/s² along −y.
    public var gravity: Double
    public var sensing: Sensing
    public var link: Link
    public var gpio: GPIOLines?
    /// The robot's calibration file (absolute, or resolved against the robot file's directory);
    /// nil: none named (the emulated robot then uses `emulatedCalibration`).
    public var calibration: String?
    /// Plant parameters of the emulated robot beyond what this file describes (its reality
    /// gap: a weaker motor, friction, rotor inertia; names of firmware-proto/plant/include/plant.h),
    /// applied after `plantParameters`, by name. Only used with `link.port` "emulator".
    public var emulatorParameters: [PlantParameter] = []

    /// One named plant parameter of the emulated robot.
    public struct PlantParameter: Sendable, Hashable {
        public var name: String
        public var value: Double
        public init(name: String, value: Double) {
            self.name = name
            self.value = value
        }
    }
    /// The file it came from (errors and provenance).
    public var source: String

    /// The rigid-body model for the onboard simulator.
    public func chain() throws(SpecError) -> PlanarChain {
        do { return try PlanarChain(joints: joints.map(\.body), gravity: gravity) } catch {
            throw SpecError(file: source, field: "joints", problem: "\(error.description); fix the link masses and inertias")
        }
    }

    /// The index of the joint named `name`, or nil.
    public func jointIndex(_ name: String) -> Int? { joints.firstIndex { $0.name == name } }

    /// Loads and validates a robot file.
    public static func load(path: String) throws(SpecError) -> RobotSpec {
        var root = try SpecObject.load(path: path)
        return try parse(&root)
    }

    /// Parses robot-file JSON `data` (`file` names it in errors).
    public static func parse(_ data: Data, file: String) throws(SpecError) -> RobotSpec {
        var root = try SpecObject.parse(data, file: file)
        return try parse(&root)
    }

    static func parse(_ root: inout SpecObject) throws(SpecError) -> RobotSpec {
        let format = try root.string("format")
        guard format == Self.format else {
            throw root.fail("format", "'\(format)' is not '\(Self.format)'; this is not a robot file (or one of a newer version)")
        }
        let id = try root.string("id")
        let gravity = try root.number("gravity", in: 0...100, default: 9.81, unit: "m/s²")
        var joints: [Joint] = []
        for var j in try root.objects("joints", count: 1...maxChainJoints) {
            joints.append(try parseJoint(&j))
        }
        var names = Set<String>()
        for (i, j) in joints.enumerated() where !names.insert(j.name).inserted {
            throw SpecError(file: root.file, field: "joints[\(i)].name", problem: "'\(j.name)' is used by two joints; names must be unique")
        }
        guard joints.contains(where: { $0.actuator != nil }) else {
            throw SpecError(file: root.file, field: "joints", problem: "no joint has an actuator; give at least one joint an \"actuator\"")
        }
        var sensing = Sensing(firmwareRateHz: 1000, latencyTicks: 0, velocityWindow: 4, velocityShift: 2)
        if var s = try root.optionalObject("sensing") {
            sensing.firmwareRateHz = try s.integer("firmware_rate_hz", in: 100...20_000, default: 1000)
            sensing.latencyTicks = try s.integer("latency_ticks", in: 0...16, default: 0)
            sensing.velocityWindow = try s.integer("velocity_window", in: 1...15, default: 4)
            sensing.velocityShift = try s.integer("velocity_shift", in: 0...8, default: 2)
            try s.finish()
        }
        var l = try root.object("link")
        let bus: Bus = try l.choice("bus")
        let port = try l.string("port")
        let baud = try l.integer("baud", in: 9600...4_500_000, default: bus == .firmware ? 1_000_000 : 1_000_000)
        let ids = try l.has("ids") ? l.numbersAsInts("ids", in: 0...252) : []
        if bus != .firmware, ids.count != joints.count {
            throw l.fail("ids", "has \(ids.count) servo IDs for \(joints.count) joints; give one ID per joint in joint order")
        }
        if Set(ids).count != ids.count { throw l.fail("ids", "holds a servo ID twice; every servo needs its own ID") }
        let models = try l.has("models") ? l.strings("models") : []
        if bus == .firmware, !models.isEmpty {
            throw l.fail("models", "names servo models but bus is 'firmware'; remove it, or set bus to dynamixel or feetech")
        }
        if !models.isEmpty, models.count != joints.count {
            throw l.fail("models", "has \(models.count) servo models for \(joints.count) joints; give one model per joint in joint order")
        }
        try l.finish()
        var gpio: GPIOLines?
        if var g = try root.optionalObject("gpio") {
            gpio = GPIOLines(
                chip: try g.string("chip"), estopLine: try g.optionalInteger("estop_line", in: 0...1023),
                enableLine: try g.optionalInteger("enable_line", in: 0...1023), ledLine: try g.optionalInteger("led_line", in: 0...1023),
                estopActiveLow: try g.bool("estop_active_low", default: false))
            if gpio?.ledLine != nil && gpio?.enableLine == nil {
                throw g.fail("led_line", "is set without enable_line; set the motor-driver enable line too")
            }
            if gpio?.estopActiveLow == true && gpio?.estopLine == nil {
                throw g.fail("estop_active_low", "is set without estop_line; name the e-stop input line")
            }
            try g.finish()
        }
        var calibration = try root.optionalString("calibration")
        if let c = calibration, !c.hasPrefix("/") {
            let dir = (root.file as NSString).deletingLastPathComponent
            calibration = dir.isEmpty ? c : ((dir as NSString).appendingPathComponent(c) as NSString).standardizingPath
        }
        var emulatorParameters: [PlantParameter] = []
        if var e = try root.optionalObject("emulator") {
            if var params = try e.optionalObject("params") {
                for key in params.values.keys.sorted() {
                    guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                        throw params.fail(key, "is not a plant parameter name (letters, digits, '_' and '.', e.g. j0.gain)")
                    }
                    emulatorParameters.append(PlantParameter(name: key, value: try params.number(key, in: -1e9...1e9)))
                }
                try params.finish()
            }
            try e.finish()
        }
        if port != "emulator", !emulatorParameters.isEmpty {
            throw root.fail("emulator", "sets emulated-robot parameters but link.port is '\(port)', a real device; remove the section or set link.port to \"emulator\"")
        }
        try root.finish()
        var spec = RobotSpec(
            id: id, joints: joints, gravity: gravity, sensing: sensing,
            link: Link(bus: bus, port: port, baud: baud, servoIDs: ids, servoModels: models), gpio: gpio,
            calibration: calibration, source: root.file)
        spec.emulatorParameters = emulatorParameters
        _ = try spec.chain()
        try spec.checkServoModels()
        return spec
    }

    static func parseJoint(_ j: inout SpecObject) throws(SpecError) -> Joint {
        let name = try j.string("name")
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), name.first?.isLetter == true else {
            throw j.fail("name", "'\(name)' must start with a letter and hold only letters, digits and '_' (it is used in expressions)")
        }
        let kind: ChainJoint.Kind = try j.choice("type")
        let unit = kind == .revolute ? "rad" : "m"
        var limits = try j.object("limits")
        let position = try limits.range("position", within: -1e6...1e6)
        let velocity = try limits.number("velocity", in: 1e-6...1e4, unit: "\(unit)/s")
        try limits.finish()
        var enc = try j.object("encoder")
        let perUnitKey = kind == .revolute ? "counts_per_rev" : "counts_per_m"
        let counts = try enc.number(perUnitKey, in: 1...2_147_483_647)
        let direction = try enc.integer("direction", in: -1...1, default: 1)
        guard direction != 0 else { throw enc.fail("direction", "must be 1 or -1") }
        let zero = try enc.integer("zero_offset_counts", in: -2_147_483_647...2_147_483_647, default: 0)
        try enc.finish()
        var link = try j.object("link")
        let length = try link.number("length", in: 0...100, unit: "m")
        let com = try link.number("com", in: 0...100, default: length / 2, unit: "m")
        let mass = try link.number("mass", in: 0...1e4, unit: "kg")
        let inertia = try link.number("inertia", in: 0...1e4, default: mass * length * length / 12, unit: "kg·m²")
        let offset = try link.number("offset", in: -2 * Double.pi...2 * Double.pi, default: 0, unit: "rad")
        try link.finish()
        var viscous = 0.0, coulomb = 0.0
        if var f = try j.optionalObject("friction") {
            viscous = try f.number("viscous", in: 0...1e4, default: 0)
            coulomb = try f.number("coulomb", in: 0...1e4, default: 0)
            try f.finish()
        }
        var actuator: Actuator?
        if var a = try j.optionalObject("actuator") {
            let effortUnit = kind == .revolute ? "N·m" : "N"
            let mode: ActuatorMode = try a.choice("mode", default: .torque)
            let effort = try a.number("effort_limit", in: 1e-6...1e4, unit: effortUnit)
            actuator = Actuator(
                mode: mode, gain: try a.number("gain", in: 0.01...100, default: 1),
                effortLimit: effort,
                rateLimit: try a.number("rate_limit", in: 1e-6...1e7, default: effort * 1000, unit: "\(effortUnit)/s"),
                servoGain: try a.number("servo_gain", in: 0...1e4, default: mode == .torque ? 0 : 10))
            try a.finish()
        }
        try j.finish()
        return Joint(
            name: name,
            body: ChainJoint(kind: kind, offset: offset, length: length, com: com, mass: mass, inertia: inertia, viscous: viscous, coulomb: coulomb),
            positionLimits: position, velocityLimit: velocity, encoderCountsPerUnit: counts, direction: direction,
            zeroOffsetCounts: zero, actuator: actuator)
    }
}

extension SpecObject {
    mutating func optionalInteger(_ key: String, in range: ClosedRange<Int>) throws(SpecError) -> Int? {
        guard has(key) else { _ = raw(key); return nil }
        return try integer(key, in: range)
    }

    mutating func numbersAsInts(_ key: String, in range: ClosedRange<Int>) throws(SpecError) -> [Int] {
        guard let v = raw(key) else { return [] }
        guard let a = v as? [NSNumber], a.allSatisfy({ !isJSONBoolean($0) }) else { throw fail(key, "must be an array of whole numbers") }
        var out: [Int] = []
        for (i, n) in a.enumerated() {
            let x = n.doubleValue
            guard x == x.rounded(), x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
                throw fail("\(key)[\(i)]", "\(x) must be a whole number in [\(range.lowerBound), \(range.upperBound)]")
            }
            out.append(Int(x))
        }
        return out
    }
}
