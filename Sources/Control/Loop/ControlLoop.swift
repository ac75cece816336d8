import Synchronization
import SystemSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a control loop runs.
public struct LoopConfiguration: Sendable {
    /// Deadline pacing at the task's period, or back to back for tests.
    public var pacing: Pacing
    /// After this many ticks, an orderly stop (stop behaviour, then torque off). nil: no limit.
    public var maxTicks: UInt64?
    /// Between episodes, run the task's unrecorded reset phase (`ControlTask.resetStep`).
    public var resetBetweenEpisodes: Bool
    /// Push transitions into the ring (if the loop has one).
    public var record: Bool
    /// Cache warming: wake this many ns before each deadline, touch the current policy's
    /// weights (so inference does not stream them from memory after other processes evicted
    /// them during the sleep), then spin until the deadline. 0: sleep straight to the deadline.
    /// Wake-up latency is then measured against the early target.
    public var prewarmNanos: UInt64
    /// The policy decides on the first tick of every `decisionTicks` ticks of an episode and
    /// its action is held in between (a zero-order hold): with 10 at 200 Hz the policy acts at
    /// 20 Hz while reading, the safety checks and filter, writing and recording still run every
    /// tick. 1: the policy acts every tick.
    public var decisionTicks: Int
    /// Records per episode before a time-out; nil: the task's `episodeTicks`.
    public var episodeTicks: Int?
    /// Number of the first episode (continue an existing dataset's numbering).
    public var firstEpisode: UInt32

    public init(pacing: Pacing, maxTicks: UInt64? = nil, resetBetweenEpisodes: Bool = true, record: Bool = true,
                prewarmNanos: UInt64 = 0, decisionTicks: Int = 1, episodeTicks: Int? = nil, firstEpisode: UInt32 = 0) {
        self.pacing = pacing
        self.maxTicks = maxTicks
        self.resetBetweenEpisodes = resetBetweenEpisodes
        self.record = record
        self.prewarmNanos = prewarmNanos
        self.decisionTicks = max(1, decisionTicks)
        self.episodeTicks = episodeTicks
        self.firstEpisode = firstEpisode
    }
}

/// How a run ended.
public struct LoopResult: Sendable, Equatable {
    /// Ticks run (including the stop behaviour's), not counting missed deadlines.
    public var ticks: UInt64
    /// Why it stopped (`.requested` for an orderly stop; a latched e-stop/fault otherwise).
    public var reasons: StopReason
    /// True when a fault or e-stop is latched: `clearStop()` is needed before the next run.
    public var latched: Bool
    /// The version of the last policy used (0 for the operator).
    public var policyVersion: UInt64
    /// Ticks recorded during this run.
    public var records: UInt64 = 0

    public init(ticks: UInt64 = 0, reasons: StopReason = [], latched: Bool = false, policyVersion: UInt64 = 0, records: UInt64 = 0) {
        self.ticks = ticks
        self.reasons = reasons
        self.latched = latched
        self.policyVersion = policyVersion
        self.records = records
    }
}

/// A control loop driven by a policy from a lock-free slot (`robotctl run`, `eval`).
public typealias PolicyLoop<Task: ControlTask, Policy: SlotPolicy> = ControlLoop<Task, PolicySlotSource<Policy>>

/// The 200 Hz loop: read → observation → safety check → action source (a policy or the
/// operator) → safety filter → write → record, paced by absolute deadlines. Episodes: an
/// unrecorded reset phase (the task's `resetStep`, or the source), then recorded ticks until
/// the task ends the episode (terminal, time-out), the source cuts it ("next", "redo") or a
/// stop interrupts it; each end is reported to the source as an `EpisodeOutcome`.
///
/// Thread contract: `run` on the control thread (it applies no real-time settings itself: call
/// `RealtimeSetup.apply` first on that thread, or use `LoopRunner`). `requestStop`,
/// `requestEmergencyStop` and `statistics` from any thread. `clearStop` while not running.
public final class ControlLoop<Task: ControlTask, Source: ActionSource>: @unchecked Sendable {
    public let robot: any RobotInterface
    public let task: Task
    public let source: Source
    public let ring: TransitionRing?
    public let estop: (any EmergencyStopInput)?
    public let outputs: (any StatusOutputs)?
    public let configuration: LoopConfiguration
    public let statistics = LoopStatistics()
    public let periodNanos: UInt64
    /// Records per episode before a time-out.
    public let episodeTicks: Int

