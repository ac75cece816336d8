import Control
import FixedNN
import Foundation
import H2OTrainer
import Tasks

/// The dynamics-gap benchmark (`robotctl bench gap`): each algorithm (H2O+, H2O, SAC on the
/// onboard simulator only, IQL on real data only) trains with the onboard simulator's
/// nominal model as its sim domain and an offline dataset recorded on the real plant (the
/// emulated robot's C physics with a named gap) as its real data, and is evaluated on that
/// real plant: the mean undiscounted return of deterministic episodes from hanging, every
/// few thousand updates (the learning curve) and after the last update (the table), per
/// seed. Reference rows give the scale: the scripted swing-up controller (pendulum), zero
/// action, and the real dataset's own episodes.
///
/// Set-up code: allocates, writes a temporary dataset; single-threaded.
public enum GapBenchmark {
    /// What to run.
    public struct Options: Sendable {
        public var task = GapTaskName.pendulum
        /// A name from `task.gaps`.
        public var gap = "none"
        public var algorithms: [Algorithm] = Algorithm.allCases
        /// Also run `sac-matched-sim`: SAC on the sim with the gap's `simMatch` assignments (an approximate oracle).
        public var matchedSim = false
        public var seeds: [UInt64] = [1, 2, 3, 4, 5]
        /// Updates per run (rounded up to whole epochs of `hyperparameters.updatesPerEpoch`).
        public var budgetUpdates = 20_000
        /// Learning-curve evaluation period in updates (rounded to whole epochs; the last epoch is always evaluated).
        public var evaluateEveryUpdates = 2000
        /// Deterministic real-plant (and sim) episodes per evaluation. A seed's score is the
        /// mean of its last `GapStatistics.scorePoints` (5) evaluations, 100 episodes in all.
        public var evaluationEpisodes = 20
        /// Also run `sac-real-oracle`: SAC trained on the real plant itself (a ceiling, not a competitor).
        public var realOracle = false
        /// The dynamic-programming ceiling's grid (pendulum only; nil: no DP ceiling row).
        public var ceiling: PendulumCeiling.Options? = PendulumCeiling.Options()
        /// Where the onboard simulator's training episodes start.
        public var simReset = SimResetMode.task
        /// Network sizes, losses and the per-epoch loop (γ is set to the task's).
        public var hyperparameters: Hyperparameters = .robot
        /// Which real dataset, how many episodes, and (medium kinds) the behaviour training budget.
        public var realData = RealDataKind.mediumReplay
        public var realEpisodes = 20
        public var behaviourUpdates = 20_000
        /// Onboard simulator assignments on top of the nominal model, e.g. ["gravity=12"] (normally none).
        public var simAssignments: [String] = []
        /// Extra real plant parameters (plant.h names) on top of the gap's, e.g. ["coulomb": 0.2].
        public var plantParameters: [String: Double] = [:]
        public init() {}
    }

    /// One point of a learning curve.
    public struct CurvePoint: Sendable, Codable, Equatable {
        public var method: String
        public var seed: UInt64
        public var updates: Int
        public var simSteps: Int
        /// Mean return of deterministic episodes from hanging on the real plant.
        public var realReturn: Double
        /// Mean return of deterministic episodes in the onboard simulator (its own reset distribution).
        public var simReturn: Double
        /// Wall-clock seconds since the run started.
        public var seconds: Double
        /// Mean clipped sim weight w_c over the last epoch's updates (1 without discriminators; NaN at 0 updates).
        public var simWeightMean: Double = .nan
        /// Entropy temperature α over the last epoch's updates (NaN at 0 updates).
        public var alpha: Double = .nan
    }

    /// A fixed controller on the real plant.
    public struct Reference: Sendable, Codable, Equatable {
        public var name: String
        public var realReturn: Double
    }

