/// The safety layer between policy and hardware: limit checks on the measured state, a
/// NaN/Inf guard on observations and actions, clamping and rate-limiting of commands, a
/// command watchdog, a latched stop, and the defined stop behaviour (hold or park, then
/// torque off).
///
/// A latched stop stays latched, whatever happens to its cause, until `clear()` is called on
/// purpose after the stop behaviour has finished. Fixed-size value type.
///
/// Thread contract: owned by the control thread. Every method is real-time safe: does not
/// allocate, lock or throw.
public struct SafetyFilter: Sendable {
    /// Where the filter is in a stop.
    public enum Phase: Sendable, Equatable {
        /// Commands flow (filtered).
        case running
        /// Running the stop behaviour since `since` (ns).
        case stopping(since: UInt64)
        /// The stop behaviour finished and torque is off.
        case torqueOff
    }

    public let mode: ControlMode
    public let jointCount: Int
    public let periodSeconds: Float
    private var positionMin = zeroJoints(), positionMax = zeroJoints()
    private var velocityMax = zeroJoints(), effortMax = zeroJoints(), rateMax = zeroJoints()
    private var parkTarget = zeroJoints()
    private let parking: Bool
    private let positionTripMargin: Float, velocityTripFactor: Float
    private let commandTimeoutNanos: UInt64, stopDurationNanos: UInt64, parkTimeoutNanos: UInt64
    private let maxConsecutiveReadFailures: Int
    private let parkSpeed: Float, parkTolerance: Float, stiffness: Float, damping: Float

    /// Reasons latched so far (empty while running normally; `.requested` for an orderly stop).
    public private(set) var reasons: StopReason = []
    public private(set) var phase: Phase = .running
    private var previous = zeroJoints()
    private var lastFreshCommand: UInt64 = 0
    private var readFailures = 0
    private var stopStart = zeroJoints()
    private var stopValid = true

    /// Copies `limits` (validated) into fixed-size storage.
    public init(limits: SafetyLimits, mode: ControlMode, jointCount: Int, periodSeconds: Double) throws(SafetyLimitsError) {
        try limits.validate(jointCount: jointCount)
        self.mode = mode
        self.jointCount = jointCount
        self.periodSeconds = Float(periodSeconds)
        for (i, j) in limits.joints.enumerated() {
            positionMin[i] = j.positionMin
            positionMax[i] = j.positionMax
            velocityMax[i] = j.velocityMax
            effortMax[i] = j.effortMax
            rateMax[i] = j.rateMax
        }
        if case .park(let p) = limits.stop {
            parking = true
            for (i, v) in p.enumerated() { parkTarget[i] = v }
        } else {
            parking = false
        }
        positionTripMargin = limits.positionTripMargin
        velocityTripFactor = limits.velocityTripFactor
        commandTimeoutNanos = UInt64(limits.commandTimeout * 1e9)
        stopDurationNanos = UInt64(limits.stopDuration * 1e9)
        parkTimeoutNanos = UInt64(max(limits.parkTimeout, limits.stopDuration) * 1e9)
        maxConsecutiveReadFailures = limits.maxConsecutiveReadFailures
        parkSpeed = limits.parkSpeed
        parkTolerance = limits.parkTolerance
        stiffness = limits.stopStiffness
        damping = limits.stopDamping
    }

    /// True once a fault or e-stop is latched (not for an orderly `.requested` stop).
    public var isLatched: Bool { !reasons.subtracting(.requested).isEmpty }
    /// True while commands from the policy are not honoured.
    public var isStopping: Bool { phase != .running }

    /// Call before the first tick with the measured state. Real-time safe.
    public mutating func begin(state: RobotState, now: UInt64) {
        for i in 0..<jointCount { previous[i] = mode == .position ? state.position[i] : 0 }
        lastFreshCommand = now
        readFailures = 0
    }

    /// Latches `reason` and starts the stop behaviour (if not already stopping).
    /// Real-time safe: does not allocate, lock or throw.
    public mutating func trip(_ reason: StopReason, state: RobotState, now: UInt64) {
        reasons.insert(reason)
        guard phase == .running else { return }
        phase = .stopping(since: now)
        stopValid = true
        for i in 0..<jointCount {
            stopStart[i] = state.position[i]
            if !state.position[i].isFinite || !state.velocity[i].isFinite { stopValid = false }
        }
    }

    /// Counts failed reads; trips `.ioFailure` after too many in a row, `.robotFault` on
    /// `.fault`. Real-time safe.
    public mutating func checkRead(_ status: IOStatus, state: RobotState, now: UInt64) {
        switch status {
        case .ok: readFailures = 0
        case .fault: trip(.robotFault, state: state, now: now)
        default:
            readFailures += 1
            if readFailures >= maxConsecutiveReadFailures { trip(.ioFailure, state: state, now: now) }
        }
    }

    /// Trips on robot faults, non-finite state, and measured position/velocity past their trip
    /// levels. Returns false if it tripped. Real-time safe.
    @discardableResult
    public mutating func checkState(_ s: RobotState, now: UInt64) -> Bool {
        var trip: StopReason = []
        if !s.faults.isEmpty { trip.insert(.robotFault) }
        for i in 0..<jointCount {
            let p = s.position[i], v = s.velocity[i]
            if !p.isFinite || !v.isFinite || !s.effort[i].isFinite {
                trip.insert(.nonFiniteObservation)
                continue
            }
            if p > positionMax[i] + positionTripMargin || p < positionMin[i] - positionTripMargin {
                trip.insert(.positionLimit)
            }
            if abs(v) > velocityMax[i] * velocityTripFactor { trip.insert(.velocityLimit) }
        }
        if !trip.isEmpty { self.trip(trip, state: s, now: now) }
        return trip.isEmpty
    }