    private var safety: SafetyFilter
    private var pacer: DeadlinePacer
    private let observation: UnsafeMutablePointer<Float>
    private let action: UnsafeMutablePointer<Float>
    private var state = RobotState()
    private var command = RobotCommand()
    private let operatorStop = Atomic<Bool>(false)
    private let orderlyStop = Atomic<Bool>(false)
    private let isRunning = Atomic<Bool>(false)
    private var episode: UInt32
    private var episodeTick = 0
    private var episodeFlags: TransitionFlags = []
    private var firstTimestamp: UInt64 = 0
    private var firstTick: UInt64 = 0
    private var resetting = false
    private var ticksInReset = 0
    private var episodeStarted = false
    private var lastWoke: UInt64 = 0
    private var lastVersion: UInt64 = 0
    private var runTicks: UInt64 = 0
    private var runRecords: UInt64 = 0

    /// Set-up: checks that task, source, robot and limits agree; allocates every buffer.
    public init(
        robot: any RobotInterface, task: Task, source: Source, limits: SafetyLimits,
        mode: ControlMode, ring: TransitionRing? = nil, estop: (any EmergencyStopInput)? = nil,
        outputs: (any StatusOutputs)? = nil, configuration: LoopConfiguration
    ) throws(ControlLoopError) {
        guard source.observationSize == task.observationSize, source.actionSize == task.actionSize else {
            throw .mismatch("the action source takes \(source.observationSize) observations and gives \(source.actionSize) actions; task \"\(task.name)\" has \(task.observationSize) and \(task.actionSize)")
        }
        if let ring, ring.observationCount != task.observationSize || ring.actionCount != task.actionSize {
            throw .mismatch("recorder ring holds \(ring.observationCount)+\(ring.actionCount) values, task \"\(task.name)\" needs \(task.observationSize)+\(task.actionSize)")
        }
        guard task.controlPeriod > 0 else { throw .mismatch("task \"\(task.name)\" has a control period of \(task.controlPeriod) s") }
        self.robot = robot
        self.task = task
        self.source = source
        self.ring = ring
        self.estop = estop
        self.outputs = outputs
        self.configuration = configuration
        episodeTicks = max(1, configuration.episodeTicks ?? task.episodeTicks)
        episode = configuration.firstEpisode
        periodNanos = UInt64((task.controlPeriod * 1e9).rounded())
        do {
            safety = try SafetyFilter(limits: limits, mode: mode, jointCount: limits.joints.count, periodSeconds: task.controlPeriod)
        } catch {
            throw .limits(error)
        }
        pacer = DeadlinePacer(configuration.pacing)
        observation = .allocate(capacity: task.observationSize)
        observation.initialize(repeating: 0, count: task.observationSize)
        action = .allocate(capacity: task.actionSize)
        action.initialize(repeating: 0, count: task.actionSize)
    }

    deinit {
        observation.deallocate()
        action.deallocate()
    }

    /// Asks for an orderly stop (stop behaviour, torque off, `run` returns). Any thread.
    public func requestStop() { orderlyStop.store(true, ordering: .releasing) }

    /// Latches an e-stop (e.g. from a key); `run` performs the stop behaviour and returns.
    /// Stays latched until `clearStop()`. Any thread.
    public func requestEmergencyStop() { operatorStop.store(true, ordering: .releasing) }

    /// What is latched now (read it after `run` returned).
    public var latchedReasons: StopReason { safety.reasons }

    /// Clears a latched stop on purpose. Throws, leaving it latched, if the run has not
    /// finished its stop behaviour or the e-stop input is still asserted.
    public func clearStop() throws(ControlLoopError) {
        guard !isRunning.load(ordering: .acquiring) else { throw .stillRunning }
        if let estop, !estop.acknowledge() { throw .estopStillAsserted }
        guard safety.clear() else { throw .stillRunning }
        operatorStop.store(false, ordering: .releasing)
    }

