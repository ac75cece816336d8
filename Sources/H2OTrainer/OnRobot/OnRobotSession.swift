import Control
import FixedNN
import Foundation
import Synchronization

/// How one on-robot session runs.
public struct OnRobotOptions: Sendable {
    /// Stop after this many seconds of loop time (nil: until `requestStop`).
    public var duration: Double?
    /// Stop after this many finished episodes (nil: no limit). Used by `robotctl eval`.
    public var maxEpisodes: Int?
    /// Run the H2O+ trainer thread and publish improved policies.
    public var finetune: Bool
    /// Where this run's dataset goes (nil: not written, e.g. eval).
    public var datasetDirectory: String?
    /// Real-time settings of the control thread (the loop warns once if refused).
    public var realtime: RealtimeOptions
    /// Deadlines at the task period (the product) or back to back (never used by the product).
    public var pacing: Pacing?
    /// Latched stops the session clears and continues after (others end the run).
    public var recoverable: StopReason = [.nonFiniteAction, .velocityLimit, .watchdog, .nonFiniteObservation]
    /// At most this many automatic restarts after latched stops.
    public var maxRestarts = 200
    /// Loop ticks per policy decision: the loop holds each action this many ticks and the
    /// trainer learns from one transition per decision (`LoopConfiguration.decisionTicks`).
    public var decisionTicks = 1
    /// More sinks for the logger thread's records besides the run's own (e.g. the live view).
    public var extraSinks: [any TransitionSink & Sendable] = []

    public init(duration: Double?, maxEpisodes: Int? = nil, finetune: Bool, datasetDirectory: String?,
                realtime: RealtimeOptions = RealtimeOptions(fifoPriority: 80, cpu: RealtimeOptions.lastCPU)) {
        self.duration = duration
        self.maxEpisodes = maxEpisodes
        self.finetune = finetune
        self.datasetDirectory = datasetDirectory
        self.realtime = realtime
    }
}

/// A point-in-time view of a running session for the one-line status.
public struct OnRobotStatus: Sendable {
    public var seconds: Double
    public var loopHz: Double
    /// Period error (jitter) 99th percentile, microseconds.
    public var jitterP99Micros: Double
    public var missedDeadlines: UInt64
    public var trainerUpdatesPerSecond: Double
    public var trainerUpdates: Int
    public var policyVersion: UInt64
    public var episodes: Int
    public var lastEpisodeReturn: Double?
    public var droppedRecords: UInt64
    public var safetyStops: Int

    /// `loop 200.0 Hz  jitter p99 41 µs  miss 0  train 180 upd/s  policy v3  episode 7 return -812.4  dropped 0`
    public var line: String {
        let ret = lastEpisodeReturn.map { String(format: "%.1f", $0) } ?? "–"
        return String(
            format: "%5.0fs  loop %.1f Hz  jitter p99 %.0f µs  miss %llu  train %.0f upd/s  policy v%llu  episode %d return %@  dropped %llu",
            seconds, loopHz, jitterP99Micros, missedDeadlines, trainerUpdatesPerSecond, policyVersion, episodes, ret,
            droppedRecords)
    }
}

/// Fault injection for tests: what to break, and when.
public struct OnRobotFaults: Sendable {
    /// Publish this policy (finite weights whose actions are NaN) after this many seconds.
    public var nanPolicyAfterSeconds: Double?
    public var nanPolicyParameters: [Float]?
    /// Make the trainer's parameters non-finite at this update.
    public var divergeAtUpdate: Int?
    public init() {}
}

/// Everything a session produced, ready for the run directory.
public struct OnRobotResult: Sendable {
    public var episodes: [EpisodeRecord]
    public var swaps: [PolicySwap]
    public var events: [RunEvent]
    public var metricNames: [String]
    public var metrics: [TrainerMetricsRow]
    public var statistics: LoopStatisticsSnapshot
    public var periodNanos: UInt64
    public var realtime: String
    public var seconds: Double
    public var trainerUpdates: Int
    public var finalPolicyVersion: UInt64
    public var recordsWritten: UInt64
    public var droppedRecords: UInt64
    public var datasetError: String?
    /// Why the run ended ("duration reached", "interrupted", "episodes done", a latched stop).
    public var endReason: String
    /// The parameters of the policy running at the end (to save it).
    public var finalPolicyParameters: [Float]
}

