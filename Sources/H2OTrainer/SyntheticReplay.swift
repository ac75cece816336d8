// Kept in H2OTrainer (not Benchmarks): the two-thread step's tests, including the thread-
// sanitized target that links only H2OTrainer and FixedNN, fill their buffers with it.

/// Two replay buffers of random transitions for benchmarks and tests: standard-normal
/// observations and rewards, actions uniform in [−1, 1], no terminals.
public struct SyntheticReplay: ~Copyable {
    /// The "real" buffer.
    public var real: ReplayBuffer
    /// The "sim" buffer.
    public var sim: ReplayBuffer

    /// `count` transitions in each buffer, drawn from `random`. Allocates.
    public init(observationSize S: Int, actionSize A: Int, count n: Int = 4096, using random: inout TrainerRandom) {
        real = ReplayBuffer(observationSize: S, actionSize: A, capacity: n, overflow: .refuse)
        sim = ReplayBuffer(observationSize: S, actionSize: A, capacity: n, overflow: .overwriteOldest)
        var o = [Float](repeating: 0, count: S), a = [Float](repeating: 0, count: A), x = [Float](repeating: 0, count: S)
        for i in 0..<(2 * n) {
            for j in 0..<S { o[j] = random.normal(); x[j] = random.normal() }
            for j in 0..<A { a[j] = 2 * random.uniform() - 1 }
            if i < n {
                real.append(observation: o, action: a, reward: random.normal(), nextObservation: x, terminal: false)
            } else {
                sim.append(observation: o, action: a, reward: random.normal(), nextObservation: x, terminal: false)
            }
        }
    }
}