    /// Runs the loop on the calling thread until an orderly stop, `maxTicks`, or a latched
    /// stop; each ends with the stop behaviour and torque off. Activates the robot first if
    /// needed and deactivates it at the end (set-up work, may throw). Refuses to start while a
    /// stop is latched.
    public func run() throws(ControlLoopError) -> LoopResult {
        try begin()
        defer { isRunning.store(false, ordering: .releasing) }
        while tick() {}
        statistics.set(.phase, UInt64(LoopPhase.finished.rawValue))
        outputs?.setMotorEnable(false)
        outputs?.setStatusLED(false)
        do { try robot.deactivate() } catch { throw .robot("deactivate: \(error)") }
        return LoopResult(ticks: runTicks, reasons: safety.reasons, latched: safety.isLatched, policyVersion: lastVersion, records: runRecords)
    }

    /// Activates the robot if needed and arms safety, source and pacing for the first tick.
    func begin() throws(ControlLoopError) {
        guard !safety.isLatched else { throw .latched(safety.reasons) }
        _ = safety.clear()
        orderlyStop.store(false, ordering: .relaxed)
        if robot.lifecycle != .active {
            do { try robot.activate() } catch { throw .robot("activate: \(error)") }
        }
        isRunning.store(true, ordering: .releasing)
        _ = robot.read(into: &state)
        let now = monotonicNanos()
        safety.begin(state: state, now: now)
        outputs?.setMotorEnable(true)
        outputs?.setStatusLED(true)
        source.begin(statistics: statistics)
        episodeTick = 0
        episodeStarted = false
        resetting = configuration.resetBetweenEpisodes
        ticksInReset = 0
        statistics.set(.phase, UInt64((resetting ? LoopPhase.resetting : .recording).rawValue))
        statistics.set(.episode, UInt64(episode))
        statistics.set(.episodeTick, 0)
        lastWoke = 0
        runTicks = 0
        runRecords = 0
        pacer.start(now: now)
    }

