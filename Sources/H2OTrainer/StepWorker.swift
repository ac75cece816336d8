import Control
import Foundation
import Synchronization

/// A persistent second thread for the two-thread training step: started once, then handed one
/// job at a time (`post`, then `wait`) without allocating or locking on the way.
///
/// Handoff: generation counters in `Atomic`s. Each side spins on the other's counter for a few
/// microseconds, then parks on a semaphore; a parked flag written before the final re-check
/// (sequentially consistent on both sides) guarantees that a wake-up is never lost. A job is a
/// plain function and a context pointer, so posting one allocates nothing.
///
/// Floating point: each job runs under the owner's floating-point environment at `post`
/// (`fegetenv`/`fesetenv`: rounding, and flush-to-zero/denormals-are-zero in MXCSR or FPCR), so
/// a split step computes exactly what the owner alone would.
/// Memory contract: everything the owner wrote before `post` is visible to the job, and
/// everything the job wrote is visible to the owner after `wait` returns (release/acquire on
/// the counters). Between the two, owner and job must touch disjoint memory.
/// Thread contract: `post`, `wait` and `shutdown` from one owner thread; `post` only when the
/// previous job has been waited for. Allocation: `init` allocates (the thread); nothing else does.
public final class StepWorker: @unchecked Sendable {
    /// A job: runs on the worker thread with the context pointer given to `post`.
    public typealias Job = (UnsafeMutableRawPointer) -> Void

    private let posted = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let workerParked = Atomic<Bool>(false)
    private let ownerParked = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let wakeWorker = DispatchSemaphore(value: 0)
    private let wakeOwner = DispatchSemaphore(value: 0)
    /// Written by the owner before `posted` is released; read by the worker after acquiring it.
    private var job: Job = { _ in }
    private var context: UnsafeMutableRawPointer?
    private var environment = fenv_t()
    private var generation = 0
    private var thread: NativeThread?

    /// Polls of the other side's counter before parking (a few microseconds).
    static let spinLimit = 20_000

    /// Starts the worker thread (named `name`, pinned to `cpu` when given), which parks until
    /// the first `post`. Allocates.
    public init(name: String = "h2o-step-worker", cpu: Int32? = nil) throws(SystemError) {
        thread = try NativeThread(name: name) { [self] in
            if let cpu {
                _ = RealtimeSetup.apply(RealtimeOptions(fifoPriority: nil, cpu: cpu, lockMemory: false, flushDenormals: false))
            }
            workerLoop()
        }
    }

    /// Hands `job(context)` to the worker. Real-time safe: does not allocate, lock or throw.
    public func post(_ job: @escaping Job, context: UnsafeMutableRawPointer) {
        self.job = job
        self.context = context
        fegetenv(&environment)
        generation += 1
        posted.store(generation, ordering: .sequentiallyConsistent)
        if workerParked.load(ordering: .sequentiallyConsistent) { wakeWorker.signal() }
    }

    /// Returns once the last posted job has finished. Does not allocate or throw.
    public func wait() {
        var spins = 0
        while finished.load(ordering: .acquiring) != generation {
            spins += 1
            if spins < Self.spinLimit { continue }
            ownerParked.store(true, ordering: .sequentiallyConsistent)
            if finished.load(ordering: .sequentiallyConsistent) != generation { wakeOwner.wait() }
            ownerParked.store(false, ordering: .sequentiallyConsistent)
            spins = 0
        }
    }

    /// Stops and joins the thread (idempotent). Call from the owner, with no job outstanding.
    public func shutdown() {
        guard let thread else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        wakeWorker.signal()
        thread.join()
        self.thread = nil
    }

    deinit { shutdown() }

    private func workerLoop() {
        var seen = 0
        while true {
            var spins = 0
            while posted.load(ordering: .acquiring) == seen {
                if stopping.load(ordering: .acquiring) { return }
                spins += 1
                if spins < Self.spinLimit { continue }
                workerParked.store(true, ordering: .sequentiallyConsistent)
                if posted.load(ordering: .sequentiallyConsistent) == seen
                    && !stopping.load(ordering: .sequentiallyConsistent)
                {
                    wakeWorker.wait()
                }
                workerParked.store(false, ordering: .sequentiallyConsistent)
                spins = 0
            }
            seen += 1
            fesetenv(&environment)
            job(context!)
            finished.store(seen, ordering: .sequentiallyConsistent)
            if ownerParked.load(ordering: .sequentiallyConsistent) { wakeOwner.signal() }
        }
    }
}