/// The on-robot session: the 200 Hz control loop on its own (real-time) thread, the
/// recorder (logger) thread writing the dataset and feeding the trainer, and — with
/// fine-tuning — the H2O+ trainer thread publishing validated policies into the slot.
///
/// A latched stop of a recoverable kind (a NaN action, a velocity trip, the command watchdog)
/// is logged, a NaN-producing policy is rolled back to the last good version, the stop is
/// cleared and the loop restarts; the safety layer has already held the robot.
///
/// The loop runs `Task` at its control rate; the learner may see the task at the decision
/// rate (`Learn`, e.g. the 20 Hz pendulum when the loop holds each action for 10 of its
/// 200 Hz ticks), so its transitions, discount and simulator match the policy's time step.
///
/// Thread contract: `run` on one set-up thread; `requestStop` from any thread (e.g. a
/// SIGINT flag poller). `run` may be called once.
public final class OnRobotSession<Task: ControlTask, Learn: SimulatedTask>: @unchecked Sendable {
    public let robot: any RobotInterface
    public let task: Task
    public let settings: OnRobotSettings
    public let options: OnRobotOptions
    public let loop: PolicyLoop<Task, DeterministicPolicy>
    public let slot: PolicySlot<DeterministicPolicy>
    public let publisher: PolicyPublisher
    public let ring: TransitionRing
    public let recorder: RunRecorder
    public let log: RunLog
    public var faults = OnRobotFaults()
    let trainer: OnlineTrainer<Learn>?
    private let stopRequested = Atomic<Bool>(false)

    /// Builds everything (allocates, may throw): the slot from `policy`, the loop with the
    /// calibration's safety limits, the dataset writer, and — when `learner` is given and
    /// `options.finetune` — the trainer thread (not started yet).
    public init(
        robot: any RobotInterface, task: Task, policy: DeterministicPolicy, limits: SafetyLimits, schema: DatasetSchema,
        learner: OnlineLearner<Learn>?, settings: OnRobotSettings, options: OnRobotOptions,
        estop: (any EmergencyStopInput)? = nil, outputs: (any StatusOutputs)? = nil
    ) throws {
        self.robot = robot
        self.task = task
        self.settings = settings
        self.options = options
        slot = try PolicySlot(initial: policy)
        publisher = PolicyPublisher(slot: slot, initial: Array(policy.parameters))
        ring = TransitionRing(capacity: 8192, observationCount: task.observationSize, actionCount: task.actionSize)
        let configuration = LoopConfiguration(
            pacing: options.pacing ?? .deadlines(periodNanos: UInt64((task.controlPeriod * 1e9).rounded())),
            maxTicks: nil, resetBetweenEpisodes: true, record: true, decisionTicks: options.decisionTicks)
        loop = try ControlLoop(
            robot: robot, task: task, slot: slot, limits: limits, mode: .torque, ring: ring, estop: estop, outputs: outputs,
            configuration: configuration)
        let start = monotonicNanos()
        log = RunLog(startNanos: start)
        let writer = try options.datasetDirectory.map { try DatasetWriter(directory: $0, schema: schema) }
        recorder = RunRecorder(ring: ring, writer: writer, startNanos: start, feedsTrainer: options.finetune && learner != nil,
                               decisionTicks: options.decisionTicks, extraSinks: options.extraSinks)
        if options.finetune, let learner {
            let stats = loop.statistics
            trainer = OnlineTrainer(
                learner: learner, settings: settings, recorder: recorder, publisher: publisher, log: log,
                loopTicks: { stats.value(.ticks) })
        } else {
            trainer = nil
        }
    }

    /// Calibrates the learner's onboard simulator on the robot from this run's complete
    /// episodes (`OnlineTrainer.calibrate`; the recorder then keeps them tick by tick).
    /// Before `run`; no effect without fine-tuning.
    public func calibrateSimulator(_ fit: @escaping @Sendable ([RealTrajectory]) -> (task: Learn, description: String)?) {
        guard let trainer else { return }
        trainer.calibrate = fit
        recorder.keepsTrajectories = true
    }

