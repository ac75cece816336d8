/// The one rule that turns records into transitions `(s, a, r, s', terminal, timeout)`
/// (DATASET.md, "From records to transitions"). The export (`D4RLArrays`), the run's logger
/// sink that feeds the trainer, prior datasets loaded by `run --dataset` and `dataset replay`
/// all pair through it, so they agree on every record.
///
/// - Records of an episode the episode table marks discarded (operator "redo") and records
///   flagged `nonFinite` (or holding a NaN/inf) never become part of a transition.
/// - A record with `droppedBefore > 0` (the ring was full) follows a gap: nothing pairs across
///   it. So does a discarded or non-finite record.
/// - With `decisionTicks` N > 1 (the loop holds each policy action for N ticks) a transition
///   spans one decision: observation and action of the decision tick (episode tick k with
///   k mod N = 0, counting dropped ticks), the sum of the N ticks' rewards, and the
///   observation of the next decision tick. N = 1 gives one transition per record.
/// - A `terminal` record ends its (open) decision with `terminal = true` and its own
///   observation as the next one. A decision that cannot be closed (time-out, abort, gap,
///   new episode, end of data) is not a transition, and the transition before it in its
///   episode gets `timeout = true`. So a transition is handed out one decision late, when it
///   is known whether it is the episode's last.
///
/// Thread contract: one owner thread. `add` does not allocate (buffers are preallocated).
public final class TransitionPairing {
    /// One transition. The buffers are valid only during the `emit` call.
    public struct Paired {
        public var episode: UInt32
        public var policyVersion: UInt64
        public var observation: UnsafeBufferPointer<Float>
        public var action: UnsafeBufferPointer<Float>
        public var reward: Float
        public var nextObservation: UnsafeBufferPointer<Float>
        public var terminal: Bool
        public var timeout: Bool
    }

    public let observationCount: Int
    public let actionCount: Int
    public let decisionTicks: Int
    /// The discarded entries of the episode table given at init.
    public let discarded: [EpisodeEntry]
    /// Records skipped because their episode was discarded.
    public private(set) var discardedRecords = 0
    /// Records skipped because they hold a NaN or an infinity.
    public private(set) var nonFiniteRecords = 0
    /// Gaps (records with `droppedBefore > 0`) that cut a decision.
    public private(set) var gaps = 0
    /// Transitions handed out.
    public private(set) var emitted = 0

    private var inEpisode = false
    private var episode: UInt32 = 0
    private var episodeTick = 0
    // The open decision: the decision tick's observation and action, rewards so far.
    private var open = false
    private let openObservation: UnsafeMutableBufferPointer<Float>
    private let openAction: UnsafeMutableBufferPointer<Float>
    private var openReward: Float = 0
    private var openVersion: UInt64 = 0
    // The closed transition waiting to learn whether it is the episode's last.
    private var pending = false
    private let pendingObservation: UnsafeMutableBufferPointer<Float>
    private let pendingAction: UnsafeMutableBufferPointer<Float>
    private let pendingNext: UnsafeMutableBufferPointer<Float>
    private var pendingReward: Float = 0
    private var pendingVersion: UInt64 = 0
    private var pendingEpisode: UInt32 = 0

    public init(observationCount: Int, actionCount: Int, decisionTicks: Int = 1, episodes: EpisodeTable = EpisodeTable()) {
        precondition(decisionTicks >= 1, "decisionTicks must be at least 1")
        self.observationCount = observationCount
        self.actionCount = actionCount
        self.decisionTicks = decisionTicks
        discarded = episodes.discarded
        openObservation = .allocate(capacity: observationCount)
        openAction = .allocate(capacity: actionCount)
        pendingObservation = .allocate(capacity: observationCount)
        pendingAction = .allocate(capacity: actionCount)
        pendingNext = .allocate(capacity: observationCount)
    }

    deinit {
        openObservation.deallocate()
        openAction.deallocate()
        pendingObservation.deallocate()
        pendingAction.deallocate()
        pendingNext.deallocate()
    }

