internal import CPlant

/// Which "real" plant (the emulated robot's C physics in firmware-proto/plant).
public enum RealPlantKind: Sendable {
    case pendulum
    case cartpole
    /// The planar serial chain of 1–8 joints (`joints`, `j<i>.<field>` parameters).
    case chain

    var cKind: plant_kind {
        switch self {
        case .pendulum: PLANT_PENDULUM
        case .cartpole: PLANT_CARTPOLE
        case .chain: PLANT_CHAIN
        }
    }
}

/// An error setting up the real plant; the message names the parameter, the problem and the fix.
public struct RealPlantError: Error, CustomStringConvertible {
    public let description: String
}

/// The emulated robot's physics (C, `plant.c`) held by value and stepped directly, without
/// the firmware or a pseudo-terminal: fast real-domain evaluation and system-identification
/// tests. Same code the emulator's firmware drives.
///
/// Thread contract: a value type; one instance per thread. `step`, `setCommand` and the
/// readings are real-time safe: they do not allocate, lock or throw.
public struct RealPlant: Sendable {
    var state: plant_state

    /// The names `set(_:to:)` accepts, with a one-line description each.
    public static var parameterNames: [(name: String, doc: String)] {
        var result: [(String, String)] = []
        var index: Int32 = 0
        while let name = plant_param_name(index), let doc = plant_param_doc(index) {
            result.append((String(cString: name), String(cString: doc)))
            index += 1
        }
        return result
    }

    /// A plant of `kind` with the reference parameters, overridden by `parameters`
    /// (names as in `plant.h`), noise seeded by `seed`, at rest hanging down.
    public init(kind: RealPlantKind, parameters: [String: Double] = [:], seed: UInt64) throws {
        var params = plant_params()
        plant_default_params(kind.cKind, &params)
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            switch plant_set_param(&params, name, value) {
            case PLANT_OK: break
            case PLANT_ERR_UNKNOWN_PARAM:
                let known = Self.parameterNames.map(\.name).joined(separator: ", ")
                throw RealPlantError(
                    description: "real plant: unknown parameter '\(name)'; use one of: \(known)")
            default:
                throw RealPlantError(
                    description:
                        "real plant: parameter '\(name)' = \(value) is out of range; see firmware-proto/plant/include/plant.h"
                )
            }
        }
        state = plant_state()
        let status = plant_init(&state, &params, seed)
        guard status == PLANT_OK else {
            throw RealPlantError(description: "real plant: invalid parameters (code \(status)); see plant.h")
        }
    }

    /// The chain plant's parameters (plant.h names) for the mechanism of `robot`: the
    /// emulated robot's (`RobotSpec.plantParameters`, what `robot-emulator --task chain` runs),
    /// checked against the plant's latency line. Throws one line when the robot's latency,
    /// in firmware ticks, exceeds it.
    public static func chainParameters(robot: RobotSpec, controlRateHz: Int) throws(RealPlantError) -> [String: Double] {
        var p: [String: Double] = [:]
        for (name, value) in robot.plantParameters(controlRateHz: controlRateHz) { p[name] = value }
        guard let latency = p["latency_ticks"], latency <= Double(PLANT_MAX_LATENCY_TICKS) else {
            throw RealPlantError(
                description:
                    "\(robot.source): sensing.latency_ticks \(robot.sensing.latencyTicks) is \(p["latency_ticks"] ?? 0) firmware ticks, more than the emulated plant's \(PLANT_MAX_LATENCY_TICKS); lower it"
            )
        }
        return p
    }

    /// Number of joints (1 pendulum, 2 cart-pole, `joints` for the chain).
    public var jointCount: Int { Int(state.joint_count) }

    /// Reads one parameter by its `plant.h` name; nil if unknown.
    public func parameter(_ name: String) -> Double? {
        var value = 0.0
        var params = state.params
        return plant_get_param(&params, name, &value) == PLANT_OK ? value : nil
    }

    /// Puts the plant in a state (per-joint positions and velocities; joint 1 ignored by the
    /// pendulum). Clears the latency line. Real-time safe: does not allocate, lock or throw.
    public mutating func reset(positions: (Double, Double), velocities: (Double, Double)) {
        var p = positions
        var v = velocities
        withUnsafeMutableBytes(of: &p) { pp in
            withUnsafeMutableBytes(of: &v) { vp in
                plant_reset(
                    &state, pp.baseAddress!.assumingMemoryBound(to: Double.self),
                    vp.baseAddress!.assumingMemoryBound(to: Double.self))
            }
        }
    }

    /// Puts the plant in a state: the first `jointCount` positions and velocities. Clears the
    /// latency line. Real-time safe: does not allocate, lock or throw.
    public mutating func reset(positions: JointVector, velocities: JointVector) {
        var p = positions
        var v = velocities
        withUnsafeMutablePointer(to: &p) { pp in
            withUnsafeMutablePointer(to: &v) { vp in
                pp.withMemoryRebound(to: Double.self, capacity: 8) { q in
                    vp.withMemoryRebound(to: Double.self, capacity: 8) { qd in plant_reset(&state, q, qd) }
                }
            }
        }
    }

    /// Sets the command of `joint` (N·m or N) for the next `step`; passive joints ignore it.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always) public mutating func setCommand(_ effort: Double, joint: Int = 0) {
        plant_set_command(&state, Int32(joint), effort)
    }

    /// Advances `dt` seconds. Real-time safe: does not allocate, lock or throw.
    @inline(__always) public mutating func step(_ dt: Double) { plant_step(&state, dt) }

    /// Latched encoder counts of `joint`. Real-time safe.
    public func encoderCounts(_ joint: Int) -> Int32 {
        withUnsafePointer(to: state) { plant_encoder_counts($0, Int32(joint)) }
    }
    /// Encoder resolution of `joint`: counts per revolution, or per metre for the cart.
    public func encoderResolution(_ joint: Int) -> Double {
        withUnsafePointer(to: state) { plant_encoder_resolution($0, Int32(joint)) }
    }
    /// True when `joint` is prismatic (metres), false when revolute (radians).
    public func isPrismatic(_ joint: Int) -> Bool {
        withUnsafePointer(to: state) { plant_joint_is_prismatic($0, Int32(joint)) != 0 }
    }
    /// Latched measured motor current, A.
    public func motorCurrent(_ joint: Int) -> Double {
        withUnsafePointer(to: state) { plant_motor_current($0, Int32(joint)) }
    }
    /// True position (no noise, no quantisation).
    public func truePosition(_ joint: Int) -> Double {
        withUnsafePointer(to: state) { plant_true_position($0, Int32(joint)) }
    }
    /// True velocity.
    public func trueVelocity(_ joint: Int) -> Double {
        withUnsafePointer(to: state) { plant_true_velocity($0, Int32(joint)) }
    }
    /// Effort delivered in the last substep, after latency, driver limits and gain.
    public func appliedEffort(_ joint: Int) -> Double {
        withUnsafePointer(to: state) { plant_applied_effort($0, Int32(joint)) }
    }
    /// Measured position of `joint` from the quantised encoder, rad or m.
    public func measuredPosition(_ joint: Int) -> Double {
        let counts = Double(encoderCounts(joint))
        let resolution = encoderResolution(joint)
        return isPrismatic(joint) ? counts / resolution : counts * (2 * Double.pi) / resolution
    }
}