    /// Asks the session to finish (orderly stop, then the files). Any thread.
    public func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        loop.requestStop()
    }

    /// Runs until the duration, the episode count, `requestStop` or an unrecoverable stop;
    /// calls `status` about twice a second on this thread. Returns what happened.
    public func run(status: (OnRobotStatus) -> Void) throws -> OnRobotResult {
        trainer?.divergeAtUpdate = faults.divergeAtUpdate
        try recorder.start()
        defer { recorder.stop() }
        try trainer?.start()
        defer { trainer?.stop() }

        let start = log.startNanos
        var activationRetries = 0
        var endReason = "requested"
        var lastStatusTime = monotonicNanos()
        var lastTicks: UInt64 = 0
        var lastUpdates = 0
        var nanInjected = false
        var selection = RobotSelection(
            parameters: Array(slot.acquireForSetup()), margin: settings.selectionMargin, trialEpisodes: settings.trialEpisodes,
            explorationStd: Float(settings.explorationStd), exploreEveryTrials: settings.exploreEveryTrials)
        if trainer != nil { loop.setExplorationNoise(std: 0, seed: settings.seed &+ 0x5EED) }
        let runner = LoopRunner(loop: loop, realtime: options.realtime)
        // Supervise: status, duration, episode count, fault injection.
        func supervise() {
            let now = monotonicNanos()
            let elapsed = Double(now &- start) / 1e9
            if let d = options.duration, elapsed >= d, !stopRequested.load(ordering: .relaxed) {
                endReason = "duration reached"
                requestStop()
            }
            if let n = options.maxEpisodes, recorder.episodes.filter({ !$0.aborted }).count >= n,
                !stopRequested.load(ordering: .relaxed)
            {
                endReason = "\(n) episodes done"
                requestStop()
            }
            if !nanInjected, let at = faults.nanPolicyAfterSeconds, let bad = faults.nanPolicyParameters, elapsed >= at {
                nanInjected = true
                if case .success(let v) = bad.withUnsafeBufferPointer({ publisher.publish($0, source: "fault injection") }) {
                    log.event("policy_injected", "test hook published v\(v), whose actions are NaN", tick: loop.statistics.value(.ticks), at: now)
                }
            }
            if trainer != nil && settings.selectOnRobot {
                let finalPhase = options.duration.map { elapsed >= $0 - settings.finalPhaseSeconds } ?? false
                selection.step(session: self, now: now, finalPhase: finalPhase)
            }
            if now &- lastStatusTime >= 500_000_000 {
                let ticks = loop.statistics.value(.ticks)
                let updates = trainer?.updateCount ?? 0
                let dt = Double(now &- lastStatusTime) / 1e9
                status(snapshot(seconds: elapsed, loopHz: Double(ticks &- lastTicks) / dt,
                                updatesPerSecond: Double(updates - lastUpdates) / dt, restarts: runner.restarts))
                lastStatusTime = now
                lastTicks = ticks
                lastUpdates = updates
            }
        }
        // The restart policy: which latched stops are cleared and the loop run again.
        func restart(_ outcome: Result<LoopResult, ControlLoopError>) throws -> LoopRestart {
            let now = monotonicNanos()
            let ticks = loop.statistics.value(.ticks)
            let restarts = runner.restarts
            switch outcome {
            case .failure(let error):
                // Re-activating after a cleared fault can be refused when the firmware latched a
                // new link/watchdog fault in between, and deactivating can go unanswered during a
                // host stall: clear the fault and retry a few times.
                if case .robot(let what) = error, what.hasPrefix("activate") || what.hasPrefix("deactivate"), activationRetries < 5, restarts < options.maxRestarts,
                    !stopRequested.load(ordering: .relaxed)
                {
                    activationRetries += 1
                    _ = robot.emergencyStop()
                    try? robot.clearFault()
                    usleep(200_000)
                    log.event("restarted", "\(error.description); fault cleared, retrying (restart \(restarts + 1) of at most \(options.maxRestarts))", tick: ticks, at: now)
                    return .restart
                }
                log.event("loop_error", error.description, tick: ticks, at: now)
                endReason = "loop error: \(error)"
                return .finish
            case .success(let r):
                activationRetries = 0
                // An orderly stop holds the robot without feeding the command watchdog, so the
                // watchdog may latch during it: that is the end of the run, not a fault.
                let requested = stopRequested.load(ordering: .relaxed)
                if !r.latched || (requested && r.reasons.subtracting([.requested, .watchdog]).isEmpty) {
                    if endReason == "requested" && requested { endReason = "interrupted" }
                    return .finish
                }
                // What the robot itself reports (the loop is stopped: this thread may read).
                var state = RobotState()
                let readStatus = robot.read(into: &state)
                let robotFaults = describe(state.faults)
                log.event("safety_stop", "\(r.reasons) with policy v\(r.policyVersion) (robot: \(readStatus), faults \(robotFaults)); the safety layer held the robot, then torque off",
                          tick: ticks, at: now)
                var recoverable = options.recoverable
                // A firmware watchdog or link fault after a host stall is cleared and the run goes
                // on; a motor-driver fault or an e-stop is not.
                // (MotorBusRobot latches its own e-stop with `.link` after a run of failed ticks.)
                let linkEstop = state.faults.contains(.link) && state.faults.isSubset(of: [.watchdog, .link, .limit, .estop])
                if state.faults.isSubset(of: [.watchdog, .link, .limit]) || linkEstop { recoverable.insert(.robotFault) }
                if r.reasons.contains(.ioFailure) && (state.faults.isSubset(of: [.watchdog, .link]) || linkEstop) { recoverable.insert(.ioFailure) }
                let canRecover = r.reasons.subtracting(recoverable).isEmpty && restarts < options.maxRestarts
                    && !stopRequested.load(ordering: .relaxed)
                if r.reasons.contains(.nonFiniteAction) {
                    if let back = publisher.rollBack(from: r.policyVersion) {
                        log.event("policy_rolled_back", "v\(back.from) output a non-finite action; republished v\(back.to) as v\(back.newVersion)",
                                  tick: ticks, at: now)
                        log.swap(PolicySwap(seconds: log.seconds(at: now), tick: ticks, version: back.newVersion,
                                            trainerUpdates: trainer?.updateCount ?? 0, validationReturn: .nan))
                    } else {
                        endReason = "policy v\(r.policyVersion) outputs non-finite actions and there is no earlier good policy"
                        log.event("run_ended", endReason, tick: ticks, at: now)
                        return .finish
                    }
                }
                guard canRecover else {
                    endReason = "latched stop: \(r.reasons)"
                    return .finish
                }
                if r.reasons.contains(.robotFault) || r.reasons.contains(.ioFailure) || robot.lifecycle == .fault {
                    // Torque is already off. An e-stop request puts the robot in `.fault` on both
                    // sides, so `clearFault` clears whatever the firmware latched (its watchdog).
                    _ = robot.emergencyStop()
                    try robot.clearFault()
                }
                try loop.clearStop()
                log.event("restarted", "stop cleared, loop restarted (restart \(restarts + 1) of at most \(options.maxRestarts))", tick: ticks, at: now)
                return .restart
            }
        }
        _ = try runner.run(supervise: supervise, restart: restart)
        trainer?.stop()
        let datasetError = recorder.stop()
        let stats = loop.statistics.snapshot()
        // The loop has stopped (joined): this thread is now the slot's only consumer.
        let (finalPolicy, slotVersion, _) = slot.acquire()
        // With selection on the robot the result is the kept policy, not a candidate on trial.
        let selecting = trainer != nil && settings.selectOnRobot
        let finalParameters = selecting ? selection.incumbentParameters : Array(finalPolicy.parameters)
        let version = selecting ? selection.incumbentVersion : slotVersion
        if selecting {
            log.event("selection", "\(selection.kept) candidate(s) kept, \(selection.reverted) reverted; the run's result is v\(version)",
                      tick: loop.statistics.value(.ticks), at: monotonicNanos())
        }
        let m = log.metrics
        return OnRobotResult(
            episodes: recorder.episodes, swaps: log.swaps, events: log.events, metricNames: m.names, metrics: m.rows,
            statistics: stats, periodNanos: loop.periodNanos, realtime: runner.realtime,
            seconds: log.seconds(at: monotonicNanos()), trainerUpdates: trainer?.updateCount ?? 0,
            finalPolicyVersion: version, recordsWritten: recorder.writer.map { UInt64($0.recordsAppended) } ?? 0,
            droppedRecords: ring.droppedTotal, datasetError: datasetError?.description, endReason: endReason,
            finalPolicyParameters: finalParameters)
    }

    private func describe(_ f: RobotFaults) -> String {
        let names: [(RobotFaults, String)] = [(.watchdog, "watchdog"), (.estop, "e-stop"), (.motor, "motor"), (.encoder, "encoder"),
                                              (.limit, "limit"), (.link, "link")]
        let parts = names.filter { f.contains($0.0) }.map(\.1)
        return parts.isEmpty ? "none" : parts.joined(separator: "+")
    }

    private func snapshot(seconds: Double, loopHz: Double, updatesPerSecond: Double, restarts: Int) -> OnRobotStatus {
        let stats = loop.statistics
        let episodes = recorder.episodes
        return OnRobotStatus(
            seconds: seconds, loopHz: loopHz, jitterP99Micros: Double(stats.periodError.snapshot().percentile(0.99)) / 1000,
            missedDeadlines: stats.value(.missedDeadlines), trainerUpdatesPerSecond: updatesPerSecond,
            trainerUpdates: trainer?.updateCount ?? 0, policyVersion: stats.value(.policyVersion), episodes: episodes.count,
            lastEpisodeReturn: episodes.last(where: { !$0.aborted })?.episodeReturn, droppedRecords: ring.droppedTotal,
            safetyStops: restarts)
    }
}

