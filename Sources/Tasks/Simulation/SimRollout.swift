/// Steps the onboard simulator through given actions from given start states: the library
/// side of `robotctl sim rollout`.
public enum SimRollout {
    /// What a rollout produced, per episode e and step t (E episodes of T steps).
    public struct Output: Sendable {
        public var episodes: Int
        public var steps: Int
        public var observationSize: Int
        public var stateSize: Int
        /// [E][T+1][observationSize], float32: the start observation, then after each step.
        public var observations: [Float]
        /// [E][T+1][stateSize], float64: the simulator state vectors (`simStateNames`).
        public var states: [Double]
        /// [E][T] rewards; 0 after the episode ended.
        public var rewards: [Double]
        /// [E][T]: the step ended in a terminal state.
        public var terminals: [Bool]
        /// [E][T]: the step hit the task's episode length (a time-out, not a terminal).
        public var timeouts: [Bool]
        /// [E]: steps taken before a terminal or time-out ended the episode (≤ T).
        public var lengths: [Int]
    }

    /// Rolls `task` out from `starts` ([E][stateSize] state vectors) under `actions`
    /// ([E][T][actionSize], policy units). After a terminal or time-out the episode stops:
    /// later observations and states repeat the last ones and rewards are 0.
    /// `seed` drives the action noise (if the task has any).
    public static func run<Task: SimulatedTask>(
        task: Task, starts: [Double], episodes: Int, actions: [Float], steps: Int, seed: UInt64
    ) throws(SimError) -> Output {
        let s = task.simStateNames.count
        let o = task.observationSize
        let a = task.actionSize
        guard starts.count == episodes * s else {
            throw SimError(
                "init has \(starts.count) values for \(episodes) episode(s); \(task.name) needs \(s) per episode (\(task.simStateNames.joined(separator: ", ")))"
            )
        }
        guard actions.count == episodes * steps * a else {
            throw SimError(
                "actions have \(actions.count) values; \(episodes) episode(s) × \(steps) steps × \(a) action value(s) expected"
            )
        }
        var out = Output(
            episodes: episodes, steps: steps, observationSize: o, stateSize: s,
            observations: [Float](repeating: 0, count: episodes * (steps + 1) * o),
            states: [Double](repeating: 0, count: episodes * (steps + 1) * s),
            rewards: [Double](repeating: 0, count: episodes * steps),
            terminals: [Bool](repeating: false, count: episodes * steps),
            timeouts: [Bool](repeating: false, count: episodes * steps),
            lengths: [Int](repeating: steps, count: episodes))
        var random = SimRandom(seed: seed)
        for e in 0..<episodes {
            var state = starts.withUnsafeBufferPointer { task.simState(from: $0.baseAddress! + e * s) }
            out.observations.withUnsafeMutableBufferPointer {
                task.observeSim(state, into: $0.baseAddress! + e * (steps + 1) * o)
            }
            out.states.withUnsafeMutableBufferPointer {
                task.write(state, to: $0.baseAddress! + e * (steps + 1) * s)
            }
            var ended = false
            for t in 0..<steps {
                let row = e * (steps + 1) + t + 1
                if ended {
                    for k in 0..<o { out.observations[row * o + k] = out.observations[(row - 1) * o + k] }
                    for k in 0..<s { out.states[row * s + k] = out.states[(row - 1) * s + k] }
                    continue
                }
                let (reward, terminal) = actions.withUnsafeBufferPointer {
                    task.stepSim(&state, action: $0.baseAddress! + (e * steps + t) * a, random: &random)
                }
                out.rewards[e * steps + t] = reward
                out.terminals[e * steps + t] = terminal
                let timeout = !terminal && t + 1 >= task.episodeTicks
                out.timeouts[e * steps + t] = timeout
                out.observations.withUnsafeMutableBufferPointer {
                    task.observeSim(state, into: $0.baseAddress! + row * o)
                }
                out.states.withUnsafeMutableBufferPointer { task.write(state, to: $0.baseAddress! + row * s) }
                if terminal || timeout {
                    ended = true
                    out.lengths[e] = t + 1
                }
            }
        }
        return out
    }
}