    /// Everything one invocation measured, with its configuration.
    public struct Report: Sendable, Codable {
        public var task: GapTaskName
        public var gap: String
        public var gapDoc: String
        public var plantAssignments: [String]
        public var simAssignments: [String]
        public var realData: GapRealData.Summary
        public var budgetUpdates: Int
        public var updatesPerEpoch: Int
        public var simStepsPerEpoch: Int
        public var hyperparameters: Hyperparameters
        public var evaluationEpisodes: Int
        public var seeds: [UInt64]
        public var references: [Reference]
        /// Ceilings measured on the real plant (the dynamic-programming optimum of the pendulum).
        public var ceilings: [Reference] = []
        /// Episodes of every reference and ceiling row (`GapStatistics.scorePoints` × evaluation episodes).
        public var referenceEpisodes: Int = 0
        public var simReset: SimResetMode = .task
        public var curves: [CurvePoint]
        public var wallSeconds: Double

        /// The last curve point of every method × seed, in run order.
        public var finals: [CurvePoint] {
            var last: [String: CurvePoint] = [:]
            var order: [String] = []
            for p in curves {
                let key = "\(p.method)#\(p.seed)"
                if last[key] == nil { order.append(key) }
                last[key] = p
            }
            return order.map { last[$0]! }
        }
    }

    /// The named gap with `plantParameters` merged in, or an error naming `--gap` and the allowed values.
    public static func gap(_ o: Options) throws -> GapDefinition {
        guard var g = o.task.gap(named: o.gap) else {
            throw SimError(
                "--gap \(o.gap): unknown for \(o.task.rawValue); use one of: \(o.task.gaps.map(\.name).joined(separator: ", "))")
        }
        g.plant.merge(o.plantParameters) { $1 }
        return g
    }

    /// Runs everything; `progress` gets one line per finished piece.
    public static func run(_ o: Options, progress: (String) -> Void = { _ in }) throws -> Report {
        let gap = try gap(o)
        switch o.task {
        case .pendulum:
            var p = o.task.pendulumTask.parameters
            try p.apply(assignments: gap.sim + o.simAssignments)
            let real = o.task.pendulumTask
            let controller = PendulumSwingUpController(task: real)
            var matched = p
            try matched.apply(assignments: gap.simMatch)
            return try run(
                o, gap: gap, simTask: PendulumTask(parameters: p), matchedSimTask: PendulumTask(parameters: matched),
                realTask: real,
                scripted: ("scripted swing-up controller", { obs, a in a[0] = controller.action(observation: obs) }),
                ceiling: o.ceiling.map { grid in
                    { plant, episodes in
                        let dp = try PendulumCeiling(task: real, plantParameters: gap.plant, options: grid)
                        return (
                            "dynamic programming on the real plant (\(grid.angleCells)×\(grid.speedCells) grid; \(grid.actions) actions; \(dp.iterations) sweeps)",
                            dp.evaluate(on: &plant, episodes: episodes)
                        )
                    }
                },
                teleop: { directory in
                    var t = TeleopDataset.Options()
                    t.episodes = o.realEpisodes
                    t.plantParameters = gap.plant
                    t.seed = 0x7E1E
                    let s = try TeleopDataset.recordPendulum(task: real, directory: directory, options: t)
                    return GapRealData.Summary(
                        kind: .teleop, episodes: s.returns.count, records: s.records,
                        meanReturn: s.returns.reduce(0, +) / Double(max(s.returns.count, 1)))
                }, progress: progress)
        case .cartpole:
            var p = o.task.cartPoleTask.parameters
            try p.apply(assignments: gap.sim + o.simAssignments)
            var matched = p
            try matched.apply(assignments: gap.simMatch)
            return try run(
                o, gap: gap, simTask: CartPoleTask(parameters: p), matchedSimTask: CartPoleTask(parameters: matched),
                realTask: o.task.cartPoleTask, scripted: nil, ceiling: nil,
                teleop: nil, progress: progress)
        }
    }

