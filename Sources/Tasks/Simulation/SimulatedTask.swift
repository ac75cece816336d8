import Control

/// A task with an onboard simulator: the loop-facing `ControlTask` plus what the trainer
/// needs to generate simulated transitions with the same observation, reward and action
/// scaling.
///
/// Thread contract: tasks are immutable values; `resetSim`, `observeSim` and `stepSim` are
/// called from the trainer thread and are real-time safe: they do not allocate, lock or throw.
public protocol SimulatedTask: ControlTask {
    /// The parameters (nominal model and gap), settable by name.
    associatedtype Parameters: TaskParameters
    /// The simulator's full state: physical state, latency line, anything stepping needs.
    associatedtype SimState: Sendable

    /// The parameters this task was built with.
    var parameters: Parameters { get }
    /// The discount factor chosen for this task's time scale (recorded in run configs).
    var discount: Double { get }

    /// Names of the simulator state's values as a flat vector (e.g. ["theta", "theta_dot"]),
    /// the layout of `simState(from:)` and `write(_:to:)`. The latency line is not part of it.
    var simStateNames: [String] { get }
    /// A state from a flat vector of `simStateNames.count` values (latency line cleared).
    func simState(from values: UnsafePointer<Double>) -> SimState
    /// Writes the flat vector of `state`.
    func write(_ state: SimState, to values: UnsafeMutablePointer<Double>)

    /// A start state drawn from the task's reset distribution.
    /// Real-time safe: does not allocate, lock or throw.
    func resetSim(random: inout SimRandom) -> SimState
    /// The observation of `state`, written to `observation[0..<observationSize]`.
    /// Real-time safe: does not allocate, lock or throw.
    func observeSim(_ state: SimState, into observation: UnsafeMutablePointer<Float>)
    /// Advances one control period under policy action `action` (each component nominally
    /// in [-1, 1]; out-of-range values are clipped). Returns the reward of (state, action)
    /// and whether the new state is terminal.
    /// Real-time safe: does not allocate, lock or throw.
    func stepSim(
        _ state: inout SimState, action: UnsafePointer<Float>, random: inout SimRandom
    ) -> (reward: Double, terminal: Bool)
}

/// What one environment step returned.
public struct StepOutcome: Sendable, Equatable {
    /// Reward of the step just taken.
    public var reward: Double
    /// The new state ends the episode (a failure or success state, bootstrapping stops).
    public var terminated: Bool
    /// The episode hit its tick limit (not a terminal: bootstrapping continues).
    public var truncated: Bool

    public init(reward: Double, terminated: Bool, truncated: Bool) {
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }
}

/// An episodic environment with a task's observation and action layout: the onboard
/// simulator (`SimEnvironment`) and the real plant stepped directly (`RealPlantEnvironment`).
///
/// Thread contract: one owner thread. `reset` and `step` are real-time safe: they do not
/// allocate, lock or throw.
public protocol TaskEnvironment {
    var observationSize: Int { get }
    var actionSize: Int { get }
    /// Ticks before a time-out.
    var episodeTicks: Int { get }
    /// Starts an episode; writes the first observation.
    mutating func reset(observation: UnsafeMutablePointer<Float>)
    /// Applies `action`, writes the next observation and returns the outcome.
    mutating func step(
        action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>
    ) -> StepOutcome
}

/// The onboard simulator of a task as an episodic environment.
///
/// Thread contract: a value type with one owner thread; `reset` and `step` are real-time
/// safe: they do not allocate, lock or throw.
public struct SimEnvironment<Task: SimulatedTask>: TaskEnvironment {
    public let task: Task
    public private(set) var state: Task.SimState
    public private(set) var tick = 0
    public var random: SimRandom

    /// An environment of `task` whose resets and noise follow `seed`.
    public init(task: Task, seed: UInt64) {
        self.task = task
        self.random = SimRandom(seed: seed)
        self.state = task.resetSim(random: &random)
    }

    public var observationSize: Int { task.observationSize }
    public var actionSize: Int { task.actionSize }
    public var episodeTicks: Int { task.episodeTicks }

    public mutating func reset(observation: UnsafeMutablePointer<Float>) {
        state = task.resetSim(random: &random)
        tick = 0
        task.observeSim(state, into: observation)
    }

    /// Starts an episode from a given state (e.g. a recorded start state).
    public mutating func reset(to start: Task.SimState, observation: UnsafeMutablePointer<Float>) {
        state = start
        tick = 0
        task.observeSim(state, into: observation)
    }

    public mutating func step(
        action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>
    ) -> StepOutcome {
        let (reward, terminal) = task.stepSim(&state, action: action, random: &random)
        tick += 1
        task.observeSim(state, into: observation)
        return StepOutcome(
            reward: reward, terminated: terminal, truncated: !terminal && tick >= task.episodeTicks)
    }
}
