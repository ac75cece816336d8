import Control
import FixedNN
import Foundation
import Synchronization

/// The trainer thread of a run: H2O+ updates on all real data logged so far (earlier
/// datasets plus this run's transitions as the recorder hands them over) interleaved with
/// onboard-simulator rollouts into the sim FIFO; every `publishEveryUpdates` updates it
/// validates the policy and publishes it into the slot.
///
/// Validation before publishing: every parameter finite, finite actions on recent real
/// observations, and an onboard-simulator return no worse than the best published one by
/// more than `validationTolerance`. A diverged update (a non-finite loss or parameter)
/// restores the agent from the last published checkpoint and is logged; nothing non-finite
/// ever reaches the slot.
///
/// Thread contract: `start`/`stop` from the session thread; the learner is touched only by the
/// trainer thread; counters readable from any thread; publishing goes through `publisher`.
public final class OnRobotTrainer<Task: SimulatedTask>: @unchecked Sendable {
    public let learner: OnRobotLearner<Task>
    public let settings: OnRobotSettings
    let recorder: RunRecorder
    let publisher: PolicyPublisher
    let log: RunLog
    let loopTicks: @Sendable () -> UInt64
    private let running = Atomic<Bool>(false)
    private let updates = Atomic<Int>(0)
    private var thread: NativeThread?
    private var checkpoint: SafeTensors
    private var bestValidation: Double
    /// Test hook: make the agent's parameters non-finite at this update (a diverging trainer).
    public var divergeAtUpdate: Int?
    /// Calibrates the onboard simulator from the robot's finished episodes (tick by tick):
    /// returns the simulator task to train in and a one-line description, or nil if the
    /// episodes do not determine it. Called on the trainer thread after each of the first
    /// `settings.calibrationEpisodes` complete episodes, with the newest (up to 4) episodes.
    /// Set before `start`; nil: the simulator stays as it is.
    public var calibrate: (@Sendable ([RealTrajectory]) -> (task: Task, description: String)?)?
    private var trajectories: [RealTrajectory] = []
    private var calibrations = 0
    /// Updates before which only critics, V and discriminators train (re-armed by a calibration).
    private var warmupUntil: Int

    /// `initialValidation` is the starting policy's onboard-simulator return.
    public init(
        learner: OnRobotLearner<Task>, settings: OnRobotSettings, recorder: RunRecorder, publisher: PolicyPublisher,
        log: RunLog, loopTicks: @escaping @Sendable () -> UInt64
    ) {
        self.learner = learner
        self.settings = settings
        self.recorder = recorder
        self.publisher = publisher
        self.log = log
        self.loopTicks = loopTicks
        checkpoint = AgentFile.tensors(of: learner.agent, algorithm: learner.algorithm)
        bestValidation = learner.evaluateSim(episodes: settings.validationEpisodes)
        warmupUntil = settings.warmupUpdates
        publisher.recordValidation(version: publisher.slotVersion, value: bestValidation)
    }

    /// Updates taken so far (any thread).
    public var updateCount: Int { updates.load(ordering: .relaxed) }

    public func start() throws(SystemError) {
        running.store(true, ordering: .releasing)
        thread = try NativeThread(name: "robotctl-train") { [self] in self.loop() }
    }

    public func stop() {
        running.store(false, ordering: .releasing)
        thread?.join()
        thread = nil
    }

    private func ingest() {
        let p = recorder.takeTransitions()
        if let calibrate, !p.trajectories.isEmpty, calibrations < settings.calibrationEpisodes {
            trajectories += p.trajectories
            if trajectories.count > 4 { trajectories.removeFirst(trajectories.count - 4) }
            calibrations += p.trajectories.count
            let now = monotonicNanos()
            if let fit = calibrate(trajectories) {
                learner.replaceSimulator(fit.task)
                // Validation returns of the old simulator do not compare: the bar restarts at
                // the current policy's return in the calibrated one.
                bestValidation = learner.evaluateSim(episodes: settings.validationEpisodes)
                warmupUntil = updateCount + settings.warmupUpdates
                log.event("simulator_calibrated", fit.description + String(format: "; validation return now %.1f", bestValidation),
                          tick: loopTicks(), at: now)
            } else {
                log.event("simulator_not_calibrated", "system identification on \(trajectories.count) episode(s) gave no plausible fit; the simulator is unchanged",
                          tick: loopTicks(), at: now)
            }
        }
        let S = learner.task.observationSize, A = learner.task.actionSize
        p.observations.withUnsafeBufferPointer { o in
            p.actions.withUnsafeBufferPointer { a in
                p.nextObservations.withUnsafeBufferPointer { n in
                    for i in 0..<p.count {
                        learner.addReal(
                            observation: o.baseAddress! + i * S, action: a.baseAddress! + i * A, reward: p.rewards[i],
                            nextObservation: n.baseAddress! + i * S, terminal: p.terminals[i])
                    }
                }
            }
        }
    }

