import SystemSupport

/// How the robot gets back to a start state between teleop episodes (never recorded).
public enum TeleopResetMode: String, Sendable, CaseIterable {
    /// The task's `resetStep` drives the robot; recording starts by itself once it reports
    /// the start state (the operator may press "next" to start at once).
    case task
    /// The operator drives the robot, unrecorded, and presses "next" to start recording.
    case `operator`
}

/// The operator as the loop's action source (teleoperation with recording): the input
/// devices are polled once per tick, their actions drive the task's action components (the
/// mappings say which key or axis drives which), and their events steer the loop — "next" ends the episode being recorded and keeps it
/// (during the reset phase: starts recording now), "redo" discards it (during the reset
/// phase: discards the episode just finished), "stop" asks for an orderly stop (the episode
/// in progress is kept), "e-stop" or a lost device latches an emergency stop (the episode is
/// aborted). Every episode's end goes to `outcomes` for the episode table, since records
/// already on disk are never rewritten.
///
/// Thread contract: the `ActionSource` requirements on the control thread (real-time safe);
/// `outcomes.pop` on one other thread; `action` from any thread.
public final class OperatorSource: ActionSource, @unchecked Sendable {
    public let inputs: [any OperatorInputSource]
    public let reset: TeleopResetMode
    /// Orderly stop once this many episodes were kept (nil: until the operator stops).
    public let maxEpisodes: Int?
    public let outcomes: EpisodeOutcomeQueue
    public let observationSize: Int
    public let actionSize: Int
    private var input = OperatorInput()
    /// Every action component's bit pattern, for readers on other threads (relaxed atomics).
    private let actionBits: UnsafeMutablePointer<UInt64>
    private var lastCompleted: EpisodeOutcome?
    private var kept = 0
    private var statistics: LoopStatistics?

    /// Set-up: at least one input device (keyboard, gamepad, a script in tests).
    public init(
        inputs: [any OperatorInputSource], observationSize: Int, actionSize: Int, reset: TeleopResetMode = .task,
        maxEpisodes: Int? = nil, outcomes: EpisodeOutcomeQueue = EpisodeOutcomeQueue()
    ) throws(ControlLoopError) {
        guard !inputs.isEmpty else { throw .mismatch("teleop needs at least one operator input (keyboard or gamepad)") }
        guard actionSize >= 1 else { throw .mismatch("teleop drives action component 0; the task has no action") }
        guard actionSize <= maxJoints else { throw .mismatch("teleop drives at most \(maxJoints) action components; the task has \(actionSize)") }
        self.inputs = inputs
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.reset = reset
        self.maxEpisodes = maxEpisodes
        self.outcomes = outcomes
        actionBits = .allocate(capacity: maxJoints)
        actionBits.initialize(repeating: 0, count: maxJoints)
    }

    deinit { actionBits.deallocate() }

    /// The operator's action component 0 now (for a status line). Any thread.
    public var action: Float { action(0) }

    /// The operator's action component `i` now (for a status line). Any thread.
    public func action(_ i: Int) -> Float {
        guard i >= 0 && i < maxJoints else { return 0 }
        return Float(bitPattern: UInt32(truncatingIfNeeded: atomicLoadRelaxed(actionBits + i)))
    }

    public var recordFlags: TransitionFlags { .teleop }
    public var keepsEpisodeOnStop: Bool { true }

    public func begin(statistics: LoopStatistics) {
        self.statistics = statistics
        kept = Int(statistics.value(.keptEpisodes))
    }

    @inline(__always)
    public func poll(statistics: LoopStatistics) -> ActionRequests {
        input.events = []
        for i in 0..<inputs.count { inputs[i].poll(into: &input) }
        for i in 0..<actionSize { atomicStoreRelaxed(actionBits + i, UInt64(input.actions[i].bitPattern)) }
        var requests: ActionRequests = []
        if input.events.contains(.emergencyStop) || input.deviceLost { requests.insert(.emergencyStop) }
        if input.events.contains(.stop) { requests.insert(.stop) }
        if let maxEpisodes, kept >= maxEpisodes { requests.insert(.stop) }
        return requests
    }

    @inline(__always)
    public func prewarm(statistics: LoopStatistics) {}

    @inline(__always)
    public func acquire(statistics: LoopStatistics) -> UInt64 { 0 }

    @inline(__always)
    public func reset(action: UnsafeMutablePointer<Float>) -> ResetDecision {
        if input.events.contains(.redo) { discardLastCompleted() }
        if input.events.contains(.next) { return .startEpisode }
        guard reset == .operator else { return .task }
        write(action)
        return .source
    }

    @inline(__always)
    public func startEpisode() -> TransitionFlags { [] }

    @inline(__always)
    public func act(observation: UnsafePointer<Float>, action: UnsafeMutablePointer<Float>, decide: Bool, episodeTick: Int)
        -> EpisodeEndReason?
    {
        write(action)
        if input.events.contains(.redo) { return .redo }
        if input.events.contains(.next) && episodeTick > 0 { return .next }
        return nil
    }

    @inline(__always)
    public func interrupted(action: UnsafeMutablePointer<Float>) { write(action) }

    @inline(__always)
    public func episodeEnded(_ outcome: EpisodeOutcome, statistics: LoopStatistics) {
        outcomes.push(outcome)
        if outcome.discarded {
            lastCompleted = nil
        } else {
            kept += 1
            lastCompleted = outcome
        }
    }

    @inline(__always)
    private func write(_ action: UnsafeMutablePointer<Float>) {
        for i in 0..<actionSize { action[i] = input.actions[i] }
    }

    /// "Redo" during the reset phase: discards the episode just finished.
    @inline(__always)
    private func discardLastCompleted() {
        guard var last = lastCompleted else { return }
        last.discarded = true
        last.reason = .redo
        outcomes.push(last)
        kept -= 1
        lastCompleted = nil
        statistics?.set(.keptEpisodes, UInt64(max(0, kept)))
        statistics?.add(.discardedEpisodes)
    }
}
