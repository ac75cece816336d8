import Synchronization

/// Why an episode of the control loop ended.
public enum EpisodeEndReason: UInt8, Sendable, CustomStringConvertible {
    /// The operator pressed "next".
    case next
    /// The task's episode length was reached.
    case timeLimit
    /// The task reported a terminal state.
    case terminal
    /// The operator (or the caller) stopped the loop.
    case stop
    /// The operator pressed "redo": the episode is discarded.
    case redo
    /// A safety stop (e-stop, fault, limit) aborted the episode.
    case safetyStop

    public var description: String {
        switch self {
        case .next: "next"
        case .timeLimit: "time limit"
        case .terminal: "terminal"
        case .stop: "stop"
        case .redo: "redo"
        case .safetyStop: "safety stop"
        }
    }
}

/// An episode's end as the control thread reports it. Plain value, never allocates.
/// (`EpisodeEntry` in H2OTrainer turns it into an episode-table line.)
public struct EpisodeOutcome: Sendable, Equatable {
    public var episode: UInt32
    public var discarded: Bool
    public var reason: EpisodeEndReason
    public var firstTimestampNanos: UInt64
    public var lastTimestampNanos: UInt64
    public var firstTick: UInt64
    public var lastTick: UInt64
    public var records: Int

    public init(
        episode: UInt32, discarded: Bool, reason: EpisodeEndReason, firstTimestampNanos: UInt64,
        lastTimestampNanos: UInt64, firstTick: UInt64, lastTick: UInt64, records: Int
    ) {
        self.episode = episode
        self.discarded = discarded
        self.reason = reason
        self.firstTimestampNanos = firstTimestampNanos
        self.lastTimestampNanos = lastTimestampNanos
        self.firstTick = firstTick
        self.lastTick = lastTick
        self.records = records
    }
}

/// A preallocated single-producer/single-consumer queue of episode outcomes, from the control
/// thread to the thread that writes the episode table.
///
/// Thread contract: single producer (`push`, the control thread); single consumer (`pop`, the
/// set-up/main thread); `dropped` from any thread.
public final class EpisodeOutcomeQueue: @unchecked Sendable {
    public let capacity: Int
    private let storage: UnsafeMutablePointer<EpisodeOutcome>
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)

    public init(capacity: Int = 256) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
        storage.initialize(
            repeating: EpisodeOutcome(
                episode: 0, discarded: false, reason: .next, firstTimestampNanos: 0, lastTimestampNanos: 0,
                firstTick: 0, lastTick: 0, records: 0),
            count: capacity)
    }

    deinit { storage.deallocate() }

    /// Enqueues `o`; returns false (and counts it) if the queue is full.
    /// Real-time safe: does not allocate, lock or throw.
    @discardableResult
    public func push(_ o: EpisodeOutcome) -> Bool {
        let h = head.load(ordering: .relaxed)
        if h - tail.load(ordering: .acquiring) >= capacity {
            droppedCount.add(1, ordering: .relaxed)
            return false
        }
        storage[h % capacity] = o
        head.store(h + 1, ordering: .releasing)
        return true
    }

    /// Dequeues the oldest outcome, or nil. Consumer thread only.
    public func pop() -> EpisodeOutcome? {
        let t = tail.load(ordering: .relaxed)
        guard t < head.load(ordering: .acquiring) else { return nil }
        let o = storage[t % capacity]
        tail.store(t + 1, ordering: .releasing)
        return o
    }

    /// Outcomes lost because the queue was full.
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }
}
