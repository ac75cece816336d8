import Control
import Synchronization

/// How the robot gets back to a start state between teleop episodes (never recorded).
public enum TeleopResetMode: String, Sendable, CaseIterable {
    /// The task's `resetStep` drives the robot; recording starts by itself once it reports
    /// the start state (the operator may press "next" to start at once).
    case task
    /// The operator drives the robot, unrecorded, and presses "next" to start recording.
    case `operator`
}

/// Where a teleop session is.
public enum TeleopPhase: UInt8, Sendable, CustomStringConvertible {
    /// Unrecorded reset between episodes (task or operator driving).
    case resetting
    /// Recording an episode: every tick is a record.
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

/// How a teleop session runs.
public struct TeleopConfiguration: Sendable {
    /// Deadline pacing at the task's period (real robot), or back to back (tests).
    public var pacing: Pacing
    /// Who drives the reset phase.
    public var reset: TeleopResetMode
    /// Episode number of the first episode (continue an existing dataset's numbering).
    public var firstEpisode: UInt32
    /// Orderly stop once this many episodes were kept. nil: until the operator stops.
    public var maxEpisodes: Int?
    /// Orderly stop after this many ticks. nil: no limit.
    public var maxTicks: UInt64?
    /// Records per episode before a time-out; nil: the task's `episodeTicks`.
    public var episodeTicks: Int?

    public init(
        pacing: Pacing, reset: TeleopResetMode = .task, firstEpisode: UInt32 = 0, maxEpisodes: Int? = nil,
        maxTicks: UInt64? = nil, episodeTicks: Int? = nil
    ) {
        self.pacing = pacing
        self.reset = reset
        self.firstEpisode = firstEpisode
        self.maxEpisodes = maxEpisodes
        self.maxTicks = maxTicks
        self.episodeTicks = episodeTicks
    }
}

/// Live counters of a session, written by the control thread (relaxed), read by any thread
/// for the status line.
public final class TeleopStatus: Sendable {
    let ticksValue = Atomic<UInt64>(0)
    let recordsValue = Atomic<UInt64>(0)
    let episodeValue = Atomic<UInt32>(0)
    let episodeTickValue = Atomic<Int>(0)
    let phaseValue = Atomic<UInt8>(TeleopPhase.resetting.rawValue)
    let actionBits = Atomic<UInt32>(0)
    let keptValue = Atomic<Int>(0)
    let discardedValue = Atomic<Int>(0)
    let missedValue = Atomic<UInt64>(0)
    let modifiedValue = Atomic<UInt64>(0)
    let ringDropsValue = Atomic<UInt64>(0)

    public init() {}

