import Control
import FixedNN
import Foundation
import H2OTrainer
import Synchronization
import SystemSupport
import Tasks

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
    /// The same, for the exit status (`RunEnding`).
    public var ending: RunEnding
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
public final class RunSession<Task: ControlTask, Learn: SimulatedTask>: @unchecked Sendable {
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
    /// calibration's safety limits (commanding in `mode`, the task's), the dataset writer, and — when `learner` is given and
    /// `options.finetune` — the trainer thread (not started yet).
    public init(
        robot: any RobotInterface, task: Task, mode: ControlMode = .torque, policy: DeterministicPolicy, limits: SafetyLimits, schema: DatasetSchema,
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
            robot: robot, task: task, slot: slot, limits: limits, mode: mode, ring: ring, estop: estop, outputs: outputs,
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
        var ending = RunEnding.stopRequested
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
                ending = .completed
                requestStop()
            }
            if let n = options.maxEpisodes, recorder.episodes.filter({ !$0.aborted }).count >= n,
                !stopRequested.load(ordering: .relaxed)
            {
                endReason = "\(n) episodes done"
                ending = .completed
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
                    // The stop the loop latched before (re-)activating failed is cleared too, or
                    // the retry would end at "a stop is latched".
                    try? loop.clearStop()
                    usleep(200_000)
                    log.event("restarted", "\(error.description); fault cleared, retrying (restart \(restarts + 1) of at most \(options.maxRestarts))", tick: ticks, at: now)
                    return .restart
                }
                log.event("loop_error", error.description, tick: ticks, at: now)
                endReason = "loop error: \(error)"
                ending = .robotFailed(error.description)
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
                        ending = .safetyStop(.nonFiniteAction)
                        log.event("run_ended", endReason, tick: ticks, at: now)
                        return .finish
                    }
                }
                // A robot that cannot come back by clearing (a link slower than the rate allows)
                // ends the run with its one line instead of restarting it again and again.
                if let fatal = robot.unrecoverableFault {
                    endReason = fatal
                    ending = .robotFailed(fatal)
                    log.event("run_ended", fatal, tick: ticks, at: now)
                    return .finish
                }
                guard canRecover else {
                    endReason = "latched stop: \(r.reasons)"
                    ending = RunEnding.latched(r.reasons, robotFaults: state.faults)
                    return .finish
                }
                do {
                    if r.reasons.contains(.robotFault) || r.reasons.contains(.ioFailure) || robot.lifecycle == .fault {
                        // Torque is already off. An e-stop request puts the robot in `.fault` on both
                        // sides, so `clearFault` clears whatever the firmware latched (its watchdog).
                        _ = robot.emergencyStop()
                        try robot.clearFault()
                    }
                    try loop.clearStop()
                } catch {
                    // The link is gone (a cut cable, a stall longer than the set-up retries): the
                    // run ends here and its files are written.
                    endReason = "robot lost: \(error)"
                    ending = .robotFailed("\(r.reasons), then clearing the stop failed: \(error)")
                    log.event("run_ended", endReason, tick: ticks, at: now)
                    return .finish
                }
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
            droppedRecords: ring.droppedTotal, datasetError: datasetError?.description, endReason: endReason, ending: ending,
            finalPolicyParameters: finalParameters)
    }

    private func describe(_ f: RobotFaults) -> String { RunEnding.describe(f) }

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
