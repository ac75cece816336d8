import Control
import Foundation
import Synchronization

/// One finished (or aborted) episode on the robot.
public struct EpisodeRecord: Sendable, Equatable {
    public var episode: UInt32
    /// Seconds since the session started (host monotonic clock).
    public var startSeconds: Double
    public var endSeconds: Double
    public var ticks: Int
    /// Undiscounted return.
    public var episodeReturn: Double
    /// Policy version at the episode's first tick.
    public var policyVersion: UInt64
    /// True when a stop interrupted the episode.
    public var aborted: Bool
    /// Ticks that missed their deadline.
    public var lateTicks: Int
    /// Exploration noise was added to the policy's actions (`TransitionFlags.exploring`).
    public var exploring: Bool = false
}

/// The run's logger thread: drains the transition ring into the dataset (if any), turns
/// consecutive records of one episode into real transitions `(s, a, r, s', terminal)` for the
/// trainer, and keeps the episode table. A time-out's last decision has no successor and is
/// not handed to the trainer (it stays in the dataset).
///
/// With `decisionTicks` N > 1 (the loop holds each policy action for N ticks) a transition
/// spans one decision: the observation and action of the decision tick (episode tick k with
/// k mod N = 0), the sum of the N ticks' rewards, and the observation of the next decision
/// tick — the time step the policy acts at. N = 1 gives one transition per tick.
///
/// Thread contract: single consumer of the ring (the logger thread it starts); `takeTransitions`
/// from one other thread (the trainer); `episodes` and counters from any thread. Locks are
/// taken only on the logger and trainer threads, never on the control thread.
public final class RunRecorder: @unchecked Sendable {
    /// Transitions waiting for the trainer: flat arrays of raw observations.
    public struct Pending: Sendable {
        public var observations: [Float] = []
        public var actions: [Float] = []
        public var rewards: [Float] = []
        public var nextObservations: [Float] = []
        public var terminals: [Bool] = []
        /// Finished, complete episodes tick by tick (with `keepsTrajectories`), oldest first.
        public var trajectories: [RealTrajectory] = []
        public var count: Int { rewards.count }
        public init() {}
    }

    public let ring: TransitionRing
    public let writer: DatasetWriter?
    let startNanos: UInt64
    let S: Int
    let A: Int
    private let pending = Mutex(Pending())
    private let finished = Mutex([EpisodeRecord]())
    private let running = Atomic<Bool>(false)
    private let recordCount = Atomic<UInt64>(0)
    private var thread: NativeThread?
    private var failure: DatasetError?
    /// Ticks per policy decision (see the type's documentation).
    public let decisionTicks: Int
    // Logger-thread state: the open decision (observation, action, rewards so far).
    private var previousObservation: [Float]
    private var previousAction: [Float]
    private var previousReward: Float = 0
    private var previousEpisode: UInt32 = 0
    private var havePrevious = false
    private var current: EpisodeRecord?
    /// Whether to hand transitions to a trainer (off for eval).
    public let feedsTrainer: Bool
    /// Whether to hand the trainer each complete episode tick by tick (for calibrating the
    /// onboard simulator on the robot, `OnlineCalibration`).
    public var keepsTrajectories = false
    private var trajectory = RealTrajectory(observations: [], actions: [])
    public init(ring: TransitionRing, writer: DatasetWriter?, startNanos: UInt64, feedsTrainer: Bool, decisionTicks: Int = 1) {
        precondition(decisionTicks >= 1, "decisionTicks must be at least 1")
        self.decisionTicks = decisionTicks
        self.ring = ring
        self.writer = writer
        self.startNanos = startNanos
        self.feedsTrainer = feedsTrainer
        S = ring.observationCount
        A = ring.actionCount
        previousObservation = [Float](repeating: 0, count: S)
        previousAction = [Float](repeating: 0, count: A)
    }

    /// Records drained from the ring so far (any thread).
    public var recordsDrained: UInt64 { recordCount.load(ordering: .relaxed) }

    /// Episodes finished so far, oldest first (any thread; allocates).
    public var episodes: [EpisodeRecord] { finished.withLock { $0 } }

    /// Takes every transition logged since the last call (trainer thread).
    public func takeTransitions() -> Pending {
        pending.withLock { p in
            let out = p
            p = Pending()
            return out
        }
    }

    public func start() throws(SystemError) {
        precondition(thread == nil, "recorder already started")
        running.store(true, ordering: .releasing)
        thread = try NativeThread(name: "robotctl-logger") { [self] in self.loop() }
    }

    /// Drains what is left, stops the thread, closes the dataset; returns the first write error.
    @discardableResult
    public func stop() -> DatasetError? {
        guard let thread else { return failure }
        running.store(false, ordering: .releasing)
        thread.join()
        self.thread = nil
        if failure == nil, let writer {
            do { try writer.close() } catch { failure = .system(error) }
        }
        return failure
    }

