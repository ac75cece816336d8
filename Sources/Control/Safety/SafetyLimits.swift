/// Limits of one joint, from the calibration. Units: rad, rad/s, N·m.
public struct JointLimits: Sendable, Equatable, Codable {
    /// Lowest allowed position, rad.
    public var positionMin: Float
    /// Highest allowed position, rad.
    public var positionMax: Float
    /// Largest allowed |velocity|, rad/s.
    public var velocityMax: Float
    /// Largest allowed |torque|, N·m (or A where torque is not known).
    public var effortMax: Float
    /// Largest change of the command per second, in the control mode's unit per second
    /// (N·m/s in torque mode, rad/s² in velocity mode, rad/s in position mode).
    public var rateMax: Float

    public init(positionMin: Float, positionMax: Float, velocityMax: Float, effortMax: Float, rateMax: Float) {
        self.positionMin = positionMin
        self.positionMax = positionMax
        self.velocityMax = velocityMax
        self.effortMax = effortMax
        self.rateMax = rateMax
    }
}

/// What the robot does when the loop stops, on purpose or after a fault: never just
/// "torque off wherever the arm is".
public enum StopBehavior: Sendable, Equatable, Codable {
    /// Hold the position where the stop began for `SafetyLimits.stopDuration`, then torque off.
    case hold
    /// Move to these positions (rad) at `SafetyLimits.parkSpeed`, hold them until
    /// `stopDuration` has passed (at least until reached), then torque off.
    case park([Float])
}

/// Everything the safety layer between policy and hardware enforces.
///
/// Set-up value (holds arrays); `SafetyFilter` copies it into fixed-size storage.
public struct SafetyLimits: Sendable, Equatable, Codable {
    /// Per joint, in joint order.
    public var joints: [JointLimits]
    /// Measured position beyond a limit by more than this trips a latched stop, rad.
    public var positionTripMargin: Float = 0.05
    /// Measured |velocity| above `velocityMax · velocityTripFactor` trips a latched stop.
    public var velocityTripFactor: Float = 1.25
    /// Command watchdog: no fresh command for this long trips a latched stop, seconds.
    public var commandTimeout: Double = 0.05
    /// Consecutive failed robot reads that trip a latched stop.
    public var maxConsecutiveReadFailures: Int = 10
    /// The stop behaviour.
    public var stop: StopBehavior = .hold
    /// Minimum time the stop behaviour runs before torque off, seconds.
    public var stopDuration: Double = 0.5
    /// Longest time a park may take before torque off anyway, seconds.
    public var parkTimeout: Double = 3
    /// Park target speed, rad/s.
    public var parkSpeed: Float = 0.5
    /// Park counts as reached within this distance, rad.
    public var parkTolerance: Float = 0.02
    /// Position gain of the stop controller (torque mode N·m/rad, velocity mode 1/s).
    public var stopStiffness: Float = 5
    /// Velocity gain of the stop controller in torque mode, N·m·s/rad.
    public var stopDamping: Float = 0.5

    public init(joints: [JointLimits]) { self.joints = joints }

    /// Checks the limits make sense; the error names the joint and field.
    public func validate(jointCount: Int) throws(SafetyLimitsError) {
        guard joints.count == jointCount, jointCount <= maxJoints else {
            throw SafetyLimitsError("safety limits list \(joints.count) joints, the robot has \(jointCount) (at most \(maxJoints))")
        }
        for (i, j) in joints.enumerated() {
            let values = [j.positionMin, j.positionMax, j.velocityMax, j.effortMax, j.rateMax]
            guard values.allSatisfy(\.isFinite) else { throw SafetyLimitsError("joint \(i): every limit must be finite") }
            guard j.positionMin < j.positionMax else { throw SafetyLimitsError("joint \(i): positionMin must be below positionMax") }
            guard j.velocityMax > 0, j.effortMax > 0, j.rateMax > 0 else {
                throw SafetyLimitsError("joint \(i): velocityMax, effortMax and rateMax must be > 0")
            }
        }
        if case .park(let target) = stop {
            guard target.count == jointCount else { throw SafetyLimitsError("park position lists \(target.count) joints, expected \(jointCount)") }
            for (i, p) in target.enumerated() where !(p >= joints[i].positionMin && p <= joints[i].positionMax) {
                throw SafetyLimitsError("park position of joint \(i) (\(p) rad) is outside its limits")
            }
        }
        guard commandTimeout > 0, stopDuration >= 0, parkSpeed > 0 else {
            throw SafetyLimitsError("commandTimeout and parkSpeed must be > 0, stopDuration ≥ 0")
        }
    }
}

/// Invalid safety limits. The message names the joint and field.
public struct SafetyLimitsError: Error, CustomStringConvertible, Equatable {
    public var description: String
    init(_ d: String) { description = "safety limits: " + d }
}

/// Why a stop was latched. Several reasons can accumulate.
public struct StopReason: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The e-stop input (GPIO button) was asserted.
    public static let estopInput = StopReason(rawValue: 1 << 0)
    /// An operator asked for an e-stop (key, API).
    public static let operatorRequest = StopReason(rawValue: 1 << 1)
    /// The robot reported a fault.
    public static let robotFault = StopReason(rawValue: 1 << 2)
    /// An observation or robot state value was NaN or infinite.
    public static let nonFiniteObservation = StopReason(rawValue: 1 << 3)
    /// The policy produced a NaN or infinite action.
    public static let nonFiniteAction = StopReason(rawValue: 1 << 4)
    /// A measured position went past its limit by more than the trip margin.
    public static let positionLimit = StopReason(rawValue: 1 << 5)
    /// A measured velocity went past its trip level.
    public static let velocityLimit = StopReason(rawValue: 1 << 6)
    /// No fresh command within the command timeout.
    public static let watchdog = StopReason(rawValue: 1 << 7)
    /// The robot link failed too many consecutive ticks.
    public static let ioFailure = StopReason(rawValue: 1 << 8)
    /// The recorder could not write the dataset (disk full, I/O error): no unrecorded motion.
    public static let recordingFailed = StopReason(rawValue: 1 << 9)
    /// A requested, orderly stop (end of run). Not a fault: not latched.
    public static let requested = StopReason(rawValue: 1 << 31)

    public var description: String {
        let names: [(StopReason, String)] = [
            (.estopInput, "e-stop input"), (.operatorRequest, "operator e-stop"), (.robotFault, "robot fault"),
            (.nonFiniteObservation, "non-finite observation"), (.nonFiniteAction, "non-finite action"),
            (.positionLimit, "position limit"), (.velocityLimit, "velocity limit"), (.watchdog, "command watchdog"),
            (.ioFailure, "robot link failure"), (.recordingFailed, "dataset write failure"), (.requested, "requested stop"),
        ]
        let parts = names.filter { contains($0.0) }.map(\.1)
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
