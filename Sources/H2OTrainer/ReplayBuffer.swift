/// Transitions `(s, a, r, s', d)` in preallocated struct-of-arrays storage: the real set
/// (filled from a dataset, then growing while the robot runs, refusing beyond its capacity)
/// or the sim FIFO (overwriting its oldest transition when full).
///
/// Thread contract: one thread (the trainer's) appends and samples. Storage is allocated in
/// `init`; `append`, `sample` and `gather` are real-time safe: they do not allocate, lock or throw.
public struct ReplayBuffer: ~Copyable {
    /// What `append` does once `capacity` transitions are stored.
    public enum Overflow: Sendable {
        /// Overwrite the oldest transition (the sim FIFO).
        case overwriteOldest
        /// Refuse the new transition; `append` returns false (the real set).
        case refuse
    }

    /// Length of an observation.
    public let observationSize: Int
    /// Length of an action.
    public let actionSize: Int
    /// Most transitions held.
    public let capacity: Int
    /// Behaviour when full.
    public let overflow: Overflow
    /// Transitions held now.
    public private(set) var count = 0
    /// Transitions ever appended (including overwritten or refused ones).
    public private(set) var appended = 0
    /// Next slot written once the buffer is full (FIFO only).
    private var head = 0

    let observations: UnsafeMutablePointer<Float>
    let actions: UnsafeMutablePointer<Float>
    let rewards: UnsafeMutablePointer<Float>
    let nextObservations: UnsafeMutablePointer<Float>
    let terminals: UnsafeMutablePointer<Float>
    /// Σ s and Σ s² per observation dimension over the stored transitions (`[2][S]`, Double).
    let observationSums: UnsafeMutablePointer<Double>