    private func loop() {
        while true {
            let keepGoing = running.load(ordering: .acquiring)
            drain()
            if !keepGoing { break }
            if failure == nil, let writer {
                do { try writer.syncIfDue() } catch { failure = .system(error) }
            }
            usleep(2_000)
        }
    }

    /// Drains the ring on the calling thread (loading earlier datasets through the same
    /// episode logic; never while the logger thread runs).
    func drainForLoading() {
        precondition(thread == nil, "the logger thread is running")
        drain()
    }

    private func drain() {
        var batch = Pending()
        var ended: [EpisodeRecord] = []
        var n: UInt64 = 0
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: S)
        let act = UnsafeMutablePointer<Float>.allocate(capacity: A)
        defer {
            obs.deallocate()
            act.deallocate()
        }
        while ring.pop({ payload in
            if failure == nil, let writer {
                do throws(DatasetError) { try writer.appendPayload(payload) } catch { failure = error }
            }
            let p = payload.baseAddress!
            let h = TransitionLayout.decodeHeader(p)
            for i in 0..<S { obs[i] = TransitionLayout.decodeFloat(p, index: i) }
            for i in 0..<A { act[i] = TransitionLayout.decodeFloat(p, index: S + i) }
            consume(h, obs, act, into: &batch, ended: &ended)
        }) { n += 1 }
        if n > 0 { recordCount.add(n, ordering: .relaxed) }
        if feedsTrainer && (batch.count > 0 || !batch.trajectories.isEmpty) {
            pending.withLock { p in
                p.trajectories += batch.trajectories
                p.observations += batch.observations
                p.actions += batch.actions
                p.rewards += batch.rewards
                p.nextObservations += batch.nextObservations
                p.terminals += batch.terminals
            }
        }
        if !ended.isEmpty { finished.withLock { $0 += ended } }
    }

    private func consume(
        _ h: TransitionHeader, _ obs: UnsafeMutablePointer<Float>, _ act: UnsafeMutablePointer<Float>,
        into batch: inout Pending, ended: inout [EpisodeRecord]
    ) {
        let t = Double(h.timestampNanos &- startNanos) / 1e9
        if h.flags.contains(.episodeStart) {
            if var open = current {  // an episode that never saw its end record
                open.aborted = true
                ended.append(open)
            }
            current = EpisodeRecord(
                episode: h.episode, startSeconds: t, endSeconds: t, ticks: 0, episodeReturn: 0,
                policyVersion: h.policyVersion, aborted: false, lateTicks: 0)
            havePrevious = false
            trajectory.observations.removeAll(keepingCapacity: true)
            trajectory.actions.removeAll(keepingCapacity: true)
        }
        if keepsTrajectories && current != nil && !h.flags.contains(.aborted) {
            trajectory.observations += UnsafeBufferPointer(start: obs, count: S)
            trajectory.actions += UnsafeBufferPointer(start: act, count: A)
        }
        // Episode tick of this record; a decision tick closes the open decision's transition.
        let k = current?.ticks ?? 0
        let decisionTick = k % decisionTicks == 0
        if decisionTick && havePrevious && previousEpisode == h.episode && !h.flags.contains(.aborted) {
            batch.observations += previousObservation
            batch.actions += previousAction
            batch.rewards.append(previousReward)
            batch.nextObservations += UnsafeBufferPointer(start: obs, count: S)
            batch.terminals.append(false)
        }
        if decisionTick { havePrevious = false }
        if current != nil {
            current!.ticks += 1
            current!.episodeReturn += Double(h.reward)
            current!.endSeconds = t
            if h.flags.contains(.late) { current!.lateTicks += 1 }
            if h.flags.contains(.exploring) { current!.exploring = true }
        }
        if h.flags.contains(.terminal) {
            // No successor is needed: bootstrapping stops at a terminal. Mid-decision, the
            // transition is the open decision's, with this tick's reward added.
            let open = havePrevious && previousEpisode == h.episode
            if open {
                batch.observations += previousObservation
                batch.actions += previousAction
                batch.rewards.append(previousReward + h.reward)
            } else {
                batch.observations += UnsafeBufferPointer(start: obs, count: S)
                batch.actions += UnsafeBufferPointer(start: act, count: A)
                batch.rewards.append(h.reward)
            }
            batch.nextObservations += UnsafeBufferPointer(start: obs, count: S)
            batch.terminals.append(true)
        }
        if !h.flags.isDisjoint(with: [.terminal, .timeout, .aborted]) {
            if var e = current {
                e.aborted = h.flags.contains(.aborted)
                ended.append(e)
                if keepsTrajectories && !e.aborted && feedsTrainer { batch.trajectories.append(trajectory) }
            }
            current = nil
            havePrevious = false
        } else if decisionTick {
            for i in 0..<S { previousObservation[i] = obs[i] }
            for i in 0..<A { previousAction[i] = act[i] }
            previousReward = h.reward
            previousEpisode = h.episode
            havePrevious = true
        } else if havePrevious {
            previousReward += h.reward
        }
    }
}
