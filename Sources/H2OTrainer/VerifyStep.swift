import FixedNN
import Foundation

/// One step from files to a file: the library side of `robotctl train verify-step`.
///
/// Reads every parameter, target, logα and Adam state from `params` (AgentFile layout), the
/// batch and every random quantity from `batch` and `noise` (StepInputFiles layout), runs one
/// step of `algorithm` (default: the file's `h2o.algorithm`, else H2O+) and writes the updated
/// agent to `out` with the losses as JSON in the metadata key `h2o.losses`.
/// Set-up code: allocates and throws.
public enum VerifyStep {
    /// Runs the step; returns the losses (also written into `out`'s metadata).
    @discardableResult
    public static func run(params: String, batch: String, noise: String, out: String, algorithm: Algorithm? = nil) throws
        -> StepLosses
    {
        let file = try AgentFile.read(path: params)
        let chosen = try algorithm ?? file.metadata["h2o.algorithm"].map {
            guard let a = Algorithm(rawValue: $0) else {
                throw TrainerError.incompatibleCheckpoint(path: params, problem: "metadata h2o.algorithm '\($0)' is not one of \(Algorithm.allCases.map(\.rawValue))")
            }
            return a
        } ?? .h2oPlus
        var agent = try AgentFile.agent(from: file, source: params)
        let inputs = try StepInputs.load(
            batch: batch, noise: noise, algorithm: chosen, observationSize: agent.observationSize,
            actionSize: agent.actionSize)
        var step = H2OStep(agent: agent, inputs: inputs)
        let losses = step.run(&agent, inputs)
        var result = AgentFile.tensors(of: agent, algorithm: chosen)
        for (k, v) in file.metadata where result.metadata[k] == nil { result.metadata[k] = v }
        result.metadata["h2o.losses"] = losses.jsonString
        try result.writeDurably(path: out)
        return losses
    }
}

extension StepLosses {
    /// `{"charts/alpha": …, "losses/critic": …}` with sorted keys.
    public var jsonString: String {
        "{" + named.sorted { $0.0 < $1.0 }.map { "\"\($0.0)\": \(jsonNumber($0.1))" }.joined(separator: ", ") + "}"
    }
}

/// A JSON number for a Float (NaN and infinities, which JSON lacks, as strings).
func jsonNumber(_ x: Float) -> String {
    x.isFinite ? "\(x)" : "\"\(x)\""
}
