/// The policy as the loop's action source: the current policy is taken from the lock-free
/// slot at each tick boundary (a published swap takes effect there), it acts on the episode's
/// first tick and then every `decisionTicks` ticks (the action is held in between), with
/// optional exploration noise per episode. Episodes end by the task (terminal, time-out) or a
/// stop; a stop aborts the episode it interrupts.
///
/// Thread contract: the `ActionSource` requirements on the control thread (real-time safe);
/// `slot.publish` and `exploration.set` from any thread.
public final class PolicySlotSource<Policy: SlotPolicy>: ActionSource, @unchecked Sendable {
    public let slot: PolicySlot<Policy>
    public let exploration = ExplorationNoise()
    /// The policy of this tick (set by `acquire`, control thread only). Unretained: the slot
    /// keeps its three replicas alive, so the tick never retains or releases one.
    private var current: Unmanaged<Policy>?
    private var warmSink: Float = 0

    public init(slot: PolicySlot<Policy>) { self.slot = slot }

    public var observationSize: Int { slot.observationSize }
    public var actionSize: Int { slot.actionSize }
    public var recordFlags: TransitionFlags { [] }
    public var keepsEpisodeOnStop: Bool { false }

    public func begin(statistics: LoopStatistics) {}

    @inline(__always)
    public func poll(statistics: LoopStatistics) -> ActionRequests { [] }

    /// Pulls the current policy's weights into the cache. Real-time safe.
    @inline(__always)
    public func prewarm(statistics: LoopStatistics) {
        let taken = slot.acquire()
        if taken.swapped { statistics.add(.policySwaps) }
        current = Unmanaged.passUnretained(taken.policy)
        let params = taken.policy.parameters
        var sum: Float = 0
        var i = 0
        while i < params.count {
            sum += params[i]
            i &+= 16
        }
        warmSink = sum
    }

    @inline(__always)
    public func acquire(statistics: LoopStatistics) -> UInt64 {
        let (policy, version, swapped) = slot.acquire()
        if swapped { statistics.add(.policySwaps) }
        current = Unmanaged.passUnretained(policy)
        statistics.set(.policyVersion, version)
        return version
    }

    @inline(__always)
    public func reset(action: UnsafeMutablePointer<Float>) -> ResetDecision { .task }

    @inline(__always)
    public func startEpisode() -> TransitionFlags {
        exploration.latch()
        return exploration.isOn ? .exploring : []
    }

    @inline(__always)
    public func act(observation: UnsafePointer<Float>, action: UnsafeMutablePointer<Float>, decide: Bool, episodeTick: Int)
        -> EpisodeEndReason?
    {
        if decide, let current {
            current._withUnsafeGuaranteedRef { $0.act(observation: observation, action: action) }
            if exploration.isOn { exploration.add(to: action, count: slot.actionSize) }
        }
        return nil
    }

    @inline(__always)
    public func interrupted(action: UnsafeMutablePointer<Float>) {}

    @inline(__always)
    public func episodeEnded(_ outcome: EpisodeOutcome, statistics: LoopStatistics) {}
}