    /// Ticks run.
    public var ticks: UInt64 { ticksValue.load(ordering: .relaxed) }
    /// Records handed to the recorder ring.
    public var recordsPushed: UInt64 { recordsValue.load(ordering: .relaxed) }
    /// The episode being recorded (or the next one, during a reset).
    public var episode: UInt32 { episodeValue.load(ordering: .relaxed) }
    /// Records of the current episode so far.
    public var episodeTick: Int { episodeTickValue.load(ordering: .relaxed) }
    public var phase: TeleopPhase { TeleopPhase(rawValue: phaseValue.load(ordering: .relaxed)) ?? .finished }
    /// The operator's action now.
    public var action: Float { Float(bitPattern: actionBits.load(ordering: .relaxed)) }
    /// Episodes kept / discarded so far.
    public var keptEpisodes: Int { keptValue.load(ordering: .relaxed) }
    public var discardedEpisodes: Int { discardedValue.load(ordering: .relaxed) }
    /// Deadlines missed, commands the safety filter changed, records the ring dropped.
    public var missedDeadlines: UInt64 { missedValue.load(ordering: .relaxed) }
    public var safetyModified: UInt64 { modifiedValue.load(ordering: .relaxed) }
    public var ringDrops: UInt64 { ringDropsValue.load(ordering: .relaxed) }
}

/// How a session ended.
public struct TeleopResult: Sendable, Equatable {
    public var ticks: UInt64
    public var records: UInt64
    public var keptEpisodes: Int
    public var discardedEpisodes: Int
    /// `.requested` for an orderly stop; latched reasons otherwise.
    public var reasons: StopReason
    public var latched: Bool
}

/// Teleoperation with recording: the operator's input becomes the action, the task turns it
/// into a robot command, the safety layer filters it, and every tick of an episode is pushed
/// to the recorder ring as a `teleop` transition. Between episodes an unrecorded reset phase
/// runs. "Redo" discards an episode through the episode outcome queue (written to the
/// dataset's episode table by the owner), since records already on disk are never rewritten.
///
/// The same tick structure as `ControlLoop` (read → observe → safety → command → filter →
/// write → record, absolute-deadline pacing, defined stop behaviour), with the operator in
/// place of the policy and episode boundaries set by the operator.
///
/// Thread contract: `run` on the control thread; `requestStop`, `status`, `outcomes` (pop)
/// from one other thread.
public final class TeleopSession<Task: ControlTask>: @unchecked Sendable {
    public let robot: any RobotInterface
    public let task: Task
    public let ring: TransitionRing?
    public let inputs: [any OperatorInputSource]
    public let estop: (any EmergencyStopInput)?
    public let configuration: TeleopConfiguration
    public let status = TeleopStatus()
    public let outcomes = EpisodeOutcomeQueue()
    public let episodeTicks: Int

    private var safety: SafetyFilter
    private var pacer: DeadlinePacer
    private let observation: UnsafeMutablePointer<Float>
    private let action: UnsafeMutablePointer<Float>
    private var state = RobotState()
    private var command = RobotCommand()
    private var input = OperatorInput()
    private let stopRequest = Atomic<Bool>(false)
    private var phase: TeleopPhase = .resetting
    private var episode: UInt32
    private var episodeRecords = 0
    private var firstTimestamp: UInt64 = 0
    private var firstTick: UInt64 = 0
    private var lastTimestamp: UInt64 = 0
    private var lastTick: UInt64 = 0
    private var lastCompleted: EpisodeOutcome?
    private var kept = 0
    private var discarded = 0
    private var stopAfterEpisode = false
    private var runTicks: UInt64 = 0
    private var records: UInt64 = 0