    private func loop() {
        let names = StepLosses().named.map(\.0)
        var sums = [Double](repeating: 0, count: names.count)
        var sinceMetrics = 0
        var sincePublish = 0
        while running.load(ordering: .acquiring) {
            ingest()
            learner.collectSim(settings.simStepsPerBlock)
            guard learner.real.count >= settings.minimumRealTransitions, learner.canUpdate else {
                usleep(20_000)
                continue
            }
            var diverged: String?
            for _ in 0..<settings.updatesPerBlock {
                if let d = divergeAtUpdate, updateCount + 1 >= d {
                    divergeAtUpdate = nil
                    learner.agent.policy.parameters[0] = .nan
                    learner.agent.q1.parameters[0] = .infinity
                }
                let warming = updateCount < warmupUntil && learner.algorithm == .h2oPlus
                let losses = warming ? learner.warmupUpdate() : learner.update()
                updates.add(1, ordering: .relaxed)
                if let bad = losses.firstNonFinite {
                    diverged = "\(bad.name) became \(bad.value)"
                    break
                }
                for (i, v) in losses.named.enumerated() { sums[i] += Double(v.1) }
                sinceMetrics += 1
                if !warming { sincePublish += 1 }
            }
            if diverged == nil && !learner.agent.allFinite { diverged = "a parameter became non-finite" }
            if let diverged {
                restore(reason: diverged)
                sincePublish = 0
                continue
            }
            if sinceMetrics >= 200 {
                let row = TrainerMetricsRow(
                    step: updateCount, seconds: log.seconds(at: monotonicNanos()),
                    values: sums.map { Float($0 / Double(sinceMetrics)) } + [
                        Float(learner.real.count), Float(learner.sim.count), Float(learner.simEpisodeReturns.last ?? .nan),
                    ])
                log.metrics(names: names + ["buffers/real", "buffers/sim", "charts/sim_episode_return"], row: row)
                sums = [Double](repeating: 0, count: names.count)
                sinceMetrics = 0
            }
            if sincePublish >= settings.publishEveryUpdates {
                sincePublish = 0
                validateAndPublish()
            }
        }
    }

    private func restore(reason: String) {
        let at = updateCount
        do {
            learner.agent = try AgentFile.agent(from: checkpoint, base: learner.agent.hyperparameters, source: "last published checkpoint")
            log.event("trainer_diverged", "update \(at): \(reason); restored the last published checkpoint, the robot keeps the running policy",
                      tick: loopTicks(), at: monotonicNanos())
        } catch {
            log.event("trainer_diverged", "update \(at): \(reason); restoring the checkpoint failed (\(error)); training stopped",
                      tick: loopTicks(), at: monotonicNanos())
            running.store(false, ordering: .releasing)
        }
    }

