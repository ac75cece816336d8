import Control
import Foundation
import Synchronization

/// The on-robot trainer: a thread at normal priority that keeps fine-tuning a `TrainingRun`
/// (K sim steps, M updates, repeat) and, every `publishEvery` updates, validates the candidate
/// policy and publishes it into the control loop's policy slot.
///
/// Validation: every policy parameter finite, and a deterministic evaluation of
/// `validationEpisodes` episodes in the run's evaluation environment with a finite return that
/// is at least `minimumReturn` (when set). Publishing is `PolicySlot.publish(parameters:)`: one
/// copy and one atomic exchange, so the control thread is never blocked or made to wait.
///
/// Thread contract: `start` and `stop` from one owner thread; the trainer thread is the slot's
/// single producer. Counters are atomics readable from any thread. A NaN loss stops the thread
/// (`stopReason`) without publishing.
public final class TrainerThread<
    SimEnv: TaskEnvironment & SendableMetatype, EvalEnv: TaskEnvironment & SendableMetatype, Policy: SlotPolicy & SendableMetatype
>: @unchecked Sendable {
    /// Updates between publishing attempts (P).
    public let publishEvery: Int
    /// Deterministic episodes per validation.
    public let validationEpisodes: Int
    /// Lowest acceptable validation return (nil: any finite return).
    public let minimumReturn: Double?

    let run: TrainingRun<SimEnv, EvalEnv>
    let slot: PolicySlot<Policy>
    let stopRequested = Atomic<Bool>(false)
    let updateCounter = Atomic<Int>(0)
    let publishedCounter = Atomic<Int>(0)
    let rejectedCounter = Atomic<Int>(0)
    let finished = Atomic<Bool>(false)
    private let doneSignal = DispatchSemaphore(value: 0)
    private var thread: Thread?
    /// Why the thread stopped on its own (set before `isFinished` becomes true).
    public private(set) var stopReason: TrainerError?
    /// Validation return of the last published policy.
    public private(set) var lastPublishedReturn: Double?

    /// A trainer for `run` publishing into `slot`; `slot`'s policy must have the run's policy
    /// network layout. Nothing runs until `start`.
    public init(
        run: TrainingRun<SimEnv, EvalEnv>, slot: PolicySlot<Policy>, publishEvery: Int = 1000, validationEpisodes: Int = 1,
        minimumReturn: Double? = nil
    ) {
        precondition(publishEvery >= 1 && validationEpisodes >= 1, "TrainerThread: publishEvery and validationEpisodes must be ≥ 1")
        self.run = run
        self.slot = slot
        self.publishEvery = publishEvery
        self.validationEpisodes = validationEpisodes
        self.minimumReturn = minimumReturn
    }

    /// Updates done so far (any thread).
    public var updates: Int { updateCounter.load(ordering: .relaxed) }
    /// Candidates published so far (any thread).
    public var published: Int { publishedCounter.load(ordering: .relaxed) }
    /// Candidates that failed validation (any thread).
    public var rejected: Int { rejectedCounter.load(ordering: .relaxed) }
    /// True once the thread has exited (any thread).
    public var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Starts the thread (normal priority; the caller's real-time settings are not inherited
    /// by Foundation threads).
    public func start() {
        precondition(thread == nil, "TrainerThread.start called twice")
        let t = Thread { [self] in self.loop() }
        t.name = "h2o-trainer"
        t.qualityOfService = .utility
        thread = t
        t.start()
    }

    /// Asks the thread to stop after its current update and waits until it has.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        guard thread != nil else { return }
        doneSignal.wait()
        doneSignal.signal()
    }

    private func loop() {
        defer {
            finished.store(true, ordering: .releasing)
            doneSignal.signal()
        }
        let h = run.hyperparameters
        var sinceCollect = 0
        var sincePublish = 0
        while !stopRequested.load(ordering: .acquiring) {
            if sinceCollect == 0 { run.collect(h.simStepsPerEpoch) }
            do throws(TrainerError) {
                try run.update()
            } catch {
                stopReason = error
                return
            }
            updateCounter.add(1, ordering: .relaxed)
            sinceCollect = (sinceCollect + 1) % max(h.updatesPerEpoch, 1)
            sincePublish += 1
            if sincePublish >= publishEvery {
                sincePublish = 0
                validateAndPublish()
            }
        }
    }

    /// Validates the current policy and publishes it if it passes.
    func validateAndPublish() {
        guard run.agentIsFinite else {
            rejectedCounter.add(1, ordering: .relaxed)
            return
        }
        let r = run.evaluate(episodes: validationEpisodes)
        guard r.isFinite, r >= (minimumReturn ?? -.infinity) else {
            rejectedCounter.add(1, ordering: .relaxed)
            return
        }
        let accepted: Bool = run.withPolicyParameters { p in
            do {
                _ = try slot.publish(parameters: p)
                return true
            } catch {
                return false
            }
        }
        if accepted {
            lastPublishedReturn = r
            publishedCounter.add(1, ordering: .relaxed)
        } else {
            rejectedCounter.add(1, ordering: .relaxed)
        }
    }
}
