// The part of the 200 Hz tick that decides the action: a policy from the lock-free slot
// (`PolicySlotSource`, `robotctl run`/`eval`) or the operator's input devices
// (`OperatorSource`, `robotctl teleop`). Everything else — pacing, reading, the safety checks
// and filter, the watchdog, the stop behaviour, writing, recording and episode bookkeeping —
// is `ControlLoop`'s and exists once.

/// What an action source asks of the loop on one tick.
public struct ActionRequests: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// An orderly stop (the stop behaviour, then torque off).
    public static let stop = ActionRequests(rawValue: 1 << 0)
    /// A latched emergency stop (`StopReason.operatorRequest`).
    public static let emergencyStop = ActionRequests(rawValue: 1 << 1)
}

/// Who drives one tick of the unrecorded reset phase between episodes.
public enum ResetDecision: Sendable, Equatable {
    /// The task's `resetStep` (the episode starts on the tick after it reports the start state).
    case task
    /// The source wrote an action; the task turns it into the command (operator-driven reset).
    case source
    /// End the reset now: this tick is the episode's first.
    case startEpisode
}

/// The part of the control tick that decides the action and may end or cut an episode.
///
/// Thread contract: every requirement is called from the control thread while the loop runs
/// and is real-time safe: it does not allocate, lock or throw. Conformers hold preallocated
/// state only; set-up (allocation, opening devices) happens in their initialisers.
public protocol ActionSource: AnyObject, SendableMetatype {
    /// Length of the observation the source reads (the task's).
    var observationSize: Int { get }
    /// Length of the action the source writes (the task's).
    var actionSize: Int { get }
    /// Flags every record of this source carries (`.teleop` for the operator).
    var recordFlags: TransitionFlags { get }
    /// True: an orderly stop ends the episode it interrupts as kept (reason `.stop`, a
    /// time-out); false: it is aborted like a safety stop.
    var keepsEpisodeOnStop: Bool { get }

    /// Start of `ControlLoop.run`, before the first tick.
    func begin(statistics: LoopStatistics)
    /// First thing of every tick after the wake-up: polls input and returns what it asks for.
    func poll(statistics: LoopStatistics) -> ActionRequests
    /// Cache warming before the deadline (`LoopConfiguration.prewarmNanos`).
    func prewarm(statistics: LoopStatistics)
    /// On a tick where the source is consulted (not stopping, observation finite): takes
    /// what it needs for this tick and returns the version recorded with it (0: none).
    func acquire(statistics: LoopStatistics) -> UInt64
    /// One tick of the reset phase: who drives (writes `action` for `.source`).
    func reset(action: UnsafeMutablePointer<Float>) -> ResetDecision
    /// Called on an episode's first tick, before `act`: flags all its records carry
    /// (`.exploring` when exploration noise is on for the episode).
    func startEpisode() -> TransitionFlags
    /// One tick of an episode: writes `action` on a decision tick (`decide`; it is held
    /// otherwise) and may end the episode on this tick (`.next` keeps it, `.redo` discards
    /// it). `episodeTick` counts the episode's records before this one.
    func act(observation: UnsafePointer<Float>, action: UnsafeMutablePointer<Float>, decide: Bool, episodeTick: Int)
        -> EpisodeEndReason?
    /// The tick a stop interrupts an episode: the action to record with it.
    func interrupted(action: UnsafeMutablePointer<Float>)
    /// An episode ended (after its last record was pushed).
    func episodeEnded(_ outcome: EpisodeOutcome, statistics: LoopStatistics)
}
