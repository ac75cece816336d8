import FixedNN
import Foundation
import Tasks

/// The files of a training run in one directory: `config.json` (hyperparameters, algorithm,
/// task, sizes), `metrics.csv` (one row per epoch, namespaced columns), `checkpoint.safetensors`
/// (resumable, replaced atomically after every epoch) and `policy.safetensors` (the
/// deterministic policy for `robotctl run`, FixedNN's PolicyFile layout).
///
/// Set-up code: allocates and throws.
public final class TrainingOutput {
    public let directory: String
    let metrics: FileHandle
    /// The metrics CSV columns, in order.
    public static let columns = [
        "epoch", "updates", "sim_transitions", "losses/critic", "losses/value", "losses/actor", "losses/alpha",
        "losses/disc_sa", "losses/disc_sas", "losses/penalty", "charts/alpha", "charts/sim_weight_mean",
        "charts/log_pi_mean", "charts/eval_return", "charts/updates_per_s",
    ]

    public var checkpointPath: String { directory + "/checkpoint.safetensors" }
    public var policyPath: String { directory + "/policy.safetensors" }
    public var metricsPath: String { directory + "/metrics.csv" }

    /// Creates `directory` if needed and writes `config.json` and the CSV header (appending
    /// to an existing CSV when resuming).
    public init(directory: String, config: [String: String], resuming: Bool) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TrainerError.io(path: directory, problem: "cannot create the output directory (\(error.localizedDescription)); choose a writable --out")
        }
        let json = (try? JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        try writeAtomically([UInt8](json), to: directory + "/config.json")
        let path = directory + "/metrics.csv"
        let exists = FileManager.default.fileExists(atPath: path)
        if !(resuming && exists) {
            _ = FileManager.default.createFile(atPath: path, contents: Data((Self.columns.joined(separator: ",") + "\n").utf8))
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw TrainerError.io(path: path, problem: "cannot be opened for writing; check permissions")
        }
        handle.seekToEndOfFile()
        metrics = handle
    }

    deinit { try? metrics.close() }

    /// Appends one epoch's row and flushes it to disk.
    public func append<S, E>(_ report: TrainingRun<S, E>.EpochReport) {
        var values: [String: String] = [
            "epoch": String(report.epoch), "updates": String(report.updates), "sim_transitions": String(report.simTransitions),
            "charts/updates_per_s": String(format: "%.1f", report.updatesPerSecond),
            "charts/eval_return": report.evalReturn.map { String(format: "%.4f", $0) } ?? "",
        ]
        for (name, value) in report.means { values[name] = String(format: "%.6g", value) }
        let line = Self.columns.map { values[$0] ?? "" }.joined(separator: ",") + "\n"
        metrics.write(Data(line.utf8))
        try? metrics.synchronize()
    }
}

/// One-line progress bar on standard error: `[######----] epoch 3/10  critic 1.23  eval -512.1  812 upd/s`.
public struct ProgressBar {
    public let total: Int
    public init(total: Int) { self.total = total }

    public func draw<S, E>(_ r: TrainingRun<S, E>.EpochReport, lastEval: Double?) {
        let width = 24
        let done = total > 0 ? min(width, r.epoch * width / total) : width
        let critic = r.means.first { $0.0 == "losses/critic" }?.1 ?? .nan
        var line = "\r[" + String(repeating: "#", count: done) + String(repeating: "-", count: width - done) + "]"
        line += " epoch \(r.epoch)/\(total)  critic \(String(format: "%.4g", critic))"
        if let e = lastEval { line += "  eval \(String(format: "%.1f", e))" }
        line += "  \(Int(r.updatesPerSecond)) upd/s"
        FileHandle.standardError.write(Data(line.utf8))
        if r.epoch >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension ReplayBuffer {
    /// `count` transitions of uniformly random actions in `environment` (episodes reset on
    /// terminals and time-outs), in a buffer with room for `extraCapacity` more. Allocates.
    public static func randomTransitions<Env: TaskEnvironment>(
        in environment: inout Env, count: Int, seed: UInt64, extraCapacity: Int = 0
    ) -> ReplayBuffer {
        let S = environment.observationSize, A = environment.actionSize
        var buffer = ReplayBuffer(observationSize: S, actionSize: A, capacity: max(1, count + extraCapacity), overflow: .refuse)
        var random = TrainerRandom(seed: seed)
        var o = [Float](repeating: 0, count: S), n = [Float](repeating: 0, count: S), a = [Float](repeating: 0, count: A)
        o.withUnsafeMutableBufferPointer { op in
            n.withUnsafeMutableBufferPointer { np in
                a.withUnsafeMutableBufferPointer { ap in
                    environment.reset(observation: op.baseAddress!)
                    for _ in 0..<count {
                        for j in 0..<A { ap[j] = 2 * random.uniform() - 1 }
                        let outcome = environment.step(action: ap.baseAddress!, observation: np.baseAddress!)
                        buffer.append(
                            observation: op.baseAddress!, action: ap.baseAddress!, reward: Float(outcome.reward),
                            nextObservation: np.baseAddress!, terminal: outcome.terminated)
                        if outcome.terminated || outcome.truncated {
                            environment.reset(observation: op.baseAddress!)
                        } else {
                            op.baseAddress!.update(from: np.baseAddress!, count: S)
                        }
                    }
                }
            }
        }
        return buffer
    }
}