    /// One tick. Returns false once the stop behaviour has finished (torque off).
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    func tick() -> Bool {
        let wake = pacer.waitForNextTick(early: configuration.prewarmNanos)
        if wake.target < wake.deadline {
            // Pull what the source needs into the cache before the deadline, then wait for it.
            source.prewarm(statistics: statistics)
            while monotonicNanos() < wake.deadline {}
        }
        let stats = statistics
        runTicks &+= 1
        stats.add(.ticks)
        stats.wakeLatency.record(wake.latency)
        if wake.missed > 0 { stats.add(.missedDeadlines, wake.missed) }
        // The tick's work starts at the wake-up, or at the deadline when it woke early to warm up.
        let t0 = max(wake.woke, wake.target < wake.deadline ? wake.deadline : wake.woke)
        if lastWoke != 0, case .deadlines(let p) = configuration.pacing {
            let interval = t0 &- lastWoke
            let expected = (wake.missed + 1) * p
            stats.periodError.record(interval > expected ? interval - expected : expected - interval)
        }
        lastWoke = t0
        let requests = source.poll(statistics: stats)

        let stoppingBefore = safety.isStopping
        let readStatus = robot.read(into: &state)
        let t1 = monotonicNanos()
        stats.read.record(t1 &- t0)
        if readStatus != .ok { stats.add(.readFailures) } else { stats.publishJoints(state) }
        safety.checkRead(readStatus, state: state, now: t1)
        if readStatus == .ok { safety.checkState(state, now: t1) }
        if let estop, estop.isTriggered() { safety.trip(.estopInput, state: state, now: t1) }
        if operatorStop.load(ordering: .relaxed) || requests.contains(.emergencyStop) {
            safety.trip(.operatorRequest, state: state, now: t1)
        }
        if configuration.record, let ring, ring.consumerFailed { safety.trip(.recordingFailed, state: state, now: t1) }
        if !safety.isStopping {
            if orderlyStop.load(ordering: .relaxed) || requests.contains(.stop) { safety.trip(.requested, state: state, now: t1) }
            if let maxTicks = configuration.maxTicks, runTicks > maxTicks { safety.trip(.requested, state: state, now: t1) }
        }
        // The watchdog guards the source's commands; the stop behaviour makes its own.
        if !safety.isStopping { safety.checkWatchdog(state: state, now: t1) }

        var modified = false
        var record = false
        var cut: EpisodeEndReason?
        var version = lastVersion
        if !stoppingBefore {
            task.observe(state, into: observation)
            if !safety.isStopping
                && safety.checkFinite(observation, count: task.observationSize, reason: .nonFiniteObservation, state: state, now: t1)
            {
                version = source.acquire(statistics: stats)
                lastVersion = version
                if resetting {
                    switch source.reset(action: action) {
                    case .task:
                        if task.resetStep(state, ticksInReset: ticksInReset, into: &command) { endReset() } else { ticksInReset += 1 }
                    case .source:
                        ticksInReset += 1
                        if safety.checkFinite(action, count: task.actionSize, reason: .nonFiniteAction, state: state, now: t1) {
                            task.command(for: action, into: &command)
                        }
                    case .startEpisode:
                        endReset()
                        record = true
                    }
                } else {
                    record = true
                }
                if record {
                    // A decision tick: the episode's first, then every `decisionTicks`; between
                    // decisions `action` keeps the last decision (held, checked again below).
                    if !episodeStarted { episodeFlags = source.recordFlags.union(source.startEpisode()) }
                    let decide = !episodeStarted || episodeTick % configuration.decisionTicks == 0
                    cut = source.act(observation: observation, action: action, decide: decide, episodeTick: episodeTick)
                    if safety.checkFinite(action, count: task.actionSize, reason: .nonFiniteAction, state: state, now: t1) {
                        task.command(for: action, into: &command)
                    }
                }
                if !safety.isStopping {
                    modified = safety.filter(&command, state: state, now: t1)
                    if modified { stats.add(.safetyModified) }
                    safety.feedWatchdog(now: t1)
                }
            }
            // A stop (requested or latched) interrupts the episode: this tick ends it.
            if !record && episodeStarted {
                source.interrupted(action: action)
                record = true
            }
        }
        var finished = false
        if safety.isStopping {
            stats.set(.phase, UInt64(LoopPhase.stopping.rawValue))
            finished = safety.stopCommand(state: state, now: t1, into: &command)
        }
        let t2 = monotonicNanos()
        stats.infer.record(t2 &- t1)

        command.sequence = UInt32(truncatingIfNeeded: wake.tick)
        let writeStatus = robot.write(command)
        if writeStatus != .ok && !stoppingBefore { stats.add(.writeFailures) }
        if finished { outputs?.setMotorEnable(false) }
        let t3 = monotonicNanos()
        stats.write.record(t3 &- t2)

        if record { recordTick(wake: wake, now: t1, version: version, modified: modified, cut: cut) }
        let t4 = monotonicNanos()
        stats.record.record(t4 &- t3)
        stats.total.record(t4 &- t0)
        if t4 &- wake.deadline > periodNanos { stats.add(.overruns) }
        return !finished
    }

    @inline(__always)
    private func endReset() {
        resetting = false
        ticksInReset = 0
        statistics.set(.phase, UInt64(LoopPhase.recording.rawValue))
    }

