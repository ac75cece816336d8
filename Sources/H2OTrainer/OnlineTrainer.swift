import Control
import FixedNN
import Foundation
import Synchronization
import SystemSupport
import Tasks

/// The one trainer thread (`robotctl run` on the robot): around a ``Learner``, H2O+ updates on
/// all real data logged so far (earlier datasets plus this run's transitions as the recorder
/// hands them over) interleaved with onboard-simulator rollouts into the sim FIFO — blocks of K
/// sim steps and M updates (`Hyperparameters.simStepsPerEpoch`, `updatesPerEpoch`); every P
/// updates (`publishEveryUpdates`) it validates the policy and publishes it into the slot.
/// The first `warmupUpdates` updates (re-armed by a calibration) are the critics-only mode of
/// the step (`UpdateMode.criticsOnly`) and publish nothing.
///
/// Validation before publishing: every parameter finite, finite actions on recent real
/// observations, and an onboard-simulator return no worse than the best published one by
/// more than `validationTolerance`. A diverged update (a non-finite loss or parameter)
/// restores the agent from the last published checkpoint and is logged; nothing non-finite
/// ever reaches the slot.
///
/// Thread contract: `start`/`stop` from the session thread; the learner is touched only by the
/// trainer thread; counters readable from any thread; publishing goes through `publisher`.
public final class OnlineTrainer<Task: SimulatedTask>: @unchecked Sendable {
    public let learner: OnlineLearner<Task>
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
    /// The onboard simulator candidates are validated in, from the same start states at every
    /// validation (its random stream is reseeded), so candidates compare on equal terms.
    private var validation: SimEnvironment<Task>
    private let validationSeed: UInt64

    /// `initialValidation` is the starting policy's onboard-simulator return.
    public init(
        learner: OnlineLearner<Task>, settings: OnRobotSettings, recorder: RunRecorder, publisher: PolicyPublisher,
        log: RunLog, loopTicks: @escaping @Sendable () -> UInt64, validationSeed: UInt64? = nil
    ) {
        self.learner = learner
        self.settings = settings
        self.recorder = recorder
        self.publisher = publisher
        self.log = log
        self.loopTicks = loopTicks
        checkpoint = learner.checkpoint()
        self.validationSeed = validationSeed ?? (settings.seed &+ 0x7A11D)
        validation = SimEnvironment(task: learner.simEnvironment.task, seed: self.validationSeed)
        bestValidation = 0
        warmupUntil = settings.warmupUpdates
        bestValidation = validate()
        publisher.recordValidation(version: publisher.slotVersion, value: bestValidation)
    }

    /// Mean return of `settings.validationEpisodes` deterministic episodes in the onboard
    /// simulator, from the same start states at every call. Real-time safe: does not allocate.
    private func validate() -> Double {
        validation.random = SimRandom(seed: validationSeed)
        return learner.evaluate(in: &validation, episodes: settings.validationEpisodes)
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
                var seeds = TrainerRandom(seed: validationSeed &+ UInt64(calibrations))
                learner.replaceSimulator(SimEnvironment(task: fit.task, seed: seeds.next()))
                validation = SimEnvironment(task: fit.task, seed: validationSeed)
                // Validation returns of the old simulator do not compare: the bar restarts at
                // the current policy's return in the calibrated one.
                bestValidation = validate()
                warmupUntil = updateCount + settings.warmupUpdates
                log.event("simulator_calibrated", fit.description + String(format: "; validation return now %.1f", bestValidation),
                          tick: loopTicks(), at: now)
            } else {
                log.event("simulator_not_calibrated", "system identification on \(trajectories.count) episode(s) gave no plausible fit; the simulator is unchanged",
                          tick: loopTicks(), at: now)
            }
        }
        let S = learner.simEnvironment.observationSize, A = learner.simEnvironment.actionSize
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
        let h = learner.hyperparameters
        while running.load(ordering: .acquiring) {
            ingest()
            learner.collect(h.simStepsPerEpoch)
            guard learner.real.count >= settings.minimumRealTransitions, learner.canUpdate else {
                usleep(20_000)
                continue
            }
            var diverged: String?
            for _ in 0..<h.updatesPerEpoch {
                if let d = divergeAtUpdate, updateCount + 1 >= d {
                    divergeAtUpdate = nil
                    learner.agent.policy.parameters[0] = .nan
                    learner.agent.q1.parameters[0] = .infinity
                }
                let warming = updateCount < warmupUntil && learner.algorithm == .h2oPlus
                let losses = learner.update(warming ? .criticsOnly : .full)
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
            if sincePublish >= h.publishEveryUpdates {
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
        let value = validate()
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
            checkpoint = learner.checkpoint()
            return
        }
        switch publisher.publish(buffer, source: "trainer") {
        case .success(let version):
            bestValidation = max(bestValidation, value)
            publisher.recordValidation(version: version, value: value)
            checkpoint = learner.checkpoint()
            log.swap(PolicySwap(seconds: log.seconds(at: now), tick: loopTicks(), version: version, trainerUpdates: updateCount, validationReturn: value))
        case .failure(let rejection):
            log.event("policy_rejected", rejection.description, tick: loopTicks(), at: now)
        }
    }
}