    /// Adds the next record (file or ring order); calls `emit` for each transition it completes.
    public func add(
        _ h: TransitionHeader, observation o: UnsafeBufferPointer<Float>, action a: UnsafeBufferPointer<Float>,
        emit: (Paired) -> Void
    ) {
        precondition(o.count == observationCount && a.count == actionCount, "record vector sizes differ from the pairing's")
        let f = h.flags
        // Episode bookkeeping (dropped ticks count: they were executed, only not recorded).
        if f.contains(.episodeStart) || !inEpisode || h.episode != episode {
            abandon(emit)
            inEpisode = true
            episodeTick = f.contains(.episodeStart) ? 0 : Int(h.droppedBefore)
            episode = h.episode
        } else {
            episodeTick += 1 + Int(h.droppedBefore)
            if h.droppedBefore > 0 {
                if open { gaps += 1 }
                abandon(emit)
            }
        }
        let ends = !f.isDisjoint(with: [.terminal, .timeout, .aborted])
        if isDiscarded(h) || !isFinite(h, o, a) {
            if isDiscarded(h) { discardedRecords += 1 } else { nonFiniteRecords += 1 }
            abandon(emit)
            if ends { inEpisode = false }
            return
        }
        let decision = episodeTick % decisionTicks == 0
        if decision && open { close(next: o, emit) }
        if decision { open = false }
        if f.contains(.terminal) {
            if !open { start(h, o, a, reward: 0) }
            openReward += h.reward
            flushPending(timeout: false, emit)
            emit(Paired(
                episode: h.episode, policyVersion: openVersion, observation: UnsafeBufferPointer(openObservation),
                action: UnsafeBufferPointer(openAction), reward: openReward, nextObservation: o, terminal: true, timeout: false))
            emitted += 1
            open = false
            inEpisode = false
        } else if ends {
            abandon(emit)
            inEpisode = false
        } else if decision {
            start(h, o, a, reward: h.reward)
        } else if open {
            openReward += h.reward
        }
    }

    /// The end of the data: the last waiting transition is its episode's last (`timeout`).
    public func finish(emit: (Paired) -> Void) {
        abandon(emit)
        inEpisode = false
    }

    private func isDiscarded(_ h: TransitionHeader) -> Bool {
        for e in discarded where e.contains(h) { return true }
        return false
    }

    private func isFinite(_ h: TransitionHeader, _ o: UnsafeBufferPointer<Float>, _ a: UnsafeBufferPointer<Float>) -> Bool {
        if h.flags.contains(.nonFinite) || !h.reward.isFinite { return false }
        for v in o where !v.isFinite { return false }
        for v in a where !v.isFinite { return false }
        return true
    }

    private func start(_ h: TransitionHeader, _ o: UnsafeBufferPointer<Float>, _ a: UnsafeBufferPointer<Float>, reward: Float) {
        for i in 0..<observationCount { openObservation[i] = o[i] }
        for i in 0..<actionCount { openAction[i] = a[i] }
        openReward = reward
        openVersion = h.policyVersion
        open = true
    }

    /// The open decision ends at observation `next`: it becomes the waiting transition.
    private func close(next: UnsafeBufferPointer<Float>, _ emit: (Paired) -> Void) {
        flushPending(timeout: false, emit)
        for i in 0..<observationCount {
            pendingObservation[i] = openObservation[i]
            pendingNext[i] = next[i]
        }
        for i in 0..<actionCount { pendingAction[i] = openAction[i] }
        pendingReward = openReward
        pendingVersion = openVersion
        pendingEpisode = episode
        pending = true
        open = false
    }

    /// The open decision cannot be closed: drop it; the waiting transition was the last.
    private func abandon(_ emit: (Paired) -> Void) {
        open = false
        flushPending(timeout: true, emit)
    }

    private func flushPending(timeout: Bool, _ emit: (Paired) -> Void) {
        guard pending else { return }
        pending = false
        emit(Paired(
            episode: pendingEpisode, policyVersion: pendingVersion, observation: UnsafeBufferPointer(pendingObservation),
            action: UnsafeBufferPointer(pendingAction), reward: pendingReward, nextObservation: UnsafeBufferPointer(pendingNext),
            terminal: false, timeout: timeout))
        emitted += 1
    }
}

extension D4RLArrays {
    /// Appends one paired transition.
    public mutating func append(_ t: TransitionPairing.Paired) {
        observations += t.observation
        actions += t.action
        rewards.append(t.reward)
        nextObservations += t.nextObservation
        terminals.append(t.terminal)
        timeouts.append(t.timeout)
        policyVersions.append(t.policyVersion)
    }
}

extension DatasetReader {
    /// Every transition of the dataset by the pairing rule, with the episode table applied
    /// (discarded episodes skipped); `decisionTicks` as in `TransitionPairing`. Returns the
    /// pairing (for its counters).
    @discardableResult
    public func forEachTransition(
        decisionTicks: Int = 1, episodes: EpisodeTable, _ body: (TransitionPairing.Paired) -> Void
    ) -> TransitionPairing {
        let pairing = TransitionPairing(
            observationCount: schema.observationCount, actionCount: schema.actionCount, decisionTicks: decisionTicks,
            episodes: episodes)
        forEach { h, o, a in pairing.add(h, observation: o, action: a, emit: body) }
        pairing.finish(emit: body)
        return pairing
    }
}