/// Policy selection on the robot. A candidate is published when an episode has just ended
/// and runs up to `trialEpisodes` whole deterministic episodes; `judge` then keeps it (it
/// becomes the running policy) or publishes the running policy's parameters again. The
/// running policy's recent deterministic returns (up to `window` episodes) are the baseline:
/// a candidate is kept only if its mean beats the baseline mean by more than the margin and
/// by twice the standard error of the difference (Welch: both sides' sample spreads), and a
/// clearly worse first episode ends a trial early. After every `exploreEveryTrials` trials
/// the running policy runs one episode itself — with exploration noise when `explorationStd`
/// > 0, otherwise deterministic, refreshing its baseline. The robot time a bad candidate costs
/// stays one episode; a lucky episode alone does not replace the running policy.
///
/// Thread contract: the session's supervising thread only.
struct RobotSelection {
    var incumbentParameters: [Float]
    var incumbentVersion: UInt64 = 1
    /// Returns of the running policy's recent episodes (newest last).
    var incumbentReturns: [Double] = []
    var trial: (version: UInt64, candidate: PolicyCandidate, returns: [Double])?
    var seenEpisodes = 0
    var kept = 0
    var reverted = 0
    /// The next episode is the running policy's own (set when every `exploreEveryTrials`-th trial ends).
    var exploreNext = false
    var trialsSinceExploring = 0
    let margin: Double
    let trialEpisodes: Int
    let explorationStd: Float
    let exploreEveryTrials: Int
    let window = 8
    /// Deterministic episodes of the running policy before the first trial (its baseline).
    let baselineEpisodes = 5

