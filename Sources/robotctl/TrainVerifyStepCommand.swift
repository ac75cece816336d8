import ArgumentParser
import H2OTrainer

/// `robotctl train verify-step`: one training step from files, for cross-checking against
/// another implementation.
struct TrainVerifyStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-step",
        abstract: "Run one H2O+ (or baseline) update from parameter, batch and noise files.",
        discussion: """
            Reads every network, the target critics, logα and the Adam moments and step counts \
            from --params, the transitions from --batch and every random quantity from --noise, \
            runs exactly one update and writes the updated state to --out, with the losses in its \
            metadata (key h2o.losses). The losses are also printed as one JSON line. The file \
            layouts are in the README (H2OTrainer: files); Tests/Fixtures/h2o/reference_h2oplus.py \
            implements the same step in JAX.

            Example: robotctl train verify-step --params in.safetensors --batch batch.npz \
            --noise noise.npz --out out.safetensors
            """)

    @Option(help: "Parameter file to start from (.safetensors).")
    var params: String

    @Option(help: "Batch file (.npz written by np.savez).")
    var batch: String

    @Option(help: "Noise file (.npz of standard normals).")
    var noise: String

    @Option(help: "Where to write the updated parameters (.safetensors).")
    var out: String

    @Option(help: "Algorithm: h2o+, h2o, sac-sim or iql-real (default: the file's h2o.algorithm, else h2o+).")
    var algorithm: String?

    func validate() throws {
        if let algorithm, Algorithm(rawValue: algorithm) == nil {
            throw ValidationError("unknown --algorithm '\(algorithm)'; use one of \(Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let losses = try VerifyStep.run(
            params: params, batch: batch, noise: noise, out: out, algorithm: algorithm.flatMap(Algorithm.init(rawValue:)))
        print(losses.jsonString)
    }
}
