import SystemSupport

/// How the loop spaces its ticks.
public enum Pacing: Sendable, Equatable {
    /// Sleep to absolute deadlines `start + k·period` on CLOCK_MONOTONIC.
    case deadlines(periodNanos: UInt64)
    /// No sleeping: ticks run back to back (tests, offline runs). Tick numbers still count up.
    case asFastAsPossible
}

/// Absolute-deadline pacing: `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)` to
/// `start + k·period`. After an overrun it skips to the first deadline still in the future and
/// counts the skipped ones as missed, instead of running a burst of late ticks.
///
/// Thread contract: owned by the control thread. Real-time safe: does not allocate, lock or throw.
public struct DeadlinePacer: Sendable {
    /// One wake-up.
    public struct Wake: Sendable, Equatable {
        /// Deadline index since `start` (skipped deadlines leave gaps).
        public var tick: UInt64
        /// The deadline slept to, ns (CLOCK_MONOTONIC).
        public var deadline: UInt64
        /// When the thread actually ran, ns.
        public var woke: UInt64
        /// Deadlines skipped just before this one.
        public var missed: UInt64
        /// What the thread slept to: `deadline`, or earlier by the `early` margin it asked for.
        public var target: UInt64
        /// `woke - target`: the OS's wake-up latency (what cyclictest calls latency).
        public var latency: UInt64 { woke &- target }
    }

    public let pacing: Pacing
    public private(set) var nextDeadline: UInt64 = 0
    public private(set) var nextTick: UInt64 = 0
    public private(set) var missedTotal: UInt64 = 0

    public init(_ pacing: Pacing) { self.pacing = pacing }

    /// Sets tick 0's deadline to `now` (ns) plus one period.
    public mutating func start(now: UInt64 = monotonicNanos()) {
        if case .deadlines(let p) = pacing { nextDeadline = now + p } else { nextDeadline = now }
        nextTick = 0
        missedTotal = 0
    }

    /// The deadline to sleep to when it is `now` and the planned one is `deadline`: the first of
    /// `deadline + k·period` (k ≥ 0) that is still ahead, and k. Pure.
    @inline(__always)
    public static func skipAhead(deadline: UInt64, period: UInt64, now: UInt64) -> (deadline: UInt64, missed: UInt64) {
        guard now >= deadline else { return (deadline, 0) }
        let k = (now - deadline) / period + 1
        return (deadline + k * period, k)
    }

    /// Sleeps until the next deadline, or `early` ns before it (skipping ahead after an overrun),
    /// and returns the wake-up. With `early > 0` the caller does its pre-deadline work and then
    /// waits for `deadline` itself. Real-time safe: does not allocate, lock or throw.
    public mutating func waitForNextTick(early: UInt64 = 0) -> Wake {
        switch pacing {
        case .asFastAsPossible:
            let now = monotonicNanos()
            defer { nextTick += 1 }
            return Wake(tick: nextTick, deadline: now, woke: now, missed: 0, target: now)
        case .deadlines(let period):
            let (deadline, missed) = Self.skipAhead(deadline: nextDeadline, period: period, now: monotonicNanos())
            nextTick += missed
            missedTotal += missed
            let target = deadline - min(early, period / 2)
            sleepUntil(monotonicNanos: target)
            let woke = monotonicNanos()
            let wake = Wake(tick: nextTick, deadline: deadline, woke: woke, missed: missed, target: target)
            nextTick += 1
            nextDeadline = deadline + period
            return wake
        }
    }
}