    init(parameters: [Float], margin: Double, trialEpisodes: Int, explorationStd: Float, exploreEveryTrials: Int) {
        self.exploreEveryTrials = max(1, exploreEveryTrials)
        incumbentParameters = parameters
        self.margin = margin
        self.trialEpisodes = max(1, trialEpisodes)
        self.explorationStd = explorationStd
    }

    enum Verdict: Equatable { case keep, revert, continueTrial }

    /// The decision after the trial's episodes so far. `incumbent` non-empty.
    static func judge(trial: [Double], incumbent: [Double], margin: Double, trialEpisodes: Int) -> Verdict {
        func mean(_ a: [Double]) -> Double { a.reduce(0, +) / Double(a.count) }
        // Sample variance (0 with one episode).
        func variance(_ a: [Double]) -> Double {
            guard a.count > 1 else { return 0 }
            let m = mean(a)
            return a.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(a.count - 1)
        }
        let base = mean(incumbent)
        let standardError = (variance(incumbent) / Double(incumbent.count) + variance(trial) / Double(trial.count)).squareRoot()
        let threshold = max(margin, 2 * standardError)
        let gain = mean(trial) - base
        if trial.count >= trialEpisodes { return gain > threshold ? .keep : .revert }
        return gain < -threshold ? .revert : .continueTrial
    }

