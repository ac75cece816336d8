import ArgumentParser
import Benchmarks
import Foundation
import H2OTrainer

/// `robotctl bench train`: time training steps at the `robot` and `mujoco` presets.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time one training step at the robot and mujoco presets (S = 3, A = 1).",
        discussion: """
            Runs warm-up steps, then times each step (batch sampling included) on random replay \
            data and prints the median, percentiles, FLOPs per step and the fraction of peak \
            FLOP rate (peak per core from --peak-gflops). Allocation-freedom of the step is \
            proven by the test suite, not here.

            Example: robotctl bench train --json --steps 300
            Example: robotctl bench train --presets mujoco --threads 2 --cpus 0,1
            """)

    @Flag(help: "Print the results as JSON.")
    var json = false

    @Option(help: "Timed steps per configuration.")
    var steps = 200

    @Option(help: "Presets to run, comma-separated (robot, mujoco).")
    var presets = "robot,mujoco"

    @Option(help: "Algorithm: h2o+, h2o, sac-sim or iql-real.")
    var algorithm = "h2o+"

    @Option(help: "Threads per step: 1, or 2 (the discriminators' phase on a second, persistent thread).")
    var threads = 1

    @Option(help: "CPUs to pin to, comma-separated: the calling thread on the first, the worker on the second (e.g. 0,1).")
    var cpus: String?

    @Option(help: "Peak single-core FLOP rate in GFLOP/s for the fraction-of-peak column (250 on a Zen 5 core).")
    var peakGflops = 250.0

    @Flag(help: "LayerNorm in the critics and V (Hyperparameters.criticLayernorm).")
    var criticLayernorm = false

    @Option(help: "Q critics, N ≥ 2 (Hyperparameters.criticEnsemble).")
    var criticEnsemble = 2

    func validate() throws {
        guard Algorithm(rawValue: algorithm) != nil else {
            throw ValidationError("unknown --algorithm '\(algorithm)'; use one of \(Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for name in presets.split(separator: ",") where Hyperparameters.preset(named: String(name)) == nil {
            throw ValidationError("unknown preset '\(name)'; use \(Hyperparameters.presetNames.joined(separator: " or "))")
        }
        guard threads == 1 || threads == 2 else { throw ValidationError("--threads must be 1 or 2") }
        if let cpus, cpus.split(separator: ",").contains(where: { Int32($0) == nil }) {
            throw ValidationError("--cpus takes CPU numbers separated by commas, e.g. 0,1")
        }
        guard steps >= 10 else { throw ValidationError("--steps must be at least 10") }
        guard criticEnsemble >= 2 && criticEnsemble <= 16 else { throw ValidationError("--critic-ensemble takes 2 to 16 critics") }
    }

    func run() throws {
        var results: [TrainBenchmark.Result] = []
        for name in presets.split(separator: ",").map(String.init) {
            var h = Hyperparameters.preset(named: name)!
            h.criticLayernorm = criticLayernorm
            h.criticEnsemble = criticEnsemble
            results.append(
                try TrainBenchmark.run(
                    preset: name, hyperparameters: h, algorithm: Algorithm(rawValue: algorithm)!, threads: threads,
                    cpus: cpus.map { $0.split(separator: ",").compactMap { Int32($0) } } ?? [], steps: steps,
                    peakGflopsPerCore: peakGflops))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            for r in results {
                print(
                    "\(r.preset): \(String(format: "%.3f", r.medianMilliseconds)) ms/step (thread CPU \(String(format: "%.3f", r.medianThreadCPUMilliseconds)) ms, process CPU \(String(format: "%.3f", r.medianProcessCPUMilliseconds)) ms, p10 \(String(format: "%.3f", r.p10Milliseconds)), p90 \(String(format: "%.3f", r.p90Milliseconds))), \(String(format: "%.1f", r.flopsPerStep / 1e6)) MFLOP, \(String(format: "%.1f", r.gflops)) GFLOP/s = \(String(format: "%.1f", 100 * r.fractionOfPeak))% of \(r.threads)×\(Int(r.peakGflopsPerCore)) GFLOP/s"
                )
            }
        }
    }
}
