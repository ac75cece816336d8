import Foundation
import Synchronization
import SystemSupport

/// What the supervising thread decides after a run of the loop ended.
public enum LoopRestart: Sendable, Equatable {
    /// The run is over: `LoopRunner.run` returns this outcome.
    case finish
    /// Run the loop again (the caller has cleared what had to be cleared, e.g. `clearStop`).
    case restart
}

/// Runs a `ControlLoop` on its own thread with the real-time set-up (SCHED_FIFO, CPU
/// affinity, mlockall, denormals; each refused setting warns once and the loop goes on) and
/// supervises it from the calling thread: `supervise` runs every `superviseNanos` while the
/// loop runs, and after each run `restart` decides whether the loop runs again (the restart
/// policy: which latched stops are recoverable, how many restarts, what to clear). Used by
/// `robotctl run`/`eval` (the on-robot session) and `robotctl teleop`.
///
/// With SCHED_FIFO asked for, the kernel's unbound kworkers (which carry a serial port's or
/// pseudo-terminal's received bytes to the reader, and which the loop's `read` waits for) run
/// at SCHED_FIFO `ttyWorkerPriority` while the loop runs (`TTYWorkerPriority`, refreshed every
/// 250 ms from the supervising thread, put back at the end): at normal priority a loaded
/// machine starved them and the loop with them (issue 13).
///
/// Thread contract: `run` on one set-up thread, which is the only one calling `supervise` and
/// `restart`; `realtime` from any thread.
public final class LoopRunner<Task: ControlTask, Source: ActionSource>: @unchecked Sendable {
    public let loop: ControlLoop<Task, Source>
    public let options: RealtimeOptions
    public let threadName: String
    /// Restarts so far (runs after the first).
    public private(set) var restarts = 0
    private let shared = Outcome()

    /// SCHED_FIFO priority of the unbound kworkers while the loop runs (nil: left alone).
    public let ttyWorkerPriority: Int32?
    /// Kworkers at `ttyWorkerPriority` at the last refresh (0: none, or not permitted).
    public private(set) var ttyWorkersRaised = 0

    /// `threadName`: at most 15 characters are shown by `top -H`. `ttyWorkerPriority`: by
    /// default 20 below the loop's SCHED_FIFO priority (60 for 80), nil without SCHED_FIFO.
    public init(loop: ControlLoop<Task, Source>, realtime: RealtimeOptions, threadName: String = "robotctl-loop",
                ttyWorkerPriority: Int32?? = nil) {
        self.loop = loop
        options = realtime
        self.threadName = threadName
        self.ttyWorkerPriority = ttyWorkerPriority ?? realtime.fifoPriority.map { max(1, $0 - 20) }
    }

    /// The real-time settings the control thread got, in words ("SCHED_FIFO 80, mlockall, CPU
    /// 3" or what was refused), once the first run has started.
    public var realtime: String { shared.realtime.withLock { $0 } }

    /// The control thread's real-time report (nil before the first run started).
    public var realtimeReport: RealtimeReport? { shared.report.withLock { $0 } }

    /// Runs the loop until `restart` says `.finish`; returns the last run's outcome. Throws
    /// when the control thread cannot be created (`SystemError`) or `restart` throws.
    public func run(
        superviseNanos: UInt64 = 20_000_000, supervise: () -> Void = {},
        restart: (Result<LoopResult, ControlLoopError>) throws -> LoopRestart = { _ in .finish }
    ) throws -> Result<LoopResult, ControlLoopError> {
        let loop = self.loop, options = self.options, shared = self.shared
        let workers = ttyWorkerPriority.map { TTYWorkerPriority(priority: $0) }
        defer { workers?.restore() }
        var nextRefresh: UInt64 = 0
        func refreshWorkers() {
            guard let workers, monotonicNanos() >= nextRefresh else { return }
            ttyWorkersRaised = workers.refresh()
            nextRefresh = monotonicNanos() &+ 250_000_000
        }
        while true {
            refreshWorkers()
            shared.result.withLock { $0 = nil }
            let thread = try NativeThread(name: threadName) {
                let report = RealtimeSetup.apply(options)
                shared.report.withLock { $0 = report }
                shared.realtime.withLock { $0 = report.summary }
                if let w = report.warning, !shared.warned.exchange(true, ordering: .relaxed) {
                    FileHandle.standardError.write(Data("warning: \(w)\n".utf8))
                }
                let r = Result { () throws(ControlLoopError) in try loop.run() }
                shared.result.withLock { $0 = r }
            }
            while shared.result.withLock({ $0 == nil }) {
                usleep(useconds_t(min(superviseNanos / 1000, 1_000_000)))
                refreshWorkers()
                supervise()
            }
            thread.join()
            let outcome = shared.result.withLock { $0! }
            guard try restart(outcome) == .restart else { return outcome }
            restarts += 1
        }
    }

    private final class Outcome: Sendable {
        let result = Mutex<Result<LoopResult, ControlLoopError>?>(nil)
        let report = Mutex<RealtimeReport?>(nil)
        let realtime = Mutex("not applied")
        let warned = Atomic<Bool>(false)
    }
}

extension RealtimeReport {
    /// "SCHED_FIFO 80, mlockall, CPU 3" or "normal scheduling, memory not locked, any CPU",
    /// with the warning in parentheses.
    public var summary: String {
        [
            fifoPriority.map { "SCHED_FIFO \($0)" } ?? "normal scheduling",
            memoryLocked ? "mlockall" : "memory not locked",
            cpu.map { "CPU \($0)" } ?? "any CPU",
        ].joined(separator: ", ") + (warning.map { " (\($0))" } ?? "")
    }
}
