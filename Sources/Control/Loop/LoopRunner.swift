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
/// Thread contract: `run` on one set-up thread, which is the only one calling `supervise` and
/// `restart`; `realtime` from any thread.
public final class LoopRunner<Task: ControlTask, Source: ActionSource>: @unchecked Sendable {
    public let loop: ControlLoop<Task, Source>
    public let options: RealtimeOptions
    public let threadName: String
    /// Restarts so far (runs after the first).
    public private(set) var restarts = 0
    private let shared = Outcome()

    /// `threadName`: at most 15 characters are shown by `top -H`.
    public init(loop: ControlLoop<Task, Source>, realtime: RealtimeOptions, threadName: String = "robotctl-loop") {
        self.loop = loop
        options = realtime
        self.threadName = threadName
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
        while true {
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
