import Control
import Tasks

/// The pendulum as the on-robot learner simulates it: `PendulumTask` (at the policy's
/// decision rate, possibly calibrated on the robot) whose simulator episodes start, with
/// probability `hangingFraction`, where the robot's do — hanging still after the reset phase
/// (within ±`hangingJitter` rad and rad/s) — and otherwise from Gymnasium's uniform start
/// distribution. Fine-tuning then practises the swing-up the robot actually runs while
/// keeping the states the policy may meet on the way; validation episodes (fixed seeds) are
/// drawn from the same mixture.
///
/// Thread contract: an immutable value; the simulator methods are real-time safe (they do not
/// allocate, lock or throw).
public struct LearnerPendulumTask: SimulatedTask {
    public let base: PendulumTask
    public let hangingFraction: Double
    public let hangingJitter: Double

    public init(base: PendulumTask, hangingFraction: Double = 0.5, hangingJitter: Double = 0.05) {
        self.base = base
        self.hangingFraction = min(max(hangingFraction, 0), 1)
        self.hangingJitter = hangingJitter
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
    public func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
        base.resetStep(state, ticksInReset: ticksInReset, into: &command)
    }

    public var simStateNames: [String] { base.simStateNames }
    public func simState(from values: UnsafePointer<Double>) -> PendulumTask.SimState { base.simState(from: values) }
    public func write(_ state: PendulumTask.SimState, to values: UnsafeMutablePointer<Double>) { base.write(state, to: values) }

    /// Real-time safe: does not allocate, lock or throw.
    public func resetSim(random: inout SimRandom) -> PendulumTask.SimState {
        guard random.uniform(0, 1) < hangingFraction else { return base.resetSim(random: &random) }
        let j = hangingJitter
        return PendulumTask.SimState(theta: Double.pi + random.uniform(-j, j), thetaDot: random.uniform(-j, j))
    }

    public func observeSim(_ state: PendulumTask.SimState, into observation: UnsafeMutablePointer<Float>) {
        base.observeSim(state, into: observation)
    }

    public func stepSim(_ state: inout PendulumTask.SimState, action: UnsafePointer<Float>, random: inout SimRandom)
        -> (reward: Double, terminal: Bool)
    {
        base.stepSim(&state, action: action, random: &random)
    }
}