    /// Records the tick of an episode and ends the episode when the task, the source or a
    /// stop ends it. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    private func recordTick(wake: DeadlinePacer.Wake, now t1: UInt64, version: UInt64, modified: Bool, cut: EpisodeEndReason?) {
        let stats = statistics
        var flags = episodeFlags
        if !episodeStarted {
            flags.insert(.episodeStart)
            episodeStarted = true
            episodeTick = 0
            firstTimestamp = t1
            firstTick = wake.tick
            stats.add(.episodes)
        }
        var end = cut
        var reward: Float = 0
        if safety.isStopping && (safety.isLatched || !source.keepsEpisodeOnStop) {
            flags.insert(.aborted)
            end = safety.isLatched ? .safetyStop : .stop
        } else {
            reward = task.reward(observation: observation, action: action)
            if safety.isStopping {
                // An orderly stop the source keeps the episode through: a time-out.
                flags.insert(.timeout)
                end = .stop
            } else if end != nil {
                // Cut by the source ("next", "redo"): a time-out, not a terminal.
                flags.insert(.timeout)
            } else if task.isTerminal(observation: observation) {
                flags.insert(.terminal)
                end = .terminal
            } else if episodeTick + 1 >= episodeTicks {
                flags.insert(.timeout)
                end = .timeLimit
            }
        }
        if modified { flags.insert(.safetyModified) }
        if wake.missed > 0 { flags.insert(.late) }
        if configuration.record, let ring {
            let header = TransitionHeader(
                timestampNanos: t1, tick: wake.tick, policyVersion: version, episode: episode, flags: flags,
                reward: reward, droppedBefore: 0)
            if !ring.push(header, observation: observation, action: action) { stats.add(.ringDrops) }
        }
        runRecords &+= 1
        stats.add(.records)
        episodeTick += 1
        stats.set(.episodeTick, UInt64(episodeTick))
        guard let end else { return }
        let outcome = EpisodeOutcome(
            episode: episode, discarded: end == .redo, reason: end, firstTimestampNanos: firstTimestamp,
            lastTimestampNanos: t1, firstTick: firstTick, lastTick: wake.tick, records: episodeTick)
        stats.add(outcome.discarded ? .discardedEpisodes : .keptEpisodes)
        source.episodeEnded(outcome, statistics: stats)
        episode &+= 1
        episodeStarted = false
        episodeTick = 0
        episodeFlags = []
        stats.set(.episode, UInt64(episode))
        stats.set(.episodeTick, 0)
        if !safety.isStopping {
            resetting = configuration.resetBetweenEpisodes
            ticksInReset = 0
            stats.set(.phase, UInt64((resetting ? LoopPhase.resetting : .recording).rawValue))
        }
    }
}

extension ControlLoop {
    /// A loop whose actions come from the policy in `slot` (`PolicySlotSource`).
    public convenience init<Policy: SlotPolicy>(
        robot: any RobotInterface, task: Task, slot: PolicySlot<Policy>, limits: SafetyLimits,
        mode: ControlMode, ring: TransitionRing? = nil, estop: (any EmergencyStopInput)? = nil,
        outputs: (any StatusOutputs)? = nil, configuration: LoopConfiguration
    ) throws(ControlLoopError) where Source == PolicySlotSource<Policy> {
        guard slot.observationSize == task.observationSize, slot.actionSize == task.actionSize else {
            throw .mismatch("policy takes \(slot.observationSize) observations and gives \(slot.actionSize) actions; task \"\(task.name)\" has \(task.observationSize) and \(task.actionSize)")
        }
        try self.init(
            robot: robot, task: task, source: PolicySlotSource(slot: slot), limits: limits, mode: mode, ring: ring,
            estop: estop, outputs: outputs, configuration: configuration)
    }

    /// Sets the std of Gaussian noise added to the policy's action at every decision of the
    /// episodes that start from now on (0: none, the default), the sum clamped to the policy's
    /// action range [−1, 1]; their records carry `.exploring`. Exploration on the robot for a
    /// learner: the safety layer still checks and filters every command. Any thread.
    public func setExplorationNoise<Policy>(std: Float, seed: UInt64? = nil) where Source == PolicySlotSource<Policy> {
        source.exploration.set(std: std, seed: seed)
    }
}

/// Errors of loop set-up and of `run`'s set-up work. Each names the problem and the fix.
public enum ControlLoopError: Error, CustomStringConvertible, Equatable {
    case mismatch(String)
    case limits(SafetyLimitsError)
    case robot(String)
    case latched(StopReason)
    case estopStillAsserted
    case stillRunning

    public var description: String {
        switch self {
        case .mismatch(let s): "control loop: \(s); use a policy trained for this task"
        case .limits(let e): e.description
        case .robot(let s): "control loop: robot \(s)"
        case .latched(let r): "control loop: a stop is latched (\(r)); deal with the cause, then clear it on purpose (clearStop)"
        case .estopStillAsserted: "control loop: the e-stop input is still asserted; release it, then clear the stop"
        case .stillRunning: "control loop: the stop behaviour has not finished; wait for run() to return"
        }
    }
}
