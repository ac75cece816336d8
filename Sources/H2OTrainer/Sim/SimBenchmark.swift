/// Throughput of the simulators, single-threaded: what `robotctl sim bench` reports.
public enum SimBenchmark {
    /// One measured path: its name, what one "step" is, and steps per second per repeat.
    public struct Result: Sendable, Codable, Equatable {
        /// Namespaced name, e.g. "pendulum/batch".
        public var name: String
        /// What is counted, in a sentence.
        public var unit: String
        /// Lanes stepped together (1 for the scalar paths).
        public var lanes: Int
        /// Steps per second of each repeat.
        public var stepsPerSecond: [Double]
        /// Median of `stepsPerSecond`.
        public var median: Double {
            let s = stepsPerSecond.sorted()
            return s.isEmpty ? 0 : (s[(s.count - 1) / 2] + s[s.count / 2]) / 2
        }
    }

    /// Runs every path `repeats` times for about `seconds` each; `lanes` for the batch path.
    public static func run(seconds: Double = 0.3, repeats: Int = 5, lanes: Int = 4096) throws -> [Result] {
        [
            try scalarPendulum(seconds: seconds, repeats: repeats),
            try batchPendulum(seconds: seconds, repeats: repeats, lanes: lanes, observations: false),
            try batchPendulum(seconds: seconds, repeats: repeats, lanes: lanes, observations: true),
            try scalarCartPole(seconds: seconds, repeats: repeats),
            try realPlant(seconds: seconds, repeats: repeats),
        ]
    }

    /// Times `body` (which performs `stepsPerCall` steps) until `seconds` have passed.
    static func measure(seconds: Double, stepsPerCall: Int, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        for _ in 0..<3 { body() }  // warm caches and branch predictors
        var calls = 0
        let start = clock.now
        var elapsed = Duration.zero
        repeat {
            for _ in 0..<16 { body() }
            calls += 16
            elapsed = clock.now - start
        } while elapsed < .seconds(seconds)
        let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Double(calls * stepsPerCall) / s
    }

    static func scalarPendulum(seconds: Double, repeats: Int) throws -> Result {
        var env = SimEnvironment(task: PendulumTask(parameters: .gymnasium), seed: 1)
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: 3)
        defer { obs.deallocate() }
        let actions = UnsafeMutablePointer<Float>.allocate(capacity: 1024)
        defer { actions.deallocate() }
        var random = SimRandom(seed: 2)
        for i in 0..<1024 { actions[i] = Float(random.uniform(-1.2, 1.2)) }
        env.reset(observation: obs)
        var sink = 0.0
        var runs: [Double] = []
        for _ in 0..<repeats {
            runs.append(
                measure(seconds: seconds, stepsPerCall: 1024) {
                    for i in 0..<1024 {
                        let o = env.step(action: actions + i, observation: obs)
                        sink += o.reward
                        if o.truncated { env.reset(observation: obs) }
                    }
                })
        }
        precondition(sink.isFinite)
        return Result(
            name: "pendulum/scalar",
            unit: "SimEnvironment<PendulumTask>.step: one pendulum, float64, observation written",
            lanes: 1, stepsPerSecond: runs)
    }

    static func batchPendulum(seconds: Double, repeats: Int, lanes: Int, observations: Bool) throws -> Result
    {
        var batch = try PendulumBatch(count: lanes, parameters: .rate200Hz)
        var random = SimRandom(seed: 3)
        batch.reset(random: &random)
        let n = batch.count
        let actions = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { actions.deallocate() }
        let rewards = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { rewards.deallocate() }
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: 3 * n)
        defer { obs.deallocate() }
        for i in 0..<n { actions[i] = Float(random.uniform(-1.2, 1.2)) }
        var runs: [Double] = []
        for _ in 0..<repeats {
            runs.append(
                measure(seconds: seconds, stepsPerCall: n) {
                    batch.step(actions: actions, rewards: rewards)
                    if observations { batch.writeObservations(into: obs) }
                })
        }
        precondition(rewards[0].isFinite)
        return Result(
            name: observations ? "pendulum/batch+observations" : "pendulum/batch",
            unit: observations
                ? "PendulumBatch.step + writeObservations (row-major float32), per pendulum"
                : "PendulumBatch.step (SoA, 8-lane SIMD float64, rewards written), per pendulum",
            lanes: n, stepsPerSecond: runs)
    }

    static func scalarCartPole(seconds: Double, repeats: Int) throws -> Result {
        var env = SimEnvironment(task: CartPoleTask(), seed: 4)
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: 5)
        defer { obs.deallocate() }
        var action: Float = 0.3
        env.reset(observation: obs)
        var runs: [Double] = []
        for _ in 0..<repeats {
            runs.append(
                measure(seconds: seconds, stepsPerCall: 1024) {
                    for _ in 0..<1024 {
                        action = -action
                        let o = env.step(action: &action, observation: obs)
                        if o.terminated || o.truncated { env.reset(observation: obs) }
                    }
                })
        }
        return Result(
            name: "cartpole/scalar",
            unit: "SimEnvironment<CartPoleTask>.step: 4 Euler substeps, observation written",
            lanes: 1, stepsPerSecond: runs)
    }

    static func realPlant(seconds: Double, repeats: Int) throws -> Result {
        var env = try RealPlantEnvironment(task: PendulumTask(parameters: .rate200Hz), seed: 5)
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: 3)
        defer { obs.deallocate() }
        var action: Float = 0.5
        env.reset(observation: obs)
        var runs: [Double] = []
        for _ in 0..<repeats {
            runs.append(
                measure(seconds: seconds, stepsPerCall: 256) {
                    for _ in 0..<256 {
                        action = -action
                        let o = env.step(action: &action, observation: obs)
                        if o.truncated { env.reset(observation: obs) }
                    }
                })
        }
        return Result(
            name: "pendulum/real-plant",
            unit: "RealPlantEnvironment.step: one 200 Hz tick of the C plant (5 × 1 kHz, 10 substeps each)",
            lanes: 1, stepsPerSecond: runs)
    }
}
