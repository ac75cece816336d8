import Synchronization

/// An in-memory digital input for tests and for runs without GPIO (a software e-stop).
///
/// Thread contract: any thread; every method is real-time safe (atomics only).
public final class InMemoryDigitalInput: DigitalInput, Sendable {
    private let asserted = Atomic<Bool>(false)
    private let pendingEdges = Atomic<Int>(0)
    private let unreadable = Atomic<Bool>(false)

    public init(asserted: Bool = false) { self.asserted.store(asserted, ordering: .relaxed) }

    /// The button goes down (one edge; the level stays asserted).
    public func press() {
        if !asserted.exchange(true, ordering: .acquiringAndReleasing) {
            pendingEdges.add(1, ordering: .releasing)
        }
    }

    /// The button comes up (one edge).
    public func release() {
        if asserted.exchange(false, ordering: .acquiringAndReleasing) {
            pendingEdges.add(1, ordering: .releasing)
        }
    }

    /// A press and release between two polls: two edges, the level ends released.
    public func tap() {
        asserted.store(false, ordering: .releasing)
        pendingEdges.add(2, ordering: .releasing)
    }

    /// Makes `level()` fail (-1) as a broken line would.
    public func setUnreadable(_ failing: Bool) { unreadable.store(failing, ordering: .releasing) }

    public func drainEdges() -> Int { pendingEdges.exchange(0, ordering: .acquiringAndReleasing) }

    public func level() -> Int32 {
        if unreadable.load(ordering: .acquiring) { return -1 }
        return asserted.load(ordering: .acquiring) ? 1 : 0
    }
}

/// An in-memory digital output that records what it was driven to.
///
/// Thread contract: any thread; every method is real-time safe (atomics only).
public final class InMemoryDigitalOutput: DigitalOutput, Sendable {
    private let state = Atomic<Bool>(false)
    private let writes = Atomic<Int>(0)
    private let failing = Atomic<Bool>(false)

    public init() {}

    /// The value last driven.
    public var value: Bool { state.load(ordering: .acquiring) }
    /// How many successful writes were made.
    public var writeCount: Int { writes.load(ordering: .acquiring) }
    /// Makes `drive` fail as a broken line would.
    public func setFailing(_ fail: Bool) { failing.store(fail, ordering: .releasing) }

    public func drive(_ on: Bool) -> Bool {
        if failing.load(ordering: .acquiring) { return false }
        state.store(on, ordering: .releasing)
        writes.add(1, ordering: .relaxed)
        return true
    }
}
