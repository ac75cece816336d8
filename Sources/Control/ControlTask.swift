// What the control loop needs to know about the task a policy solves: how robot state
// becomes an observation, how a policy action becomes a robot command, how a tick is scored,
// and how the real robot is brought back to a start state between episodes.
//
// Control owns this protocol; the tasks (pendulum, cart-pole, ...) live in H2OTrainer beside
// their onboard simulator and conform to it, so the loop and the simulator share one
// definition of observation, reward and action scaling.

/// A task as the 200 Hz loop sees it.
///
/// Thread contract: the requirements are called from the control thread and are real-time
/// safe: they do not allocate, lock or throw. Conformers are value types or immutable classes.
public protocol ControlTask: Sendable {
    /// Short identifier, e.g. "pendulum". Recorded in dataset schemas and policy metadata.
    var name: String { get }
    /// Length of the observation vector the policy sees.
    var observationSize: Int { get }
    /// Length of the action vector the policy outputs, each component in [-1, 1].
    var actionSize: Int { get }
    /// Control period, seconds (0.005 at 200 Hz).
    var controlPeriod: Double { get }
    /// Ticks in one episode before a time-out (a time-out is not a terminal).
    var episodeTicks: Int { get }

    /// Writes the observation for `state` into `observation[0..<observationSize]`.
    /// Real-time safe: does not allocate, lock or throw.
    func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>)
    /// Turns a policy action in [-1, 1] into a robot command (units of the task's mode).
    /// Real-time safe: does not allocate, lock or throw.
    func command(for action: UnsafePointer<Float>, into command: inout RobotCommand)
    /// The reward of taking `action` in `observation`.
    /// Real-time safe: does not allocate, lock or throw.
    func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float
    /// True when `observation` ends the episode (not a time-out).
    /// Real-time safe: does not allocate, lock or throw.
    func isTerminal(observation: UnsafePointer<Float>) -> Bool
    /// One tick of the unrecorded reset phase on the real robot: writes the command that
    /// brings the robot toward a start state and returns true once it is there.
    /// `ticksInReset` counts the reset phase's earlier ticks (0 on its first), so a task can
    /// accept a looser start after a while without hidden state of its own.
    /// Real-time safe: does not allocate, lock or throw.
    func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool
}