    /// Allocates storage for `capacity` transitions (≥ 1). Allocates; set-up only.
    public init(observationSize: Int, actionSize: Int, capacity: Int, overflow: Overflow) {
        precondition(observationSize >= 1 && actionSize >= 1 && capacity >= 1, "ReplayBuffer sizes must be ≥ 1")
        self.observationSize = observationSize
        self.actionSize = actionSize
        self.capacity = capacity
        self.overflow = overflow
        func make(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        observations = make(capacity * observationSize)
        actions = make(capacity * actionSize)
        rewards = make(capacity)
        nextObservations = make(capacity * observationSize)
        terminals = make(capacity)
        observationSums = .allocate(capacity: 2 * observationSize)
        observationSums.initialize(repeating: 0, count: 2 * observationSize)
    }

    deinit {
        observations.deallocate()
        actions.deallocate()
        rewards.deallocate()
        nextObservations.deallocate()
        terminals.deallocate()
        observationSums.deallocate()
    }

    /// Stores one transition; returns false when the buffer is full and refuses.
    /// `terminal` is a true terminal, never a time-out.
    /// Real-time safe: does not allocate, lock or throw.
    @discardableResult
    public mutating func append(
        observation: UnsafePointer<Float>, action: UnsafePointer<Float>, reward: Float,
        nextObservation: UnsafePointer<Float>, terminal: Bool
    ) -> Bool {
        appended += 1
        let slot: Int
        var overwriting = false
        if count < capacity {
            slot = count
            count += 1
        } else if overflow == .overwriteOldest {
            slot = head
            head = (head + 1) % capacity
            overwriting = true
        } else {
            return false
        }
        let S = observationSize, A = actionSize
        // Plain loads and stores through a local pointer: a compound assignment through a
        // stored pointer property crashes swift-frontend 6.3.1 under -sanitize=thread.
        let old = observations + slot * S, sums = observationSums
        for j in 0..<S {
            let x = Double(observation[j])
            var sum = sums[j], square = sums[S + j]
            if overwriting {
                let y = Double(old[j])
                sum = sum - y
                square = square - y * y
            }
            sums[j] = sum + x
            sums[S + j] = square + x * x
        }
        (observations + slot * S).update(from: observation, count: S)
        (actions + slot * A).update(from: action, count: A)
        rewards[slot] = reward
        (nextObservations + slot * S).update(from: nextObservation, count: S)
        terminals[slot] = terminal ? 1 : 0
        return true
    }

    /// Removes every transition (capacity is kept). Real-time safe.
    public mutating func removeAll() {
        count = 0
        head = 0
        let sums = observationSums
        for j in 0..<(2 * observationSize) { sums[j] = 0 }
    }

    /// The population standard deviation of each observation dimension over the stored
    /// transitions, plus `epsilon`, into `out[0..<observationSize]` (`epsilon` alone when
    /// empty). Real-time safe: does not allocate, lock or throw.
    public func observationStandardDeviation(into out: UnsafeMutablePointer<Float>, adding epsilon: Float) {
        let S = observationSize, n = Double(count)
        for j in 0..<S {
            guard count > 0 else {
                out[j] = epsilon
                continue
            }
            let sums = observationSums
            let mean = sums[j] / n
            let variance = Swift.max(sums[S + j] / n - mean * mean, 0)
            out[j] = Float(variance.squareRoot()) + epsilon
        }
    }

    /// Copies transitions `indices[0..<n]` into `batch` rows `row..<row+n`.
    /// Precondition: every index < count. Real-time safe: does not allocate, lock or throw.
    public func gather(indices: UnsafePointer<Int32>, count n: Int, into batch: borrowing TransitionBatch, row: Int) {
        precondition(batch.observationSize == observationSize && batch.actionSize == actionSize, "batch sizes differ from the buffer's")
        precondition(row >= 0 && row + n <= batch.rows, "batch rows out of range")
        let S = observationSize, A = actionSize
        for k in 0..<n {
            let i = Int(indices[k])
            precondition(i >= 0 && i < count, "replay index \(i) out of range 0..<\(count)")
            let r = row + k
            (batch.observations + r * S).update(from: observations + i * S, count: S)
            (batch.actions + r * A).update(from: actions + i * A, count: A)
            batch.rewards[r] = rewards[i]
            (batch.nextObservations + r * S).update(from: nextObservations + i * S, count: S)
            batch.terminals[r] = terminals[i]
        }
    }

    /// Samples `n` transitions uniformly with replacement into `batch` rows `row..<row+n`.
    /// Precondition: the buffer is not empty. Real-time safe: does not allocate, lock or throw.
    public func sample(_ n: Int, using random: inout TrainerRandom, into batch: borrowing TransitionBatch, row: Int) {
        precondition(count > 0, "sampling from an empty replay buffer")
        precondition(row >= 0 && row + n <= batch.rows, "batch rows out of range")
        let S = observationSize, A = actionSize
        for k in 0..<n {
            let i = random.index(below: count)
            let r = row + k
            (batch.observations + r * S).update(from: observations + i * S, count: S)
            (batch.actions + r * A).update(from: actions + i * A, count: A)
            batch.rewards[r] = rewards[i]
            (batch.nextObservations + r * S).update(from: nextObservations + i * S, count: S)
            batch.terminals[r] = terminals[i]
        }
    }

    /// Transition `i`'s observation (tests, export). Valid while the buffer lives.
    public func observation(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(observations + i * observationSize) }
    /// Transition `i`'s action.
    public func action(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(actions + i * actionSize) }
    /// Transition `i`'s reward.
    public func reward(_ i: Int) -> Float { rewards[i] }
    /// Transition `i`'s next observation.
    public func nextObservation(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(nextObservations + i * observationSize) }
    /// Whether transition `i` is terminal.
    public func isTerminal(_ i: Int) -> Bool { terminals[i] != 0 }
}

/// A batch of transitions, row-major struct-of-arrays (`observations[row * S + j]`), the
/// input of one training step. Allocated once; rows are overwritten by sampling.
public struct TransitionBatch: ~Copyable {
    /// Rows (transitions) in the batch.
    public let rows: Int
    /// Observation length.
    public let observationSize: Int
    /// Action length.
    public let actionSize: Int
    /// [rows × S]
    public let observations: UnsafeMutablePointer<Float>
    /// [rows × A]
    public let actions: UnsafeMutablePointer<Float>
    /// [rows]
    public let rewards: UnsafeMutablePointer<Float>
    /// [rows × S]
    public let nextObservations: UnsafeMutablePointer<Float>
    /// [rows], 1 for a terminal transition, else 0.
    public let terminals: UnsafeMutablePointer<Float>

    /// Allocates a zeroed batch. Set-up only.
    public init(rows: Int, observationSize: Int, actionSize: Int) {
        self.rows = rows
        self.observationSize = observationSize
        self.actionSize = actionSize
        func make(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        observations = make(rows * observationSize)
        actions = make(rows * actionSize)
        rewards = make(rows)
        nextObservations = make(rows * observationSize)
        terminals = make(rows)
    }

    deinit {
        observations.deallocate()
        actions.deallocate()
        rewards.deallocate()
        nextObservations.deallocate()
        terminals.deallocate()
    }
}
