import Control
#if canImport(Glibc)
import Glibc
#endif
import Tasks

/// The pendulum task as `robotctl run` drives it on a robot: `PendulumTask` with a reset phase
/// that always ends and starts every episode from nearly the same state. The reset damps the
/// swing with `resetDamping` (N·m per rad/s, clipped to the torque limit; stronger than the
/// base task's 0.5, which is slow with a weak motor) and ends when the pendulum hangs within
/// 0.05 rad and 0.05 rad/s — consistent starts keep the episode-to-episode spread of a
/// policy's return small, so on-robot selection can see small gains. A pendulum resting in the
/// upper half is tipped over with ±0.5 N·m (friction can hold it balanced upright, where
/// damping does nothing). After `resetLimit` seconds of reset, within 0.15 rad and slower
/// than 0.3 rad/s is accepted, so data collection never stalls. An episode never starts near
/// upright.
///
/// Thread contract: like every `ControlTask`, called from the control thread; no state of its
/// own (the loop counts the reset phase's ticks). Real-time safe.
public struct RobotPendulumTask: SimulatedTask {
    public let base: PendulumTask
    /// Reset phase after which a looser start is accepted, seconds.
    public let resetLimit: Double
    /// Damping gain of the reset phase, N·m per rad/s.
    public let resetDamping: Double

    public init(base: PendulumTask = PendulumTask(), resetLimit: Double = 8, resetDamping: Double = 2) {
        self.base = base
        self.resetLimit = resetLimit
        self.resetDamping = resetDamping
    }

    public var parameters: PendulumParameters { base.parameters }
    public var discount: Double { base.discount }
    public var name: String { base.name }
    public var observationSize: Int { base.observationSize }
    public var actionSize: Int { base.actionSize }
    public var controlPeriod: Double { base.controlPeriod }
    public var episodeTicks: Int { base.episodeTicks }

    public func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>) { base.observe(state, into: observation) }
    public func command(for action: UnsafePointer<Float>, into command: inout RobotCommand) { base.command(for: action, into: &command) }
    public func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float {
        base.reward(observation: observation, action: action)
    }
    public func isTerminal(observation: UnsafePointer<Float>) -> Bool { base.isTerminal(observation: observation) }

    /// Real-time safe: does not allocate, lock or throw.
    public func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
        let offset = PendulumDynamics.normalizeAngle(Double(state.position[0]) - Double.pi)
        let speed = Double(state.velocity[0])
        let limit = parameters.maxTorque
        command.mode = .torque
        command.jointCount = 1
        command.setpoint[0] = Float(min(max(-resetDamping * speed, -limit), limit))
        // Friction can hold the pendulum balanced near upright, where damping does nothing:
        // tip it over with a small torque away from the top.
        if abs(offset) > Double.pi / 2 && abs(speed) < 0.5 {
            command.setpoint[0] = Float(offset >= 0 ? -0.5 : 0.5)
        }
        if abs(offset) < 0.05 && abs(speed) < 0.05 { return true }
        // After `resetLimit`, accept a looser start near the bottom (never upright).
        return abs(offset) < 0.15 && abs(speed) < 0.3 && Double(ticksInReset) * controlPeriod >= resetLimit
    }

    public var simStateNames: [String] { base.simStateNames }
    public func simState(from values: UnsafePointer<Double>) -> PendulumTask.SimState { base.simState(from: values) }
    public func write(_ state: PendulumTask.SimState, to values: UnsafeMutablePointer<Double>) { base.write(state, to: values) }
    public func resetSim(random: inout SimRandom) -> PendulumTask.SimState { base.resetSim(random: &random) }
    public func observeSim(_ state: PendulumTask.SimState, into observation: UnsafeMutablePointer<Float>) {
        base.observeSim(state, into: observation)
    }
    public func stepSim(_ state: inout PendulumTask.SimState, action: UnsafePointer<Float>, random: inout SimRandom)
        -> (reward: Double, terminal: Bool)
    {
        base.stepSim(&state, action: action, random: &random)
    }
}
