import Foundation

/// Turns D4RL arrays (`observations`, `actions`, `rewards`, `next_observations`, `terminals`,
/// `timeouts`) back into dataset records, so that exporting the imported dataset gives the
/// same arrays (DATASET.md, "From records to transitions").
///
/// Consecutive transitions whose next observation is the following observation stay in one
/// episode. Where an episode is cut (a time-out, or the next observation is not the next
/// transition's), the next observation becomes an extra closing record flagged `timeout`,
/// which pairing drops again while it marks the transition before it as a time-out.
public enum D4RLImport {
    /// A shape or content problem: which key, what is wrong.
    public struct ImportError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The records for `arrays` at `controlRateHz`, flags ORed with `extraFlags` (e.g. `.simulated`).
    public static func records(_ a: D4RLArrays, controlRateHz: Double, extraFlags: TransitionFlags = []) -> [Transition] {
        let n = a.observationSize, m = a.actionSize
        let period = UInt64((1e9 / controlRateHz).rounded())
        var out: [Transition] = []
        out.reserveCapacity(a.count + a.count / 8 + 1)
        var tick: UInt64 = 0
        var episode: UInt32 = 0
        var startNext = true
        func obs(_ k: Int) -> [Float] { Array(a.observations[(k * n)..<(k * n + n)]) }
        func nextObs(_ k: Int) -> [Float] { Array(a.nextObservations[(k * n)..<(k * n + n)]) }
        func emit(_ o: [Float], _ act: [Float], _ reward: Float, _ flags: TransitionFlags) {
            var f = flags.union(extraFlags)
            if startNext { f.insert(.episodeStart) }
            startNext = false
            out.append(Transition(
                header: TransitionHeader(timestampNanos: tick * period, tick: tick, episode: episode, flags: f, reward: reward),
                observation: o, action: act))
            tick += 1
        }
        func endEpisode() {
            episode += 1
            startNext = true
        }
        for k in 0..<a.count {
            let act = Array(a.actions[(k * m)..<(k * m + m)])
            if a.terminals[k] {
                emit(obs(k), act, a.rewards[k], .terminal)
                endEpisode()
                continue
            }
            emit(obs(k), act, a.rewards[k], [])
            let continues = !a.timeouts[k] && k + 1 < a.count && nextObs(k) == obs(k + 1)
            if !continues {
                emit(nextObs(k), [Float](repeating: 0, count: m), 0, .timeout)
                endEpisode()
            }
        }
        return out
    }

    /// Reads D4RL arrays from .npz contents, checking every key and shape against the
    /// observation and action sizes; `file` names the source in errors.
    public static func arrays(
        from npz: [String: (floats: [Float]?, bools: [Bool]?, shape: [Int])], observationSize n: Int, actionSize m: Int,
        file: String
    ) throws(ImportError) -> D4RLArrays {
        func require(_ key: String) throws(ImportError) -> (floats: [Float]?, bools: [Bool]?, shape: [Int]) {
            guard let v = npz[key] else {
                throw ImportError(description: "\(file): key \"\(key)\" is missing; a D4RL archive holds observations, actions, rewards, next_observations, terminals and timeouts")
            }
            return v
        }
        let o = try require("observations"), a = try require("actions"), r = try require("rewards")
        let no = try require("next_observations"), t = try require("terminals"), to = try require("timeouts")
        let count = r.shape.first ?? 0
        func checkMatrix(_ key: String, _ v: (floats: [Float]?, bools: [Bool]?, shape: [Int]), _ width: Int) throws(ImportError) -> [Float] {
            let shapeOK = v.shape == [count, width] || (width == 1 && v.shape == [count])
            guard shapeOK, let f = v.floats else {
                throw ImportError(description: "\(file): key \"\(key)\" has shape \(v.shape) of \(v.floats == nil ? "non-float" : "float") values, this dataset needs float32 (\(count), \(width)); export from a dataset of the same robot and task")
            }
            return f
        }
        func checkFlags(_ key: String, _ v: (floats: [Float]?, bools: [Bool]?, shape: [Int])) throws(ImportError) -> [Bool] {
            guard v.shape == [count], let b = v.bools else {
                throw ImportError(description: "\(file): key \"\(key)\" has shape \(v.shape), expected (\(count),) of booleans")
            }
            return b
        }
        guard r.shape.count == 1, let rewards = r.floats else {
            throw ImportError(description: "\(file): key \"rewards\" has shape \(r.shape), expected (N,) of floats")
        }
        var arrays = D4RLArrays(observationSize: n, actionSize: m)
        arrays.observations = try checkMatrix("observations", o, n)
        arrays.actions = try checkMatrix("actions", a, m)
        arrays.nextObservations = try checkMatrix("next_observations", no, n)
        arrays.rewards = rewards
        arrays.terminals = try checkFlags("terminals", t)
        arrays.timeouts = try checkFlags("timeouts", to)
        arrays.policyVersions = [UInt64](repeating: 0, count: count)
        guard (arrays.observations + arrays.actions + arrays.nextObservations + arrays.rewards).allSatisfy(\.isFinite) else {
            throw ImportError(description: "\(file): holds NaN or infinite values; clean the data before importing")
        }
        return arrays
    }
}
