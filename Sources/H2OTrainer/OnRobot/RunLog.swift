import Foundation
import Synchronization

/// One row of events.csv: a safety event, a rejected or rolled-back policy, a trainer fault.
public struct RunEvent: Sendable, Equatable {
    public var seconds: Double
    public var tick: UInt64
    /// Short machine-readable kind, e.g. `safety_stop`, `policy_rejected`, `trainer_diverged`.
    public var kind: String
    public var detail: String
    public init(seconds: Double, tick: UInt64, kind: String, detail: String) {
        self.seconds = seconds
        self.tick = tick
        self.kind = kind
        self.detail = detail
    }
}

/// One row of policy_swaps.csv: a policy published into the slot.
public struct PolicySwap: Sendable, Equatable {
    public var seconds: Double
    /// Loop ticks so far when it was published (the loop takes it at its next tick boundary).
    public var tick: UInt64
    public var version: UInt64
    public var trainerUpdates: Int
    /// Onboard-simulator validation return of the published policy.
    public var validationReturn: Double

    public init(seconds: Double, tick: UInt64, version: UInt64, trainerUpdates: Int, validationReturn: Double) {
        self.seconds = seconds
        self.tick = tick
        self.version = version
        self.trainerUpdates = trainerUpdates
        self.validationReturn = validationReturn
    }
}

/// One row of trainer_metrics.csv: means over one block of updates.
public struct TrainerMetricsRow: Sendable, Equatable {
    public var step: Int
    public var seconds: Double
    public var values: [Float]
}

/// The session's shared, append-only logs. Thread contract: any thread except the control
/// thread (the methods lock).
public final class RunLog: Sendable {
    public let startNanos: UInt64
    private let state = Mutex(State())
    struct State {
        var events: [RunEvent] = []
        var swaps: [PolicySwap] = []
        var metrics: [TrainerMetricsRow] = []
        var metricNames: [String] = []
    }

    public init(startNanos: UInt64) { self.startNanos = startNanos }

    public func seconds(at nanos: UInt64) -> Double { Double(nanos &- startNanos) / 1e9 }

    public func event(_ kind: String, _ detail: String, tick: UInt64, at nanos: UInt64) {
        let e = RunEvent(seconds: seconds(at: nanos), tick: tick, kind: kind, detail: detail)
        state.withLock { $0.events.append(e) }
    }

    public func swap(_ s: PolicySwap) { state.withLock { $0.swaps.append(s) } }

    public func metrics(names: [String], row: TrainerMetricsRow) {
        state.withLock {
            if $0.metricNames.isEmpty { $0.metricNames = names }
            $0.metrics.append(row)
        }
    }

    public var events: [RunEvent] { state.withLock { $0.events } }
    public var swaps: [PolicySwap] { state.withLock { $0.swaps } }
    public var metrics: (names: [String], rows: [TrainerMetricsRow]) { state.withLock { ($0.metricNames, $0.metrics) } }
}
