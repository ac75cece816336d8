import Control
import Foundation
import Synchronization
import SystemSupport
import Tasks

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

/// What a run records: the one logger thread (`TransitionLogger`) drains the transition ring
/// into the dataset (if any) and hands every record to this recorder's sink, which pairs
/// records into real transitions `(s, a, r, s', terminal)` for the trainer by the one rule
/// (`TransitionPairing`: one transition per decision of `decisionTicks` ticks, nothing paired
/// across a ring drop) and keeps the episode table. A time-out's last decision has no
/// successor and is not handed to the trainer (it stays in the dataset).
///
/// A dataset write error latches a safety stop in the loop (`TransitionLogger`); `failure`
/// says what it was.
///
/// Thread contract: the sink runs on the logger thread `start` starts; `takeTransitions`
/// from one other thread (the trainer); `episodes`, `failure` and counters from any thread.
/// Locks are taken only on the logger and trainer threads, never on the control thread.
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

        mutating func append(_ t: TransitionPairing.Paired) {
            observations += t.observation
            actions += t.action
            rewards.append(t.reward)
            nextObservations += t.nextObservation
            terminals.append(t.terminal)
        }
    }

    public let ring: TransitionRing
    public var writer: DatasetWriter? { logger.writer }
    /// The run's one logger thread.
    public let logger: TransitionLogger
    /// Ticks per policy decision (`TransitionPairing.decisionTicks`).
    public let decisionTicks: Int
    /// Whether to hand transitions to a trainer (off for eval).
    public let feedsTrainer: Bool
    /// Whether to hand the trainer each complete episode tick by tick (for calibrating the
    /// onboard simulator on the robot, `OnlineCalibration`). Set before `start`.
    public var keepsTrajectories: Bool {
        get { sink.keepsTrajectories }
        set { sink.keepsTrajectories = newValue }
    }
    private let sink: Sink

    public init(
        ring: TransitionRing, writer: DatasetWriter?, startNanos: UInt64, feedsTrainer: Bool, decisionTicks: Int = 1,
        extraSinks: [any TransitionSink] = []
    ) {
        precondition(decisionTicks >= 1, "decisionTicks must be at least 1")
        self.decisionTicks = decisionTicks
        self.ring = ring
        self.feedsTrainer = feedsTrainer
        sink = Sink(S: ring.observationCount, A: ring.actionCount, startNanos: startNanos, feedsTrainer: feedsTrainer,
                    decisionTicks: decisionTicks)
        logger = TransitionLogger(ring: ring, writer: writer, sink: TransitionSinkGroup.combining([sink] + extraSinks))
    }

    /// Records drained from the ring so far (any thread).
    public var recordsDrained: UInt64 { logger.drainedRecords }

    /// The first dataset write error, if any (any thread but the control thread).
    public var failure: DatasetError? { logger.failure }

    /// Episodes finished so far, oldest first (any thread; allocates).
    public var episodes: [EpisodeRecord] { sink.finished.withLock { $0 } }

    /// Takes every transition logged since the last call (trainer thread).
    public func takeTransitions() -> Pending {
        sink.pending.withLock { p in
            let out = p
            p = Pending()
            return out
        }
    }

    public func start() throws(SystemError) { try logger.start() }

    /// Drains what is left, stops the thread, closes the dataset; returns the first write error.
    @discardableResult
    public func stop() -> DatasetError? { logger.stop() }

    /// Drains the ring on the calling thread (tests; never while the logger thread runs).
    func drainForLoading() { logger.drain() }

    /// The logger thread's per-record work: pairing, episode table, trajectories.
    final class Sink: TransitionSink, @unchecked Sendable {
        let S: Int
        let A: Int
        let startNanos: UInt64
        let feedsTrainer: Bool
        var keepsTrajectories = false
        let pending = Mutex(Pending())
        let finished = Mutex([EpisodeRecord]())
        private let pairing: TransitionPairing
        private var batch = Pending()
        private var ended: [EpisodeRecord] = []
        private var current: EpisodeRecord?
        private var trajectory = RealTrajectory(observations: [], actions: [])

        init(S: Int, A: Int, startNanos: UInt64, feedsTrainer: Bool, decisionTicks: Int) {
            self.S = S
            self.A = A
            self.startNanos = startNanos
            self.feedsTrainer = feedsTrainer
            pairing = TransitionPairing(observationCount: S, actionCount: A, decisionTicks: decisionTicks)
        }

        func record(_ h: TransitionHeader, observation: UnsafeBufferPointer<Float>, action: UnsafeBufferPointer<Float>) {
            let t = Double(h.timestampNanos &- startNanos) / 1e9
            if h.flags.contains(.episodeStart) {
                if var open = current {  // an episode that never saw its end record
                    open.aborted = true
                    ended.append(open)
                }
                current = EpisodeRecord(
                    episode: h.episode, startSeconds: t, endSeconds: t, ticks: 0, episodeReturn: 0,
                    policyVersion: h.policyVersion, aborted: false, lateTicks: 0)
                trajectory.observations.removeAll(keepingCapacity: true)
                trajectory.actions.removeAll(keepingCapacity: true)
            }
            if keepsTrajectories && current != nil && !h.flags.contains(.aborted) {
                trajectory.observations += observation
                trajectory.actions += action
            }
            if feedsTrainer {
                pairing.add(h, observation: observation, action: action) { batch.append($0) }
            }
            if current != nil {
                current!.ticks += 1
                current!.episodeReturn += Double(h.reward)
                current!.endSeconds = t
                if h.flags.contains(.late) { current!.lateTicks += 1 }
                if h.flags.contains(.exploring) { current!.exploring = true }
            }
            if !h.flags.isDisjoint(with: [.terminal, .timeout, .aborted]) {
                if var e = current {
                    e.aborted = h.flags.contains(.aborted)
                    ended.append(e)
                    if keepsTrajectories && !e.aborted && feedsTrainer { batch.trajectories.append(trajectory) }
                }
                current = nil
            }
        }

        func drained() {
            if feedsTrainer && (batch.count > 0 || !batch.trajectories.isEmpty) {
                pending.withLock { p in
                    p.trajectories += batch.trajectories
                    p.observations += batch.observations
                    p.actions += batch.actions
                    p.rewards += batch.rewards
                    p.nextObservations += batch.nextObservations
                    p.terminals += batch.terminals
                }
                batch = Pending()
            }
            if !ended.isEmpty {
                finished.withLock { $0 += ended }
                ended.removeAll(keepingCapacity: true)
            }
        }
    }
}