    /// Trips `reason` if any of `count` values at `values` is NaN or infinite. Returns false if
    /// it tripped. Real-time safe.
    @discardableResult
    public mutating func checkFinite(
        _ values: UnsafePointer<Float>, count: Int, reason: StopReason, state: RobotState, now: UInt64
    ) -> Bool {
        for i in 0..<count where !values[i].isFinite {
            trip(reason, state: state, now: now)
            return false
        }
        return true
    }

    /// Notes that a fresh command arrived at `now` (feeds the watchdog). Real-time safe.
    public mutating func feedWatchdog(now: UInt64) { lastFreshCommand = now }

    /// Trips `.watchdog` if no fresh command arrived within the command timeout. Real-time safe.
    @discardableResult
    public mutating func checkWatchdog(state: RobotState, now: UInt64) -> Bool {
        if now > lastFreshCommand && now - lastFreshCommand > commandTimeoutNanos {
            trip(.watchdog, state: state, now: now)
            return false
        }
        return true
    }

    /// Makes `command` safe: clamps it to the mode's limits, stops it pushing a joint further
    /// past a position limit or above its velocity limit, and limits its change per tick to
    /// `rateMax · period`. A non-finite setpoint trips `.nonFiniteAction` and becomes 0.
    /// Returns true if it changed anything. Real-time safe.
    public mutating func filter(_ command: inout RobotCommand, state: RobotState, now: UInt64) -> Bool {
        var modified = false
        command.mode = mode
        command.jointCount = jointCount
        for i in 0..<jointCount {
            var u = command.setpoint[i]
            if !u.isFinite {
                trip(.nonFiniteAction, state: state, now: now)
                u = mode == .position ? previous[i] : 0
                modified = true
            }
            let p = state.position[i], v = state.velocity[i]
            let original = u
            switch mode {
            case .torque:
                u = min(max(u, -effortMax[i]), effortMax[i])
                if (p >= positionMax[i] && u > 0) || (p <= positionMin[i] && u < 0) { u = 0 }
                if (v >= velocityMax[i] && u > 0) || (v <= -velocityMax[i] && u < 0) { u = 0 }
            case .velocity:
                u = min(max(u, -velocityMax[i]), velocityMax[i])
                if (p >= positionMax[i] && u > 0) || (p <= positionMin[i] && u < 0) { u = 0 }
            case .position:
                u = min(max(u, positionMin[i]), positionMax[i])
            }
            let step = rateMax[i] * periodSeconds
            u = min(max(u, previous[i] - step), previous[i] + step)
            if u != original { modified = true }
            command.setpoint[i] = u
            previous[i] = u
        }
        return modified
    }

    /// One tick of the stop behaviour: writes into `command` a hold or park command (a PD law
    /// in torque mode, a P law in velocity mode, a ramped setpoint in position mode), clamped
    /// to the limits. Returns true once the behaviour has finished; from then on `command` is
    /// the torque-off command and `phase` is `.torqueOff`. Real-time safe.
    public mutating func stopCommand(state: RobotState, now: UInt64, into command: inout RobotCommand) -> Bool {
        command.mode = mode
        command.jointCount = jointCount
        guard case .stopping(let since) = phase else {
            torqueOffCommand(state: state, into: &command)
            return phase == .torqueOff
        }
        let elapsed = now &- since
        let t = Float(Double(elapsed) * 1e-9)
        var reached = true
        let measurable = stopValid && (0..<jointCount).allSatisfy { state.position[$0].isFinite && state.velocity[$0].isFinite }
        if measurable {
            for i in 0..<jointCount {
                var target = stopStart[i]
                if parking {
                    let travel = parkTarget[i] - stopStart[i]
                    let limit = parkSpeed * t
                    target = stopStart[i] + min(max(travel, -limit), limit)
                    if abs(state.position[i] - parkTarget[i]) > parkTolerance { reached = false }
                }
                let p = state.position[i], v = state.velocity[i]
                var u: Float
                switch mode {
                case .torque:
                    u = stiffness * (target - p) - damping * v
                    u = min(max(u, -effortMax[i]), effortMax[i])
                case .velocity:
                    u = min(max(stiffness * (target - p), -velocityMax[i]), velocityMax[i])
                case .position:
                    u = min(max(target, positionMin[i]), positionMax[i])
                }
                command.setpoint[i] = u
                previous[i] = u
            }
        }
        let done = !measurable
            || (elapsed >= stopDurationNanos && (!parking || reached))
            || (parking && elapsed >= parkTimeoutNanos)
        if done {
            phase = .torqueOff
            torqueOffCommand(state: state, into: &command)
        }
        return done
    }

    /// The torque-off command: zero torque or velocity; in position mode, the measured position
    /// (no motion) until the caller deactivates the robot. Real-time safe.
    public func torqueOffCommand(state: RobotState, into command: inout RobotCommand) {
        command.mode = mode
        command.jointCount = jointCount
        for i in 0..<maxJoints {
            guard i < jointCount, mode == .position else {
                command.setpoint[i] = 0
                continue
            }
            command.setpoint[i] = state.position[i].isFinite ? state.position[i] : previous[i]
        }
    }

    /// Clears a latched stop, on purpose, after the stop behaviour has finished. Returns false
    /// (and keeps the latch) while the stop behaviour is still running.
    public mutating func clear() -> Bool {
        guard phase == .torqueOff || (phase == .running && reasons.isEmpty) else { return false }
        reasons = []
        phase = .running
        readFailures = 0
        return true
    }
}
