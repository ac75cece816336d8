import Foundation
import Synchronization

/// A persistent helper thread that runs one job per training step for `H2OStep`'s
/// two-thread mode: the discriminator update and sim weights run on it while the calling
/// thread computes the policy, target, value and critic forward passes.
///
/// Hand-over without allocation or locks: the caller stores the job's context pointer and
/// publishes it with a release-increment of `posted`; the worker spins (yielding the CPU) on
/// an acquire-load, runs the job, and release-stores `completed`; the caller's `wait` spins on
/// an acquire-load of `completed`.
///
/// Thread contract: one owning thread calls `post` and `wait`, strictly alternating. Set-up
/// (`init`) allocates and starts the thread; `post`/`wait` do not allocate, lock or throw.
final class StepWorker: @unchecked Sendable {
    typealias Job = @convention(c) (UnsafeMutableRawPointer) -> Void

    private let posted = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let exiting = Atomic<Bool>(false)
    private let exited = Atomic<Bool>(false)
    nonisolated(unsafe) private var job: Job?
    nonisolated(unsafe) private var context: UnsafeMutableRawPointer?

    init() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "h2o-step-worker"
        thread.start()
    }

    /// Starts `job(context)` on the worker. Precondition: the previous job was waited for.
    @inline(__always)
    func post(_ job: Job, context: UnsafeMutableRawPointer) {
        self.job = job
        self.context = context
        posted.add(1, ordering: .releasing)
    }

    /// Returns once the last posted job has finished (its writes are then visible).
    @inline(__always)
    func wait() {
        let target = posted.load(ordering: .relaxed)
        var spins = 0
        while completed.load(ordering: .acquiring) != target {
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }

    /// Stops the thread (after its current job) and waits for it to exit.
    func shutdown() {
        exiting.store(true, ordering: .releasing)
        posted.add(1, ordering: .releasing)
        while !exited.load(ordering: .acquiring) { sched_yield() }
    }

    private func loop() {
        var seen = 0
        while true {
            var now = posted.load(ordering: .acquiring)
            var spins = 0
            while now == seen {
                spins += 1
                if spins > 64 { sched_yield() }
                if spins > 200_000 { usleep(100) }
                now = posted.load(ordering: .acquiring)
            }
            seen = now
            if exiting.load(ordering: .acquiring) {
                exited.store(true, ordering: .releasing)
                return
            }
            if let job, let context { job(context) }
            completed.store(now, ordering: .releasing)
        }
    }
}
