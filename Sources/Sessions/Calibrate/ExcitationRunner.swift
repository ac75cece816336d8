import Control
import SystemSupport
import Tasks

/// A logged excitation: per tick, the measured angle and speed and the torque sent.
public struct ExcitationLog: Sendable, Equatable {
    public var theta: [Double] = []
    public var velocity: [Double] = []
    public var torque: [Double] = []
    /// The robot's measurement time of each sample, s (its clock, unwrapped; 0-based).
    public var time: [Double] = []
    /// Reads that failed (their ticks repeat the previous sample).
    public var readFailures = 0
    /// Deadlines missed (late ticks).
    public var missedDeadlines: UInt64 = 0
    public init() {}
}

/// A logged excitation of every joint: positions and the commands sent (after the safety
/// filter), joint-major, at the control rate.
public struct ChainExcitationLog: Sendable, Equatable {
    /// `positions[joint][tick]`, calibrated (rad or m).
    public var positions: [[Double]]
    /// `commands[joint][tick]`, N·m or N after the safety filter (0 for passive joints).
    public var commands: [[Double]]
    /// The robot's measurement time of each sample, s (0-based).
    public var time: [Double]
    public var readFailures = 0
    public var missedDeadlines: UInt64 = 0

    /// The fit's input (`ChainSystemID.fit`), with the sample times (rows around late ticks
    /// are left out of the fit).
    public func sysIDLog(periodSeconds: Double) -> ChainSysIDLog {
        ChainSysIDLog(dt: periodSeconds, positions: positions, commands: commands, time: time)
    }
}

/// Runs an excitation on a robot in torque mode at a fixed rate, behind the safety filter.
public enum ExcitationRunner {
    /// Drives `robot` (configured; activated here, deactivated at the end) with `signal` for
    /// `ticks` ticks of `periodSeconds`, through a `SafetyFilter` with `limits`. `progress` is
    /// called every 100 ticks between ticks (it may print). Throws if the safety layer stops
    /// the run (the message names the reason and the fix). Joint 0 only (the pendulum).
    public static func run(
        robot: any RobotInterface, limits: SafetyLimits, periodSeconds: Double, ticks: Int, signal: PRBSExcitation,
        progress: (Int) -> Void = { _ in }
    ) throws -> ExcitationLog {
        var signal = signal
        var log = ExcitationLog()
        log.theta = [Double](repeating: 0, count: ticks)
        log.velocity = [Double](repeating: 0, count: ticks)
        log.torque = [Double](repeating: 0, count: ticks)
        log.time = [Double](repeating: 0, count: ticks)
        let counts = try drive(
            robot: robot, limits: limits, periodSeconds: periodSeconds, ticks: ticks, progress: progress,
            setpoints: { _, state, command in command.setpoint[0] = Float(signal.torque(velocity: Double(state.velocity[0]))) },
            record: { k, state, command, time in
                log.theta[k] = Double(state.position[0])
                log.velocity[k] = Double(state.velocity[0])
                log.torque[k] = Double(command.setpoint[0])
                log.time[k] = time
            })
        log.readFailures = counts.readFailures
        log.missedDeadlines = counts.missedDeadlines
        return log
    }

    /// Drives every actuated joint of `robot` (configured in torque mode with one joint per
    /// robot-file joint; activated here, deactivated at the end) with `excitation` for its
    /// whole run, through a `SafetyFilter` with `limits` (one per joint), and logs every
    /// joint's position and command. The excitation keeps every command within the effort and
    /// rate limits of the robot file; the safety filter enforces the calibration's too.
    public static func run(
        robot: any RobotInterface, limits: SafetyLimits, periodSeconds: Double, excitation: ChainExcitation,
        progress: (Int) -> Void = { _ in }
    ) throws -> ChainExcitationLog {
        let n = excitation.jointCount, ticks = excitation.ticks
        guard limits.joints.count == n else {
            throw ExcitationError(
                "the excitation drives \(n) joints but the calibration has \(limits.joints.count); use the robot file's calibration")
        }
        var log = ChainExcitationLog(
            positions: [[Double]](repeating: [Double](repeating: 0, count: ticks), count: n),
            commands: [[Double]](repeating: [Double](repeating: 0, count: ticks), count: n),
            time: [Double](repeating: 0, count: ticks))
        var previous = JointVector(repeating: 0)
        let counts = try drive(
            robot: robot, limits: limits, periodSeconds: periodSeconds, ticks: ticks, progress: progress,
            setpoints: { k, _, command in
                let u = excitation.command(tick: k, previous: previous)
                for j in 0..<n { command.setpoint[j] = Float(u[j]) }
            },
            record: { k, state, command, time in
                for j in 0..<n {
                    log.positions[j][k] = Double(state.position[j])
                    log.commands[j][k] = Double(command.setpoint[j])
                    previous[j] = Double(command.setpoint[j])
                }
                log.time[k] = time
            })
        log.readFailures = counts.readFailures
        log.missedDeadlines = counts.missedDeadlines
        return log
    }

