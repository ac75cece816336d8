import Control
#if canImport(Glibc)
import Glibc
#endif

/// The pendulum task as `robotctl run` drives it on a robot: `PendulumTask` with a reset phase
/// that always ends. `PendulumTask.resetStep` damps the swing until the pendulum hangs within
/// 0.05 rad and 0.05 rad/s; on the emulated robot (Coulomb friction, encoder quantisation,
/// velocity noise) that can take minutes or never happen (friction can even hold it balanced
/// upright), which stalls data collection. Here a pendulum resting in the upper half is tipped
/// over with ±0.5 N·m, and the reset ends when the base reset is satisfied, or the pendulum is
/// within 0.15 rad of hanging and slower than 0.3 rad/s, or — within 0.5 rad of hanging —
/// after `resetLimit` seconds of reset. An episode never starts near upright.
///
/// Thread contract: like every `ControlTask`, called from the control thread; the reset timer
/// is control-thread-only state in a preallocated cell. Real-time safe.
public struct RobotPendulumTask: SimulatedTask {
    public let base: PendulumTask
    /// Longest reset phase, seconds.
    public let resetLimit: Double
    private let timer: ResetTimer

    public init(base: PendulumTask = PendulumTask(), resetLimit: Double = 5) {
        self.base = base
        self.resetLimit = resetLimit
        timer = ResetTimer()
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
    public func resetStep(_ state: RobotState, into command: inout RobotCommand) -> Bool {
        let now = state.hostTimeNanos
        // A gap of more than 50 ms since the last reset tick: a new reset phase began.
        if now &- timer.cell[1] > 50_000_000 { timer.cell[0] = now }
        timer.cell[1] = now
        if base.resetStep(state, into: &command) { return true }
        let offset = PendulumDynamics.normalizeAngle(Double(state.position[0]) - Double.pi)
        let speed = Double(state.velocity[0])
        // Friction can hold the pendulum balanced near upright, where damping does nothing:
        // tip it over with a small torque away from the top.
        if abs(offset) > Double.pi / 2 && abs(speed) < 0.5 {
            command.setpoint[0] = Float(offset >= 0 ? -0.5 : 0.5)
        }
        if abs(offset) < 0.15 && abs(speed) < 0.3 { return true }
        // Give up waiting for stillness near the bottom after `resetLimit` (never start upright).
        return abs(offset) < 0.5 && Double(now &- timer.cell[0]) / 1e9 >= resetLimit
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

/// Two preallocated UInt64 cells (reset start, last reset tick), control thread only.
final class ResetTimer: @unchecked Sendable {
    let cell: UnsafeMutablePointer<UInt64>
    init() {
        cell = .allocate(capacity: 2)
        cell.initialize(repeating: 0, count: 2)
    }
    deinit { cell.deallocate() }
}
