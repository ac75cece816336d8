/// Many environments of one file-defined simulator stepped together: `count` lanes of
/// `ChainSimulator.State` in one buffer, one call steps every lane one policy decision under
/// its row of actions and writes the rewards, terminal flags and (on request) observations.
/// Same physics and numbers as `ChainSimulator.step` lane by lane (it is that step, without
/// the per-environment call and copy overhead).
///
/// Owns its buffers (`~Copyable`, freed on deinit). Thread contract: one owner thread.
/// `step`, `reset` and `writeObservations` are real-time safe: they do not allocate, lock
/// or throw.
public struct ChainBatch: ~Copyable {
    public let simulator: ChainSimulator
    /// Number of environments (lanes).
    public let count: Int
    let states: UnsafeMutablePointer<ChainSimulator.State>

    /// `count` lanes of `simulator`, all at rest at q = 0 until `reset`.
    public init(simulator: ChainSimulator, count: Int) throws(MechanismError) {
        guard count > 0 else { throw MechanismError("chain batch: count \(count) must be positive") }
        self.simulator = simulator
        self.count = count
        states = .allocate(capacity: count)
        states.initialize(repeating: simulator.state(q: JointVector(repeating: 0), qd: JointVector(repeating: 0)), count: count)
    }

    deinit {
        states.deinitialize(count: count)
        states.deallocate()
    }

    /// Lane `lane`'s state.
    public subscript(lane: Int) -> ChainSimulator.State {
        get { states[lane] }
        nonmutating set { states[lane] = newValue }
    }

    /// Draws every lane's start state from the task's `sim_start` ranges.
    public func reset(random: inout some RandomNumberGenerator) {
        for i in 0..<count { states[i] = simulator.reset(random: &random) }
    }

    /// Draws lane `lane`'s start state (e.g. after its episode ended).
    public func reset(lane: Int, random: inout some RandomNumberGenerator) {
        states[lane] = simulator.reset(random: &random)
    }

    /// One decision on every lane: `actions` is [count][actionSize], `rewards` and
    /// `terminals` get one entry per lane.
    public func step(actions: UnsafePointer<Float>, rewards: UnsafeMutablePointer<Double>, terminals: UnsafeMutablePointer<Bool>) {
        let a = simulator.task.actionSize
        for i in 0..<count {
            let (r, t) = simulator.step(&states[i], action: actions + i * a)
            rewards[i] = r
            terminals[i] = t
        }
    }

    /// Every lane's observation, [count][observationSize].
    public func writeObservations(into observations: UnsafeMutablePointer<Float>) {
        let o = simulator.task.observationSize
        for i in 0..<count { simulator.observe(states[i], into: observations + i * o) }
    }
}
