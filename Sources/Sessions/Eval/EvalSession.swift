import Tasks
import Control
import FixedNN
import H2OTrainer

/// `robotctl eval`'s session: `episodes` deterministic episodes of a policy on the robot
/// through the safety layer (the run session with nothing trained and nothing recorded),
/// and their returns.
///
/// Thread contract: `run` on one set-up thread; `requestStop` from any thread.
public final class EvalSession<Task: ControlTask>: @unchecked Sendable {
    let session: RunSession<Task, FileTask>
    public let episodes: Int

    /// Builds the loop (allocates, may throw); nothing moves until `run`.
    public init(
        robot: any RobotInterface, task: Task, mode: ControlMode, policy: DeterministicPolicy, limits: SafetyLimits,
        schema: DatasetSchema, episodes: Int, decisionTicks: Int, seed: UInt64,
        estop: (any EmergencyStopInput)? = nil, outputs: (any StatusOutputs)? = nil
    ) throws {
        var options = OnRobotOptions(duration: nil, maxEpisodes: episodes, finetune: false, datasetDirectory: nil)
        options.decisionTicks = decisionTicks
        session = try RunSession<Task, FileTask>(
            robot: robot, task: task, mode: mode, policy: policy, limits: limits, schema: schema,
            learner: nil, settings: OnRobotSettings(seed: seed), options: options, estop: estop, outputs: outputs)
        self.episodes = episodes
    }

    public func requestStop() { session.requestStop() }

    /// Runs the episodes; `status(finishedEpisodes, lastReturn, loopHz)` about twice a second.
    /// Returns the session's result (episodes, how it ended) and the finished episodes' returns
    /// (at most `episodes`).
    public func run(status: (Int, Double?, Double) -> Void) throws -> (result: OnRobotResult, returns: [Double]) {
        let result = try session.run { s in status(s.episodes, s.lastEpisodeReturn, s.loopHz) }
        return (result, result.episodes.filter { !$0.aborted }.prefix(episodes).map(\.episodeReturn))
    }
}
