import ArgumentParser
import Benchmarks
import Tasks
import Foundation
import H2OTrainer

/// `robotctl train run` (the default of `robotctl train`): the epoch loop on a task given by files.
struct TrainRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Train a policy with H2O+ (or a baseline) on real data plus the onboard simulator.",
        discussion: """
            The task is a robot file and a task file (--robot, --task; default the \
            pendulum swing-up); --param sets the onboard simulator's parameters (see \
            `robotctl sim params`). Each epoch collects --sim-steps transitions with the stochastic policy in the \
            onboard simulator, then runs --updates updates on half-real, half-sim batches. \
            Every --eval-every epochs the deterministic policy is evaluated on the emulated \
            plant. After every epoch OUT/checkpoint.safetensors is replaced atomically and a row \
            is appended to OUT/metrics.csv; at the end OUT/policy.safetensors is written for \
            robotctl run. Without --data, real data are random-action transitions on the \
            emulated plant (the robot file's mechanism on the emulated robot's physics). Every input is checked before the first update.

            Example: robotctl train --robot robots/acrobot.json --task tasks/acrobot-swingup.json \
            --preset robot --epochs 20 --out runs/acrobot
            """)

    @OptionGroup var files: TaskFileOptions

    @Option(help: "Real transitions: a D4RL-style .npz (observations, actions, rewards, next_observations, terminals).")
    var data: String?

    @Option(help: "Random-action real transitions to collect on the emulated plant when --data is not given.")
    var randomReal = 2000

    @Option(help: "Hyperparameter preset: robot or mujoco.")
    var preset = "robot"

    @Option(help: "Algorithm: h2o+, h2o, sac-sim or iql-real.")
    var algorithm = "h2o+"

    @Option(help: "Epochs to train (in total, including those of a resumed checkpoint).")
    var epochs = 10

    @Option(help: "Sim steps per epoch (K); default from the preset.")
    var simSteps: Int?

    @Option(help: "Updates per epoch (M); default from the preset.")
    var updates: Int?

    @Option(help: "Evaluate every N epochs; default from the preset.")
    var evalEvery: Int?

    @Option(help: "The one seed every random draw derives from.")
    var seed: UInt64 = 1

    @Option(help: "Output directory.")
    var out = "runs/train"

    @Option(help: "Checkpoint to resume from (usually OUT/checkpoint.safetensors).")
    var resume: String?

    @Option(help: "Threads per update: 1, or 2 (the discriminators and Q2 on a second, persistent thread; same results).")
    var threads = 1

    @Flag(help: "LayerNorm in the critics and V (Hyperparameters.criticLayernorm).")
    var criticLayernorm = false

    @Option(help: "Q critics, N ≥ 2; targets take the min over all N (Hyperparameters.criticEnsemble).")
    var criticEnsemble = 2

    @Flag(help: "Do not draw the progress bar.")
    var quiet = false

    func validate() throws {
        guard Hyperparameters.preset(named: preset) != nil else {
            throw ValidationError("unknown --preset '\(preset)'; use \(Hyperparameters.presetNames.joined(separator: " or "))")
        }
        guard Algorithm(rawValue: algorithm) != nil else {
            throw ValidationError("unknown --algorithm '\(algorithm)'; use one of \(Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard threads == 1 || threads == 2 else { throw ValidationError("--threads must be 1 or 2") }
        guard criticEnsemble >= 2 && criticEnsemble <= 16 else {
            throw ValidationError("--critic-ensemble \(criticEnsemble): use 2 to 16 critics")
        }
    }

    func run() throws {
        var h = Hyperparameters.preset(named: preset)!
        h.seed = seed
        if let simSteps { h.simStepsPerEpoch = simSteps }
        if let updates { h.updatesPerEpoch = updates }
        if let evalEvery { h.evaluateEveryEpochs = evalEvery }
        h.criticLayernorm = criticLayernorm
        h.criticEnsemble = criticEnsemble
        var o = Training.Options(outputDirectory: out)
        o.algorithm = Algorithm(rawValue: algorithm)!
        o.hyperparameters = h
        o.epochs = epochs
        o.dataset = data
        o.randomRealTransitions = randomReal
        o.resume = resume
        o.progress = !quiet
        o.stepThreads = threads
        let task = try files.load()
        let s = try Training.train(task: task, o)
        print("trained \(s.epochs) epochs, \(s.updates) updates; last eval return \(s.lastEvalReturn.map { String(format: "%.1f", $0) } ?? "n/a")")
        print("checkpoint: \(s.checkpoint)\npolicy: \(s.policy)")
    }
}
