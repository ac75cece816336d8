import FixedNN

/// Loading the real set from a D4RL-style `.npz` (`observations`, `actions`, `rewards`,
/// `next_observations`, `terminals`, optional `timeouts`), the export format of the dataset
/// tools. Every check runs before training starts and fails with a one-line error naming the
/// file, the problem and the fix.
///
/// Set-up code: allocates and throws.
public enum RealDataset {
    /// Reads `path` into a real-set replay buffer with room for `extraCapacity` more
    /// transitions logged while the robot runs.
    public static func load(
        npz path: String, observationSize: Int, actionSize: Int, extraCapacity: Int = 0
    ) throws -> ReplayBuffer {
        let arrays: [String: NumpyArray]
        do {
            arrays = try NumpyArchive.readNPZ(path: path)
        } catch let error as NumpyArchiveError {
            throw TrainerError.invalidDataset(path: path, problem: "\(error)")
        }
        func array(_ key: String) throws -> NumpyArray {
            guard let a = arrays[key] else {
                throw TrainerError.invalidDataset(
                    path: path,
                    problem: "no '\(key)' array (has \(arrays.keys.sorted().joined(separator: ", "))); export with D4RL key names")
            }
            return a
        }
        let obs = try array("observations")
        let act = try array("actions")
        let rew = try array("rewards")
        let next = try array("next_observations")
        let term = try array("terminals")
        let n = obs.shape.first ?? 0
        guard n > 0 else {
            throw TrainerError.invalidDataset(path: path, problem: "the dataset is empty (0 transitions); record some with robotctl teleop --record first")
        }
        func checkMatrix(_ a: NumpyArray, _ key: String, columns: Int, what: String) throws {
            if a.shape.count != 2 || a.shape[0] != n || a.shape[1] != columns {
                throw TrainerError.invalidDataset(
                    path: path,
                    problem: "'\(key)' has shape \(a.shape) but the task needs [\(n), \(columns)] (\(what) size \(columns)); record the dataset with the same task")
            }
        }
        try checkMatrix(obs, "observations", columns: observationSize, what: "observation")
        try checkMatrix(next, "next_observations", columns: observationSize, what: "observation")
        try checkMatrix(act, "actions", columns: actionSize, what: "action")
        for (a, key) in [(rew, "rewards"), (term, "terminals")] where a.count != n {
            throw TrainerError.invalidDataset(path: path, problem: "'\(key)' holds \(a.count) values for \(n) transitions; re-export the dataset")
        }
        let o = obs.floats(), ac = act.floats(), r = rew.floats(), nx = next.floats(), d = term.bools()
        for (values, key, width) in [(o, "observations", observationSize), (ac, "actions", actionSize), (r, "rewards", 1), (nx, "next_observations", observationSize)] {
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw TrainerError.invalidDataset(
                    path: path,
                    problem: "'\(key)' of transition \(bad / width) is \(values[bad]); remove or repair non-finite values before training")
            }
        }
        var buffer = ReplayBuffer(
            observationSize: observationSize, actionSize: actionSize, capacity: n + max(0, extraCapacity), overflow: .refuse)
        o.withUnsafeBufferPointer { op in
            ac.withUnsafeBufferPointer { ap in
                nx.withUnsafeBufferPointer { np in
                    for i in 0..<n {
                        buffer.append(
                            observation: op.baseAddress! + i * observationSize, action: ap.baseAddress! + i * actionSize,
                            reward: r[i], nextObservation: np.baseAddress! + i * observationSize, terminal: d[i])
                    }
                }
            }
        }
        return buffer
    }

    /// Writes the transitions of `buffer` as a D4RL-style `.npz` (timeouts all false).
    public static func save(_ buffer: borrowing ReplayBuffer, npz path: String) throws {
        let n = buffer.count, S = buffer.observationSize, A = buffer.actionSize
        let obs = Array(UnsafeBufferPointer(start: buffer.observations, count: n * S))
        let act = Array(UnsafeBufferPointer(start: buffer.actions, count: n * A))
        let rew = Array(UnsafeBufferPointer(start: buffer.rewards, count: n))
        let next = Array(UnsafeBufferPointer(start: buffer.nextObservations, count: n * S))
        let term = (0..<n).map { buffer.terminals[$0] != 0 }
        do {
            try NumpyArchive.writeNPZ(
                [
                    ("observations", NumpyArray(obs, shape: [n, S])),
                    ("actions", NumpyArray(act, shape: [n, A])),
                    ("rewards", NumpyArray(rew, shape: [n])),
                    ("next_observations", NumpyArray(next, shape: [n, S])),
                    ("terminals", NumpyArray(term)),
                    ("timeouts", NumpyArray([Bool](repeating: false, count: n))),
                ], path: path)
        } catch let error as NumpyArchiveError {
            throw TrainerError.io(path: path, problem: "\(error)")
        }
    }
}
