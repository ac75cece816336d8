import Foundation
import SystemSupport

/// The loop's timing and event counters: one histogram per stage plus wake-up latency and
/// period error, and event counts. Preallocated.
///
/// Thread contract: single writer (the control thread); readers on any thread call
/// `snapshot()` without locks (relaxed atomics per cell, see `LatencyHistogram`).
public final class LoopStatistics: @unchecked Sendable {
    /// `woke - deadline` of each tick (cyclictest's latency).
    public let wakeLatency = LatencyHistogram()
    /// |actual start-to-start interval - period| of consecutive ticks.
    public let periodError = LatencyHistogram()
    /// `RobotInterface.read`.
    public let read = LatencyHistogram()
    /// Observation, policy inference and the safety filter.
    public let infer = LatencyHistogram()
    /// `RobotInterface.write`.
    public let write = LatencyHistogram()
    /// Reward and the push into the transition ring.
    public let record = LatencyHistogram()
    /// From wake-up to the end of the tick's work.
    public let total = LatencyHistogram()

    /// Event counters. `episodes` counts started episodes; `records` the ticks recorded (handed
    /// to the ring, or not recorded for want of one); `keptEpisodes`/`discardedEpisodes` the
    /// finished ones ("redo" discards); `episode` is the number of the episode being recorded
    /// (or the next one), `episodeTick` its records so far, `phase` a `LoopPhase` raw value.
    public enum Counter: Int, CaseIterable, Sendable {
        case ticks, missedDeadlines, overruns, readFailures, writeFailures, ringDrops, safetyModified,
             policySwaps, episodes, policyVersion, records, keptEpisodes, discardedEpisodes, episode, episodeTick, phase
    }

    /// Where the loop is (from the `phase` counter), from any thread.
    public var phase: LoopPhase { LoopPhase(rawValue: UInt8(truncatingIfNeeded: value(.phase))) ?? .finished }
    private let counters: UnsafeMutablePointer<UInt64>
    /// The last good read's joint count, then positions and velocities (Float bit patterns).
    private let joints: UnsafeMutablePointer<UInt64>

    public init() {
        counters = .allocate(capacity: Counter.allCases.count)
        counters.initialize(repeating: 0, count: Counter.allCases.count)
        joints = .allocate(capacity: 1 + 2 * maxJoints)
        joints.initialize(repeating: 0, count: 1 + 2 * maxJoints)
    }

    deinit {
        counters.deallocate()
        joints.deallocate()
    }

    /// Publishes a good read's joint positions and velocities for status displays (each
    /// value is its own relaxed atomic: a reader may see joints of neighbouring ticks).
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func publishJoints(_ state: RobotState) {
        let n = min(max(state.jointCount, 0), maxJoints)
        for i in 0..<n {
            atomicStoreRelaxed(joints + 1 + i, UInt64(state.position[i].bitPattern))
            atomicStoreRelaxed(joints + 1 + maxJoints + i, UInt64(state.velocity[i].bitPattern))
        }
        atomicStoreRelaxed(joints, UInt64(n))
    }

    /// Joints of the last published read (0 before the first), from any thread.
    public var publishedJointCount: Int { Int(atomicLoadRelaxed(joints)) }
    /// Joint `i`'s position and velocity at the last published read, from any thread.
    public func jointPosition(_ i: Int) -> Float {
        guard i >= 0 && i < maxJoints else { return 0 }
        return Float(bitPattern: UInt32(truncatingIfNeeded: atomicLoadRelaxed(joints + 1 + i)))
    }
    public func jointVelocity(_ i: Int) -> Float {
        guard i >= 0 && i < maxJoints else { return 0 }
        return Float(bitPattern: UInt32(truncatingIfNeeded: atomicLoadRelaxed(joints + 1 + maxJoints + i)))
    }

    /// Adds `n` to a counter. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func add(_ c: Counter, _ n: UInt64 = 1) {
        let p = counters + c.rawValue
        atomicStoreRelaxed(p, atomicLoadRelaxed(p) &+ n)
    }

    /// Sets a counter (e.g. the current policy version). Real-time safe.
    @inline(__always)
    public func set(_ c: Counter, _ v: UInt64) { atomicStoreRelaxed(counters + c.rawValue, v) }

    /// A counter's current value, from any thread.
    public func value(_ c: Counter) -> UInt64 { atomicLoadRelaxed(counters + c.rawValue) }

    /// Clears everything. Only while the loop is not running.
    public func reset() {
        for h in [wakeLatency, periodError, read, infer, write, record, total] { h.reset() }
        for c in Counter.allCases { atomicStoreRelaxed(counters + c.rawValue, 0) }
        for i in 0...(2 * maxJoints) { atomicStoreRelaxed(joints + i, 0) }
    }

    /// A copy of everything, from any thread (allocates).
    public func snapshot() -> LoopStatisticsSnapshot {
        LoopStatisticsSnapshot(
            wakeLatency: wakeLatency.snapshot(), periodError: periodError.snapshot(), read: read.snapshot(),
            infer: infer.snapshot(), write: write.snapshot(), record: record.snapshot(), total: total.snapshot(),
            counters: Dictionary(uniqueKeysWithValues: Counter.allCases.map { ($0, value($0)) }))
    }
}

/// Where a control loop is.
public enum LoopPhase: UInt8, Sendable, CustomStringConvertible {
    /// Unrecorded reset between episodes (the task's reset, or the operator driving).
    case resetting
    /// Running an episode: every tick is a record.
    case recording
    /// The stop behaviour is running (hold or park, then torque off).
    case stopping
    /// Torque is off; `run` has returned or is about to.
    case finished

    public var description: String {
        switch self {
        case .resetting: "reset"
        case .recording: "recording"
        case .stopping: "stopping"
        case .finished: "finished"
        }
    }
}

/// A point-in-time copy of `LoopStatistics`.
public struct LoopStatisticsSnapshot: Sendable {
    public var wakeLatency, periodError, read, infer, write, record, total: HistogramSnapshot
    public var counters: [LoopStatistics.Counter: UInt64]
    public subscript(_ c: LoopStatistics.Counter) -> UInt64 { counters[c] ?? 0 }

    /// Stages whose p99 exceeds their share of the period, as one-line warnings
    /// (ros2_control-style thresholds: total > 50 % of the period, wake-up > 20 %).
    public func warnings(periodNanos: UInt64) -> [String] {
        var w: [String] = []
        let us = { (v: UInt64) in String(format: "%.1f µs", Double(v) / 1000) }
        if total.percentile(0.99) > periodNanos / 2 {
            w.append("tick compute p99 \(us(total.percentile(0.99))) exceeds half the \(us(periodNanos)) period")
        }
        if wakeLatency.percentile(0.99) > periodNanos / 5 {
            w.append("wake-up latency p99 \(us(wakeLatency.percentile(0.99))) exceeds 20 % of the period; grant SCHED_FIFO")
        }
        if self[.missedDeadlines] > 0 { w.append("\(self[.missedDeadlines]) deadlines missed") }
        if self[.ringDrops] > 0 { w.append("\(self[.ringDrops]) transitions dropped (logger too slow)") }
        return w
    }
}
