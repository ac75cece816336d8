import Synchronization

/// A preallocated single-producer/single-consumer ring of transition payloads
/// (`TransitionLayout`, the on-disk payload layout), from the control loop to the logger.
///
/// The producer never blocks: when the ring is full the transition is dropped and counted,
/// and the next transition that fits carries the number dropped before it (`droppedBefore`).
///
/// Thread contract: single producer (`push`, the control thread); single consumer (`pop`,
/// `markConsumerFailed`, the logger thread); `droppedTotal`/`count`/`consumerFailed` from any thread.
public final class TransitionRing: @unchecked Sendable {
    public let capacity: Int
    public let observationCount: Int
    public let actionCount: Int
    /// Bytes per slot (the payload size).
    public let slotBytes: Int
    private let storage: UnsafeMutableRawPointer
    private let mask: Int
    /// Next slot the producer writes (released after the write).
    private let head = Atomic<Int>(0)
    /// Next slot the consumer reads (released after the read).
    private let tail = Atomic<Int>(0)
    private let dropped = Atomic<UInt64>(0)
    /// Set by the consumer when it can no longer store what it pops (a write error).
    private let consumerFailure = Atomic<Bool>(false)
    // Producer-owned.
    private var pendingDrops: UInt32 = 0
    private var cachedTail = 0

    /// `capacity` is rounded up to a power of two.
    public init(capacity: Int, observationCount: Int, actionCount: Int) {
        precondition(capacity > 0 && observationCount > 0 && actionCount > 0)
        var c = 1
        while c < capacity { c <<= 1 }
        self.capacity = c
        self.mask = c - 1
        self.observationCount = observationCount
        self.actionCount = actionCount
        slotBytes = TransitionLayout.payloadBytes(observationCount: observationCount, actionCount: actionCount)
        storage = .allocate(byteCount: c * slotBytes, alignment: 64)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: c * slotBytes)
    }

    deinit { storage.deallocate() }

    /// Encodes and enqueues one transition; returns false (and counts a drop) if the ring is
    /// full. Producer thread only. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    @discardableResult
    public func push(_ header: TransitionHeader, observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Bool {
        let h = head.load(ordering: .relaxed)
        if h - cachedTail >= capacity {
            cachedTail = tail.load(ordering: .acquiring)
            if h - cachedTail >= capacity {
                pendingDrops &+= 1
                dropped.add(1, ordering: .relaxed)
                return false
            }
        }
        var hdr = header
        hdr.droppedBefore = pendingDrops
        TransitionLayout.encode(
            hdr, observation: observation, observationCount: observationCount, action: action,
            actionCount: actionCount, into: storage + (h & mask) * slotBytes)
        pendingDrops = 0
        head.store(h + 1, ordering: .releasing)
        return true
    }

    /// Hands the oldest payload to `body` and frees its slot; returns false if the ring is
    /// empty. Consumer thread only. Real-time safe if `body` is.
    @inline(__always)
    public func pop(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Bool {
        let t = tail.load(ordering: .relaxed)
        guard head.load(ordering: .acquiring) != t else { return false }
        try body(UnsafeRawBufferPointer(start: storage + (t & mask) * slotBytes, count: slotBytes))
        tail.store(t + 1, ordering: .releasing)
        return true
    }

    /// The consumer reports that it cannot store records any more (disk full, I/O error).
    /// Consumer thread; the control loop reads it every tick and latches a safety stop.
    public func markConsumerFailed() { consumerFailure.store(true, ordering: .releasing) }

    /// True once the consumer has failed (any thread; one atomic load, real-time safe).
    @inline(__always)
    public var consumerFailed: Bool { consumerFailure.load(ordering: .relaxed) }

    /// Transitions dropped because the ring was full, since init (any thread).
    public var droppedTotal: UInt64 { dropped.load(ordering: .relaxed) }
    /// Payloads waiting (any thread; approximate while both sides run).
    public var count: Int { head.load(ordering: .relaxed) - tail.load(ordering: .relaxed) }
}