    private func validateAndPublish() {
        let now = monotonicNanos()
        guard learner.agent.allFinite else {
            log.event("policy_rejected", "non-finite parameters", tick: loopTicks(), at: now)
            return
        }
        let value = learner.evaluateSim(episodes: settings.validationEpisodes)
        guard value.isFinite, value >= bestValidation - settings.validationTolerance else {
            log.event("policy_rejected", String(format: "simulator validation return %.1f below the published %.1f minus %.0f", value, bestValidation, settings.validationTolerance),
                      tick: loopTicks(), at: now)
            return
        }
        let buffer = UnsafeBufferPointer(start: learner.agent.policy.parameters.baseAddress, count: learner.agent.policy.parameters.count)
        if settings.selectOnRobot {
            // The session tries it on the robot at the next episode boundary.
            guard buffer.allSatisfy({ $0.isFinite }) else { return }
            publisher.offer(PolicyCandidate(parameters: Array(buffer), trainerUpdates: updateCount, validationReturn: value))
            bestValidation = max(bestValidation, value)
            checkpoint = AgentFile.tensors(of: learner.agent, algorithm: learner.algorithm)
            return
        }
        switch publisher.publish(buffer, source: "trainer") {
        case .success(let version):
            bestValidation = max(bestValidation, value)
            publisher.recordValidation(version: version, value: value)
            checkpoint = AgentFile.tensors(of: learner.agent, algorithm: learner.algorithm)
            log.swap(PolicySwap(seconds: log.seconds(at: now), tick: loopTicks(), version: version, trainerUpdates: updateCount, validationReturn: value))
        case .failure(let rejection):
            log.event("policy_rejected", rejection.description, tick: loopTicks(), at: now)
        }
    }
}

/// Serialises every publish into the policy slot (trainer candidates, roll-backs, test
/// injections) so the slot keeps exactly one producer at a time, and remembers the parameters
/// of each published version for roll-back.
///
/// Thread contract: any thread except the control thread (it locks).
public final class PolicyPublisher: @unchecked Sendable {
    public let slot: PolicySlot<DeterministicPolicy>
    private let state: Mutex<State>
    private let candidate = Mutex<PolicyCandidate?>(nil)
    struct State {
        var parameters: [UInt64: [Float]] = [:]
        var bad: Set<UInt64> = []
        var validation: [UInt64: Double] = [:]
        var source: [UInt64: String] = [:]
    }

    /// `initial` are the parameters of the slot's version 1.
    public init(slot: PolicySlot<DeterministicPolicy>, initial: [Float]) {
        self.slot = slot
        state = Mutex(State(parameters: [1: initial], source: [1: "starting policy"]))
    }

    public var slotVersion: UInt64 { slot.latestPublishedVersion }

    /// Validates (shape, finite) and publishes; returns the new version.
    public func publish(_ parameters: UnsafeBufferPointer<Float>, source: String) -> Result<UInt64, PolicyRejection> {
        state.withLock { s in
            do throws(PolicyRejection) {
                let published = try slot.publish(parameters: parameters)
                s.parameters[published.version] = Array(parameters)
                s.source[published.version] = source
                // Keep memory bounded: the newest 8 versions are enough to roll back.
                if s.parameters.count > 8, let oldest = s.parameters.keys.min() { s.parameters[oldest] = nil }
                return .success(published.version)
            } catch {
                return .failure(error)
            }
        }
    }

    /// The newest validated candidate waiting to be tried (replaces an older one). Trainer thread.
    public func offer(_ c: PolicyCandidate) { candidate.withLock { $0 = c } }

    /// Takes the waiting candidate, if any. Session thread.
    public func takeCandidate() -> PolicyCandidate? { candidate.withLock { c in defer { c = nil }; return c } }

    public func recordValidation(version: UInt64, value: Double) { state.withLock { $0.validation[version] = value } }

    /// Marks `version` as bad (it made the safety layer stop the robot) and republishes the
    /// newest earlier version not marked bad. Returns the version rolled back to, or nil when
    /// there is none.
    public func rollBack(from version: UInt64) -> (from: UInt64, to: UInt64, newVersion: UInt64)? {
        let target: (UInt64, [Float])? = state.withLock { s in
            s.bad.insert(version)
            guard let v = s.parameters.keys.filter({ $0 < version && !s.bad.contains($0) }).max() else { return nil }
            return (v, s.parameters[v]!)
        }
        guard let (good, params) = target else { return nil }
        let result = params.withUnsafeBufferPointer { publish($0, source: "roll-back to v\(good)") }
        guard case .success(let newVersion) = result else { return nil }
        state.withLock { $0.validation[newVersion] = $0.validation[good] }
        return (version, good, newVersion)
    }

    /// True if `version` made the safety layer stop the robot.
    public func isBad(_ version: UInt64) -> Bool { state.withLock { $0.bad.contains(version) } }
}

/// A validated policy the trainer proposes, waiting to be tried on the robot.
public struct PolicyCandidate: Sendable {
    public var parameters: [Float]
    public var trainerUpdates: Int
    /// Onboard-simulator validation return.
    public var validationReturn: Double
}