    /// Set-up: checks that task, ring and limits agree; allocates every buffer.
    public init(
        robot: any RobotInterface, task: Task, limits: SafetyLimits, mode: ControlMode = .torque,
        ring: TransitionRing?, inputs: [any OperatorInputSource], estop: (any EmergencyStopInput)? = nil,
        configuration: TeleopConfiguration
    ) throws(ControlLoopError) {
        if let ring, ring.observationCount != task.observationSize || ring.actionCount != task.actionSize {
            throw .mismatch("recorder ring holds \(ring.observationCount)+\(ring.actionCount) values, task \"\(task.name)\" needs \(task.observationSize)+\(task.actionSize)")
        }
        guard task.controlPeriod > 0 else { throw .mismatch("task \"\(task.name)\" has a control period of \(task.controlPeriod) s") }
        guard !inputs.isEmpty else { throw .mismatch("teleop needs at least one operator input (keyboard or gamepad)") }
        self.robot = robot
        self.task = task
        self.ring = ring
        self.inputs = inputs
        self.estop = estop
        self.configuration = configuration
        episodeTicks = max(1, configuration.episodeTicks ?? task.episodeTicks)
        episode = configuration.firstEpisode
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

    /// Asks for an orderly stop (the episode in progress is kept). Any thread.
    public func requestStop() { stopRequest.store(true, ordering: .releasing) }

    /// What is latched (read after `run` returned).
    public var latchedReasons: StopReason { safety.reasons }

    /// Runs the session on the calling thread until the operator stops it, `maxEpisodes`,
    /// `maxTicks` or a safety stop; each ends with the stop behaviour and torque off.
    /// Activates the robot first if needed and deactivates it at the end (set-up work).
    public func run() throws(ControlLoopError) -> TeleopResult {
        try begin()
        while tick() {}
        setPhase(.finished)
        do { try robot.deactivate() } catch { throw .robot("deactivate: \(error)") }
        return TeleopResult(
            ticks: runTicks, records: records, keptEpisodes: kept, discardedEpisodes: discarded,
            reasons: safety.reasons, latched: safety.isLatched)
    }

    /// Activates the robot if needed and arms safety and pacing for the first tick.
    func begin() throws(ControlLoopError) {
        guard !safety.isLatched else { throw .latched(safety.reasons) }
        if robot.lifecycle != .active {
            do { try robot.activate() } catch { throw .robot("activate: \(error)") }
        }
        _ = robot.read(into: &state)
        let now = monotonicNanos()
        safety.begin(state: state, now: now)
        setPhase(.resetting)
        status.episodeValue.store(episode, ordering: .relaxed)
        pacer.start(now: now)
    }

    @inline(__always)
    private func setPhase(_ p: TeleopPhase) {
        phase = p
        status.phaseValue.store(p.rawValue, ordering: .relaxed)
    }

    /// One tick. Returns false once the stop behaviour has finished (torque off).
    /// Real-time safe: does not allocate, lock or throw.
    func tick() -> Bool {
        let wake = pacer.waitForNextTick()
        runTicks &+= 1
        status.ticksValue.store(runTicks, ordering: .relaxed)
        if wake.missed > 0 { status.missedValue.add(wake.missed, ordering: .relaxed) }

        input.events = []
        for i in 0..<inputs.count { inputs[i].poll(into: &input) }
        status.actionBits.store(input.action.bitPattern, ordering: .relaxed)

        let stoppingBefore = safety.isStopping
        let readStatus = robot.read(into: &state)
        let t1 = monotonicNanos()
        safety.checkRead(readStatus, state: state, now: t1)
        if readStatus == .ok { safety.checkState(state, now: t1) }
        if let estop, estop.isTriggered() { safety.trip(.estopInput, state: state, now: t1) }
        if input.events.contains(.emergencyStop) || input.deviceLost { safety.trip(.operatorRequest, state: state, now: t1) }
        if !safety.isStopping {
            var limitReached = false
            if let maxTicks = configuration.maxTicks, runTicks > maxTicks { limitReached = true }
            if input.events.contains(.stop) || stopRequest.load(ordering: .relaxed) || stopAfterEpisode || limitReached {
                safety.trip(.requested, state: state, now: t1)
            }
        }
        // The watchdog guards fresh commands; the stop behaviour makes its own.
        if !safety.isStopping { safety.checkWatchdog(state: state, now: t1) }

        var record = false
        var modified = false
        var endReason: EpisodeEndReason?
        if !stoppingBefore {
            task.observe(state, into: observation)
            let finite = !safety.isStopping
                && safety.checkFinite(observation, count: task.observationSize, reason: .nonFiniteObservation, state: state, now: t1)
            if finite {
                var recordNow = phase == .recording
                if phase == .resetting {
                    if input.events.contains(.redo) { discardLastCompleted() }
                    if input.events.contains(.next) {
                        setPhase(.recording)
                        recordNow = true
                    } else if configuration.reset == .task {
                        // This tick's command is the reset's; recording starts next tick.
                        if task.resetStep(state, into: &command) { setPhase(.recording) }
                    } else {
                        operatorCommand()
                    }
                }
                if recordNow {
                    operatorCommand()
                    record = true
                    if input.events.contains(.redo) {
                        endReason = .redo
                    } else if input.events.contains(.next) && episodeRecords > 0 {
                        endReason = .next
                    }
                }
                modified = safety.filter(&command, state: state, now: t1)
                safety.feedWatchdog(now: t1)
                if !record { modified = false }
            } else if phase == .recording && episodeRecords > 0 {
                // The stop (requested or latched) interrupts the episode: this tick ends it.
                for i in 0..<task.actionSize { action[i] = 0 }
                action[0] = input.action
                record = true
                endReason = safety.isLatched ? .safetyStop : .stop
            }
        }
        if modified { status.modifiedValue.add(1, ordering: .relaxed) }

        var finished = false
        if safety.isStopping {
            if phase == .resetting || phase == .recording { setPhase(.stopping) }
            finished = safety.stopCommand(state: state, now: t1, into: &command)
        }
        command.sequence = UInt32(truncatingIfNeeded: wake.tick)
        _ = robot.write(command)

        if record { recordTick(wake: wake, now: t1, modified: modified, endReason: endReason) }
        return !finished
    }

    @inline(__always)
    private func operatorCommand() {
        for i in 0..<task.actionSize { action[i] = 0 }
        action[0] = input.action
        task.command(for: action, into: &command)
    }

    @inline(__always)
    private func recordTick(wake: DeadlinePacer.Wake, now t1: UInt64, modified: Bool, endReason reason: EpisodeEndReason?) {
        var endReason = reason
        var flags: TransitionFlags = [.teleop]
        if episodeRecords == 0 {
            flags.insert(.episodeStart)
            firstTimestamp = t1
            firstTick = wake.tick
        }
        if modified { flags.insert(.safetyModified) }
        if wake.missed > 0 { flags.insert(.late) }
        var reward: Float = 0
        if endReason == .safetyStop {
            flags.insert(.aborted)
        } else {
            reward = task.reward(observation: observation, action: action)
            if endReason == nil {
                if task.isTerminal(observation: observation) {
                    flags.insert(.terminal)
                    endReason = .terminal
                } else if episodeRecords + 1 >= episodeTicks {
                    flags.insert(.timeout)
                    endReason = .timeLimit
                }
            } else {
                // Cut by the operator: a time-out, not a terminal.
                flags.insert(.timeout)
            }
        }
        if let ring {
            let header = TransitionHeader(
                timestampNanos: t1, tick: wake.tick, policyVersion: 0, episode: episode, flags: flags,
                reward: reward, droppedBefore: 0)
            if !ring.push(header, observation: observation, action: action) {
                status.ringDropsValue.add(1, ordering: .relaxed)
            }
        }
        records &+= 1
        status.recordsValue.store(records, ordering: .relaxed)
        episodeRecords += 1
        lastTimestamp = t1
        lastTick = wake.tick
        status.episodeTickValue.store(episodeRecords, ordering: .relaxed)
        if let endReason { finishEpisode(endReason) }
    }

    @inline(__always)
    private func finishEpisode(_ reason: EpisodeEndReason) {
        let outcome = EpisodeOutcome(
            episode: episode, discarded: reason == .redo, reason: reason, firstTimestampNanos: firstTimestamp,
            lastTimestampNanos: lastTimestamp, firstTick: firstTick, lastTick: lastTick, records: episodeRecords)
        outcomes.push(outcome)
        if outcome.discarded {
            discarded += 1
            lastCompleted = nil
        } else {
            kept += 1
            lastCompleted = outcome
        }
        status.keptValue.store(kept, ordering: .relaxed)
        status.discardedValue.store(discarded, ordering: .relaxed)
        episode &+= 1
        episodeRecords = 0
        status.episodeValue.store(episode, ordering: .relaxed)
        status.episodeTickValue.store(0, ordering: .relaxed)
        if !safety.isStopping { setPhase(.resetting) }
        if let maxEpisodes = configuration.maxEpisodes, kept >= maxEpisodes { stopAfterEpisode = true }
    }

    /// "Redo" during the reset phase: discards the episode just finished.
    @inline(__always)
    private func discardLastCompleted() {
        guard var last = lastCompleted else { return }
        last.discarded = true
        last.reason = .redo
        outcomes.push(last)
        kept -= 1
        discarded += 1
        lastCompleted = nil
        stopAfterEpisode = false
        status.keptValue.store(kept, ordering: .relaxed)
        status.discardedValue.store(discarded, ordering: .relaxed)
    }
}