    typealias Policy = (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    /// Measures a ceiling on the given real plant over the given number of episodes: its row name and return.
    typealias Ceiling<T: PlantBackedTask> = (inout RealPlantEnvironment<T>, Int) throws -> (String, Double)

    static func run<T: SimulatedTask & PlantBackedTask>(
        _ o: Options, gap: GapDefinition, simTask: T, matchedSimTask: T, realTask: T, scripted: (String, Policy)?,
        ceiling: Ceiling<T>?, teleop: ((String) throws -> GapRealData.Summary)?, progress: (String) -> Void
    ) throws -> Report {
        let wallStart = Date()
        var h = o.hyperparameters
        h.gamma = realTask.discount
        h.evaluationEpisodes = o.evaluationEpisodes
        h.evaluateEveryEpochs = Int.max / 2
        if o.budgetUpdates < h.updatesPerEpoch { h.updatesPerEpoch = max(o.budgetUpdates, 1) }
        try h.validate()
        guard !o.seeds.isEmpty, !o.algorithms.isEmpty || o.matchedSim || o.realOracle else {
            throw SimError("--seeds and --methods need at least one value each")
        }
        let epochs = max(1, (o.budgetUpdates + h.updatesPerEpoch - 1) / h.updatesPerEpoch)
        let evaluateEvery = max(1, o.evaluateEveryUpdates / h.updatesPerEpoch)

        // References and ceilings on the real plant, over as many episodes as a seed's score.
        let referenceEpisodes = GapStatistics.scorePoints * o.evaluationEpisodes
        var references: [Reference] = []
        var ceilings: [Reference] = []
        var plant = try RealPlantEnvironment(task: realTask, parameters: gap.plant, seed: 0xBEEF)
        if let (name, policy) = scripted {
            references.append(Reference(name: name, realReturn: referenceReturn(&plant, episodes: referenceEpisodes, policy: policy)))
        }
        references.append(
            Reference(
                name: "zero action",
                realReturn: referenceReturn(&plant, episodes: referenceEpisodes) { _, a in
                    for j in 0..<realTask.actionSize { a[j] = 0 }
                }))
        if let ceiling {
            let started = Date()
            var ceilingPlant = try RealPlantEnvironment(task: realTask, parameters: gap.plant, seed: 0xCE11)
            let (name, r) = try ceiling(&ceilingPlant, referenceEpisodes)
            ceilings.append(Reference(name: name, realReturn: r))
            progress("ceiling, \(name): real return \(String(format: "%.1f", r)) (\(String(format: "%.0f", Date().timeIntervalSince(started))) s)")
        }

        // The real dataset: recorded once, shared by every run (as a lab's logged data is).
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("robotctl-gap-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let realData: GapRealData.Summary
        if o.realData == .teleop {
            guard let teleop else {
                throw SimError(
                    "--real-data teleop: no scripted operator for \(o.task.rawValue); use one of: \(RealDataKind.allCases.filter { $0 != .teleop }.map(\.rawValue).joined(separator: ", "))"
                )
            }
            realData = try teleop(directory)
        } else {
            var d = GapRealData.Options()
            d.kind = o.realData
            d.episodes = o.realEpisodes
            d.behaviourUpdates = o.behaviourUpdates
            d.plantParameters = gap.plant
            realData = try GapRealData.recordBehaviour(
                simTask: simTask, realTask: realTask,
                schema: GapRealData.schema(task: o.task, controlPeriod: realTask.controlPeriod, source: o.realData.rawValue),
                hyperparameters: h, directory: directory, options: d)
        }
        references.append(Reference(name: "real data episodes (\(o.realData.rawValue))", realReturn: realData.meanReturn))
        for r in references { progress("\(r.name): real return \(String(format: "%.1f", r.realReturn))") }
        let arrays = try DatasetReader(directory: directory).d4rlArrays()

        var curves: [CurvePoint] = []
        // Each method's training environment for a seed: the (edited) onboard simulator, or the real plant.
        typealias Environment = (UInt64) throws -> GapTrainingEnvironment<T>
        let simulator: Environment = { seed in GapTrainingEnvironment(task: simTask, reset: o.simReset, seed: seed ^ 0x51) }
        let realPlant: Environment = { seed in
            GapTrainingEnvironment(
                plant: try RealPlantEnvironment(task: realTask, parameters: gap.plant, seed: seed ^ 0x51), task: simTask,
                seed: seed ^ 0x51)
        }
        var methods: [(name: String, algorithm: Algorithm, environment: Environment)] = o.algorithms.map {
            ($0.rawValue, $0, gap.simIsPlant ? realPlant : simulator)
        }
        if o.matchedSim {
            methods.append(
                ("sac-matched-sim", .sacSim, { seed in GapTrainingEnvironment(task: matchedSimTask, reset: o.simReset, seed: seed ^ 0x51) }))
        }
        if o.realOracle { methods.append(("sac-real-oracle", .sacSim, realPlant)) }
        for (name, algorithm, environment) in methods {
            for seed in o.seeds {
                let start = Date()
                var hs = h
                hs.seed = seed
                let run = try TrainingRun(
                    algorithm: algorithm, hyperparameters: hs, real: replayBuffer(arrays), agent: nil,
                    simEnvironment: try environment(seed),
                    evalEnvironment: try RealPlantEnvironment(task: realTask, parameters: gap.plant, seed: seed ^ 0xE7A1))
                run.warmUp(simSteps: max(hs.batchSize, hs.simStepsPerEpoch))
                func point(_ epoch: TrainingRun<GapTrainingEnvironment<T>, RealPlantEnvironment<T>>.EpochReport? = nil) -> CurvePoint {
                    var simEval = SimEnvironment(task: simTask, seed: 0x5EE ^ seed)
                    let simReturn = run.learner.evaluate(in: &simEval, episodes: o.evaluationEpisodes)
                    let means = epoch.map { Dictionary($0.means, uniquingKeysWith: { a, _ in a }) } ?? [:]
                    return CurvePoint(
                        method: name, seed: seed, updates: run.epoch * hs.updatesPerEpoch,
                        simSteps: run.learner.sim.appended, realReturn: run.evaluate(episodes: o.evaluationEpisodes),
                        simReturn: simReturn, seconds: Date().timeIntervalSince(start),
                        simWeightMean: means["charts/sim_weight_mean"] ?? .nan, alpha: means["charts/alpha"] ?? .nan)
                }
                curves.append(point())
                while run.epoch < epochs {
                    let report = try run.runEpoch()
                    if run.epoch % evaluateEvery == 0 || run.epoch == epochs { curves.append(point(report)) }
                }
                let last = curves[curves.count - 1]
                progress(
                    "\(name) seed \(seed): real return \(String(format: "%.1f", last.realReturn)), sim return \(String(format: "%.1f", last.simReturn)) (\(last.updates) updates, \(String(format: "%.0f", last.seconds)) s)"
                )
            }
        }
        return Report(
            task: o.task, gap: gap.name, gapDoc: gap.doc, plantAssignments: gap.plantAssignments,
            simAssignments: gap.sim + o.simAssignments, realData: realData, budgetUpdates: epochs * h.updatesPerEpoch,
            updatesPerEpoch: h.updatesPerEpoch, simStepsPerEpoch: h.simStepsPerEpoch, hyperparameters: h,
            evaluationEpisodes: o.evaluationEpisodes, seeds: o.seeds, references: references, ceilings: ceilings,
            referenceEpisodes: referenceEpisodes, simReset: o.simReset, curves: curves,
            wallSeconds: Date().timeIntervalSince(wallStart))
    }

    /// Mean undiscounted return of `episodes` episodes of a reference `policy` (not a
    /// learner's: those use `Learner.evaluate(in:)`) in `env`. Allocates its buffers.
    static func referenceReturn<E: TaskEnvironment>(_ env: inout E, episodes: Int, policy: Policy) -> Double {
        let o = UnsafeMutablePointer<Float>.allocate(capacity: env.observationSize)
        let a = UnsafeMutablePointer<Float>.allocate(capacity: env.actionSize)
        defer {
            o.deallocate()
            a.deallocate()
        }
        return meanEpisodeReturn(in: &env, episodes: episodes, observation: o, action: a, policy: policy)
    }

    /// The D4RL arrays as a full-weight real replay buffer.
    static func replayBuffer(_ a: D4RLArrays) -> ReplayBuffer {
        var buffer = ReplayBuffer(
            observationSize: a.observationSize, actionSize: a.actionSize, capacity: max(a.count, 1),
            overflow: .refuse)
        a.observations.withUnsafeBufferPointer { o in
            a.actions.withUnsafeBufferPointer { act in
                a.nextObservations.withUnsafeBufferPointer { n in
                    for i in 0..<a.count {
                        buffer.append(
                            observation: o.baseAddress! + i * a.observationSize,
                            action: act.baseAddress! + i * a.actionSize, reward: a.rewards[i],
                            nextObservation: n.baseAddress! + i * a.observationSize, terminal: a.terminals[i])
                    }
                }
            }
        }
        return buffer
    }
}
