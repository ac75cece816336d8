import ArgumentParser
import Benchmarks
import Foundation
import H2OTrainer
import Tasks

/// `robotctl bench gap`: the dynamics-gap benchmark.
struct BenchGapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gap",
        abstract: "Train H2O+, H2O, SAC (sim only) and IQL (real only) across a dynamics gap and compare them on the real plant.",
        discussion: """
            Sim domain: the onboard simulator's nominal model of the task. Real domain: the \
            emulated robot's plant physics (firmware-proto/plant) with the named gap, stepped \
            directly. Real data: an offline dataset recorded once on that real plant and \
            shared by every run (--real-data). Every method runs --budget-updates updates per \
            seed; its deterministic policy is evaluated on the real plant every --eval-every \
            updates and after the last one. The result is a CSV of learning curves, an SVG \
            plot (mean and spread over seeds per method) and a Markdown table (mean and \
            standard deviation over seeds of the final real-plant return, beside the \
            reference rows: scripted controller, zero action, the real data's own episodes).

            Tasks: \(GapTaskName.allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: "; ")).

            Gaps (real plant versus the sim's nominal model): \(gapList).

            Real data: teleop (scripted noisy operator, pendulum only), medium (a policy \
            trained briefly by SAC in the sim, run with its stochastic actions), medium-replay \
            (one episode of each successive policy of that training).

            Example: robotctl bench gap --task pendulum --gap friction --seeds 5 \
            --methods h2o+,h2o,sac-sim,iql-real --budget-updates 20000 --out bench-results/gap-pendulum-friction
            """)

    static var gapList: String {
        GapTaskName.allCases.map { task in
            task.rawValue + ": " + task.gaps.map { "\($0.name) (\($0.doc))" }.joined(separator: ", ")
        }.joined(separator: "; ")
    }

    @Option(help: "Task: pendulum or cartpole.")
    var task = "pendulum"
    @Option(help: "Named dynamics gap of the task (listed above).")
    var gap = "none"
    @Option(help: "Seeds: a count N (seeds 1 to N) or a comma-separated list, e.g. 1,2,7.")
    var seeds = "5"
    @Option(
        name: [.customLong("methods"), .customLong("algorithms")],
        help: "Comma-separated methods: h2o+, h2o, sac-sim, iql-real, sac-matched-sim (SAC on the sim with the gap's parameters set: an approximate oracle, not a competitor) and sac-real-oracle (SAC trained on the real plant itself: a ceiling).")
    var methods = "h2o+,h2o,sac-sim,iql-real"
    @Option(help: "Updates per run (whole epochs).")
    var budgetUpdates = 20_000
    @Option(help: "Learning-curve evaluation period, updates.")
    var evalEvery = 2000
    @Option(help: "Deterministic evaluation episodes per point (a seed's score: the mean of its last 5 points).")
    var evalEpisodes = 20
    @Option(help: "Pendulum: nodes per axis of the dynamic-programming ceiling's (θ, θ̇) grid; 0 leaves the ceiling out.")
    var ceilingGrid = 201
    @Option(help: "Pendulum: evenly spaced actions in [-1, 1] of the dynamic-programming ceiling.")
    var ceilingActions = 21
    @Option(help: "Where the sim's training episodes start: task (the simulator's own reset), hanging (as the real data) or mixed (alternating).")
    var simReset = "task"
    @Option(help: "Hyperparameter preset: robot or mujoco.")
    var preset = "robot"
    @Option(help: "Updates per epoch (preset value when omitted).")
    var updatesPerEpoch: Int?
    @Option(help: "Sim steps per epoch (preset value when omitted).")
    var simStepsPerEpoch: Int?
    @Option(help: "Hidden width of the policy, critics and V (preset value when omitted).")
    var hiddenSize: Int?
    @Option(help: "RL batch size, half real and half sim (preset value when omitted).")
    var batchSize: Int?
    @Option(help: "Adam learning rate of every network (preset value when omitted).")
    var learningRate: Double?
    @Option(help: "H2O+ exploit coefficient λ of the V-anchored target (preset value when omitted).")
    var exploitCoefficient: Double?
    @Option(help: "Lower clip of the sim importance weight; 1 turns the discriminator weighting off (preset value when omitted).")
    var simWeightMin: Double?
    @Flag(help: "LayerNorm in every method's critics and V (Hyperparameters.criticLayernorm).")
    var criticLayernorm = false
    @Option(help: "Q critics per method, N ≥ 2; targets take the min over all N (Hyperparameters.criticEnsemble).")
    var criticEnsemble: Int?
    @Option(help: "Real dataset kind: teleop, medium or medium-replay.")
    var realData = "medium-replay"
    @Option(help: "Episodes in the real dataset.")
    var realEpisodes = 20
    @Option(help: "SAC updates that train the behaviour policy of the medium kinds.")
    var behaviourUpdates = 20_000
    @Option(
        name: .customLong("sim-param"),
        help: ArgumentHelp("Onboard simulator parameter over the nominal model, repeatable.", valueName: "name=value"))
    var simParams: [String] = []
    @Option(
        name: .customLong("plant-param"),
        help: ArgumentHelp("Real plant parameter over the gap's, repeatable.", valueName: "name=value"))
    var plantParams: [String] = []
    @Option(
        help: ArgumentHelp(
            "Write PREFIX.csv (curves), PREFIX.svg (plot), PREFIX.md (table) and PREFIX.json; without it the table goes to standard output.",
            valueName: "PREFIX"))
    var out: String?

    /// The options, or a one-line error naming the flag and the allowed values.
    func options() throws -> GapBenchmark.Options {
        var o = GapBenchmark.Options()
        guard let t = GapTaskName(rawValue: task) else {
            throw UserError("--task \(task): unknown task; use one of: \(GapTaskName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        o.task = t
        guard t.gap(named: gap) != nil else {
            throw UserError("--gap \(gap): unknown gap for \(task); use one of: \(t.gaps.map(\.name).joined(separator: ", "))")
        }
        o.gap = gap
        if !seeds.contains(","), let n = Int(seeds) {
            guard n >= 1 else { throw UserError("--seeds \(seeds): give a count ≥ 1 or a list such as 1,2,3") }
            o.seeds = (1...n).map(UInt64.init)
        } else {
            o.seeds = try seeds.split(separator: ",").map {
                guard let s = UInt64($0.trimmingCharacters(in: .whitespaces)) else {
                    throw UserError("--seeds \(seeds): use a count N or comma-separated whole numbers, e.g. 1,2,3")
                }
                return s
            }
        }
        let allowed = (Algorithm.allCases.map(\.rawValue) + ["sac-matched-sim", "sac-real-oracle"]).joined(separator: ", ")
        o.algorithms = []
        for part in methods.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            if name == "sac-matched-sim" {
                o.matchedSim = true
            } else if name == "sac-real-oracle" {
                o.realOracle = true
            } else if let a = Algorithm(rawValue: name) {
                o.algorithms.append(a)
            } else {
                throw UserError("--methods: unknown method '\(name)'; use one of: \(allowed)")
            }
        }
        guard !o.algorithms.isEmpty || o.matchedSim || o.realOracle else { throw UserError("--methods: give at least one of \(allowed)") }
        guard var h = Hyperparameters.preset(named: preset) else {
            throw UserError("--preset \(preset): unknown preset; use one of: \(Hyperparameters.presetNames.joined(separator: ", "))")
        }
        if let u = updatesPerEpoch { h.updatesPerEpoch = u }
        if let s = simStepsPerEpoch { h.simStepsPerEpoch = s }
        if let v = hiddenSize { h.hiddenSize = v }
        if let v = batchSize { h.batchSize = v }
        if let v = learningRate { h.learningRate = v }
        if let v = exploitCoefficient { h.exploitCoefficient = v }
        if let v = simWeightMin { h.simWeightMin = v }
        if criticLayernorm { h.criticLayernorm = true }
        if let v = criticEnsemble { h.criticEnsemble = v }
        do { try h.validate() } catch { throw UserError("\(error)") }
        o.hyperparameters = h
        guard let kind = RealDataKind(rawValue: realData) else {
            throw UserError("--real-data \(realData): unknown kind; use one of: \(RealDataKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        o.realData = kind
        guard budgetUpdates >= 1, evalEvery >= 1, evalEpisodes >= 1, realEpisodes >= 1, behaviourUpdates >= 1 else {
            throw UserError("--budget-updates, --eval-every, --eval-episodes, --real-episodes and --behaviour-updates must be ≥ 1")
        }
        o.budgetUpdates = budgetUpdates
        o.evaluateEveryUpdates = evalEvery
        o.evaluationEpisodes = evalEpisodes
        o.realEpisodes = realEpisodes
        o.behaviourUpdates = behaviourUpdates
        o.simAssignments = simParams
        guard let reset = SimResetMode(rawValue: simReset) else {
            throw UserError("--sim-reset \(simReset): unknown start distribution; use one of: \(SimResetMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        o.simReset = reset
        guard ceilingGrid == 0 || ceilingGrid >= 4, ceilingActions >= 2 else {
            throw UserError("--ceiling-grid \(ceilingGrid) --ceiling-actions \(ceilingActions): use a grid of 0 (no ceiling) or ≥ 4 nodes and ≥ 2 actions")
        }
        if ceilingGrid == 0 {
            o.ceiling = nil
        } else {
            var c = PendulumCeiling.Options()
            c.angleCells = ceilingGrid
            c.speedCells = ceilingGrid
            c.actions = ceilingActions
            o.ceiling = c
        }
        for assignment in plantParams {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw UserError("--plant-param \(assignment): not name=number; example: coulomb=0.15")
            }
            o.plantParameters[parts[0]] = value
        }
        return o
    }

    func run() throws {
        let o = try options()
        let report: GapBenchmark.Report
        do {
            report = try GapBenchmark.run(o) { Console.shared.log(.info, "bench gap: \($0)") }
        } catch let e as SimError {
            throw UserError(e.description)
        } catch let e as RealPlantError {
            throw UserError(e.description)
        }
        let command = (["robotctl"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let date = ISO8601DateFormatter().string(from: Date())
        guard let prefix = out else {
            print(GapReport.markdown(report, command: command, date: date), terminator: "")
            return
        }
        let base = (prefix as NSString).lastPathComponent
        try writeFileAtomically(GapReport.csv(report), to: prefix + ".csv")
        try writeFileAtomically(GapReport.svg(report), to: prefix + ".svg")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try writeFileAtomically(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n", to: prefix + ".json")
        try writeFileAtomically(
            GapReport.markdown(report, command: command, date: date, files: [base + ".csv", base + ".svg", base + ".json"]),
            to: prefix + ".md")
        Console.shared.log(.info, "bench gap: wrote \(prefix).csv, .svg, .md and .json")
    }
}