    /// Called by the supervising thread every few ms. When an episode has ended it judges a
    /// trial, then chooses the next episode: after every `exploreEveryTrials`-th trial, one
    /// episode of the running policy (with exploration noise when `explorationStd` > 0); otherwise the newest candidate on
    /// trial (once the running policy has its baseline); in `finalPhase`, only the running
    /// policy, deterministic.
    mutating func step<T, L>(session: OnRobotSession<T, L>, now: UInt64, finalPhase: Bool) {
        let episodes = session.recorder.episodes
        guard episodes.count > seenEpisodes else { return }
        let fresh = episodes[seenEpisodes...]
        seenEpisodes = episodes.count
        let ticks = session.loop.statistics.value(.ticks)
        let log = session.log
        for e in fresh where !e.aborted && !e.exploring {
            if var t = trial, e.policyVersion == t.version {
                t.returns.append(e.episodeReturn)
                trial = t
                let baseline = incumbentReturns.reduce(0, +) / Double(max(1, incumbentReturns.count))
                let trialMean = t.returns.reduce(0, +) / Double(t.returns.count)
                let returns = t.returns.map { String(format: "%.1f", $0) }.joined(separator: ", ")
                switch Self.judge(trial: t.returns, incumbent: incumbentReturns, margin: margin, trialEpisodes: trialEpisodes) {
                case .continueTrial:
                    continue
                case .keep:
                    log.event("policy_kept", String(format: "v%llu returned %@ (mean %.1f) on the robot, above the running v%llu's %.1f over %d episodes", t.version, returns, trialMean, incumbentVersion, baseline, incumbentReturns.count), tick: ticks, at: now)
                    incumbentParameters = t.candidate.parameters
                    incumbentVersion = t.version
                    incumbentReturns = t.returns
                    kept += 1
                case .revert:
                    reverted += 1
                    let back = incumbentParameters.withUnsafeBufferPointer { session.publisher.publish($0, source: "restore v\(incumbentVersion)") }
                    if case .success(let v) = back {
                        log.event("policy_reverted", String(format: "v%llu returned %@ (mean %.1f) on the robot, not clearly above the running v%llu's %.1f over %d episodes; v%llu restored as v%llu", t.version, returns, trialMean, incumbentVersion, baseline, incumbentReturns.count, incumbentVersion, v), tick: ticks, at: now)
                        log.swap(PolicySwap(seconds: log.seconds(at: now), tick: ticks, version: v, trainerUpdates: t.candidate.trainerUpdates, validationReturn: .nan))
                        incumbentVersion = v
                    }
                }
                trial = nil
                trialsSinceExploring += 1
                if trialsSinceExploring >= exploreEveryTrials {
                    exploreNext = true
                    trialsSinceExploring = 0
                }
            } else if trial == nil && e.policyVersion == incumbentVersion {
                incumbentReturns.append(e.episodeReturn)
                if incumbentReturns.count > window { incumbentReturns.removeFirst() }
            }
        }
        // An episode just ended: choose the next one (the loop latches the noise at its start).
        guard trial == nil else { return }
        if exploreNext && !finalPhase {
            exploreNext = false
            session.loop.setExplorationNoise(std: explorationStd)
            return
        }
        session.loop.setExplorationNoise(std: 0)
        if !finalPhase, incumbentReturns.count >= baselineEpisodes, let c = session.publisher.takeCandidate() {
            let result = c.parameters.withUnsafeBufferPointer { session.publisher.publish($0, source: "trial") }
            switch result {
            case .success(let v):
                trial = (v, c, [])
                session.publisher.recordValidation(version: v, value: c.validationReturn)
                log.swap(PolicySwap(seconds: log.seconds(at: now), tick: ticks, version: v, trainerUpdates: c.trainerUpdates, validationReturn: c.validationReturn))
            case .failure(let rejection):
                log.event("policy_rejected", rejection.description, tick: ticks, at: now)
            }
        }
    }
}

extension PolicySlot {
    /// The front policy's parameters before the loop has started (set-up only).
    func acquireForSetup() -> UnsafeMutableBufferPointer<Float> { acquire().policy.parameters }
}