    /// The paced loop both excitations share: `setpoints` fills the command of tick k from
    /// the state, the safety filter runs, `record` logs the filtered command and the robot's
    /// time of the sample.
    private static func drive(
        robot: any RobotInterface, limits: SafetyLimits, periodSeconds: Double, ticks: Int, progress: (Int) -> Void,
        setpoints: (Int, RobotState, inout RobotCommand) -> Void, record: (Int, RobotState, RobotCommand, Double) -> Void
    ) throws -> (readFailures: Int, missedDeadlines: UInt64) {
        let joints = limits.joints.count
        var safety = try SafetyFilter(limits: limits, mode: .torque, jointCount: joints, periodSeconds: periodSeconds)
        var pacer = DeadlinePacer(.deadlines(periodNanos: UInt64((periodSeconds * 1e9).rounded())))
        var readFailures = 0
        var missed: UInt64 = 0
        var deviceMicros: UInt64 = 0
        var lastDevice: UInt32 = 0
        if robot.lifecycle != .active { try robot.activate() }
        var state = RobotState()
        var command = RobotCommand()
        _ = robot.read(into: &state)
        let start = monotonicNanos()
        safety.begin(state: state, now: start)
        pacer.start(now: start)
        var k = 0
        var finished = false
        var faults: RobotFaults = []
        while !finished {
            let wake = pacer.waitForNextTick()
            missed += wake.missed
            let status = robot.read(into: &state)
            let now = monotonicNanos()
            if status != .ok { readFailures += 1 }
            if !state.faults.isEmpty { faults.formUnion(state.faults) }
            safety.checkRead(status, state: state, now: now)
            if status == .ok { safety.checkState(state, now: now) }
            if !safety.isStopping && k >= ticks { safety.trip(.requested, state: state, now: now) }
            if !safety.isStopping {
                command.mode = .torque
                command.jointCount = joints
                for i in 0..<maxJoints { command.setpoint[i] = 0 }
                setpoints(k, state, &command)
                _ = safety.filter(&command, state: state, now: now)
                safety.feedWatchdog(now: now)
                // Device clock (wrapping µs); the host clock if the robot gives none.
                let time: Double
                if state.deviceTimeMicros != 0 || lastDevice != 0 {
                    if k > 0 { deviceMicros &+= UInt64(state.deviceTimeMicros &- lastDevice) }
                    lastDevice = state.deviceTimeMicros
                    time = Double(deviceMicros) * 1e-6
                } else {
                    time = Double(now &- start) * 1e-9
                }
                record(k, state, command, time)
                k += 1
                if k % 100 == 0 { progress(k) }
            } else {
                finished = safety.stopCommand(state: state, now: now, into: &command)
            }
            command.sequence = UInt32(truncatingIfNeeded: wake.tick)
            _ = robot.write(command)
        }
        try robot.deactivate()
        if safety.isLatched {
            throw ExcitationError(
                ending: RunEnding.latched(safety.reasons, robotFaults: faults),
                "the safety layer stopped the excitation after \(k) ticks (\(safety.reasons)\(faults.isEmpty ? "" : "; robot reports " + faultNames(faults))); lower the excitation torque (--sysid-torque), check the limits in the calibration, or run on a less loaded machine (a host stall trips the firmware watchdog)")
        }
        return (readFailures, missed)
    }
}

/// An excitation that could not finish.
public struct ExcitationError: Error, CustomStringConvertible {
    public let description: String
    /// What stopped it, for the exit status.
    public let ending: RunEnding
    init(ending: RunEnding = .robotFailed("the excitation could not finish"), _ d: String) {
        description = "system identification: " + d
        self.ending = ending
    }
}

/// "watchdog, link" for a fault set.
func faultNames(_ f: RobotFaults) -> String {
    let names: [(RobotFaults, String)] = [
        (.watchdog, "watchdog"), (.estop, "e-stop"), (.motor, "motor fault"), (.encoder, "encoder fault"),
        (.limit, "limit"), (.link, "link failure"),
    ]
    let parts = names.filter { f.contains($0.0) }.map(\.1)
    return parts.isEmpty ? "fault bits \(f.rawValue)" : parts.joined(separator: ", ")
}
