import H2OTrainer
import Tasks

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
        /// Control ticks (5 ms at 200 Hz) one step simulates: the file tasks' decisions hold
        /// several; 1 for the hand-written simulators at 200 Hz.
        public var controlTicksPerStep = 1
        /// Median of `stepsPerSecond`.
        public var median: Double {
            let s = stepsPerSecond.sorted()
            return s.isEmpty ? 0 : (s[(s.count - 1) / 2] + s[s.count / 2]) / 2
        }
    }

    /// Runs every path whose name `include` accepts, `repeats` times for about `seconds`
    /// each; `lanes` environments for the batch paths; the generic simulator on each of
    /// `fileTasks` (name, robot file, task file).
    public static func run(
        seconds: Double = 0.3, repeats: Int = 5, lanes: Int = 4096,
        fileTasks: [(name: String, robot: String, task: String)] = TaskFiles.shipped,
        include: (String) -> Bool = { _ in true }
    ) throws -> [Result] {
        var results: [Result] = []
        let paths: [(String, () throws -> Result)] = [
            ("pendulum/scalar", { try scalarPendulum(seconds: seconds, repeats: repeats) }),
            ("pendulum/scalar-200hz", { try scalarPendulum(seconds: seconds, repeats: repeats, parameters: .rate200Hz) }),
            ("pendulum/batch", { try batchPendulum(seconds: seconds, repeats: repeats, lanes: lanes, observations: false) }),
            ("pendulum/batch+observations", { try batchPendulum(seconds: seconds, repeats: repeats, lanes: lanes, observations: true) }),
            ("cartpole/scalar", { try scalarCartPole(seconds: seconds, repeats: repeats) }),
            ("pendulum/real-plant", { try realPlant(seconds: seconds, repeats: repeats) }),
            ("acrobot/chain-rk4", { try acrobotChain(seconds: seconds, repeats: repeats) }),
        ]
        for (name, body) in paths where include(name) { results.append(try body()) }
        for pair in fileTasks {
            let task = try FileTask.load(robotFile: pair.robot, taskFile: pair.task)
            if include("\(pair.name)/file") {
                results.append(fileTask(task, name: pair.name, robotFile: pair.robot, seconds: seconds, repeats: repeats))
            }
            if include("\(pair.name)/file-batch") {
                results.append(try fileTaskBatch(task, name: pair.name, lanes: min(lanes, 256), seconds: seconds, repeats: repeats))
            }
        }
        return results
    }

    /// Gymnasium's Acrobot-v1 mechanism as a `PlanarChain`: one RK4 step of dt 0.2 per step,
    /// torques from {−1, 0, 1}, wrapped and bounded as Acrobot-v1's `step` does — the work of
    /// its `env.step` without the Python.
    static func acrobotChain(seconds: Double, repeats: Int) throws -> Result {
        let chain = try PlanarChain(
            joints: [
                ChainJoint(kind: .revolute, offset: -Double.pi / 2, length: 1, com: 0.5, mass: 1, inertia: 1),
                ChainJoint(kind: .revolute, offset: 0, length: 1, com: 0.5, mass: 1, inertia: 1),
            ], gravity: 9.8)
        var q = JointVector(repeating: 0), qd = JointVector(repeating: 0)
        var tau = JointVector(repeating: 0)
        var sink = 0.0
        var runs: [Double] = []
        for _ in 0..<repeats {
            runs.append(
                measure(seconds: seconds, stepsPerCall: 1024) {
                    for i in 0..<1024 {
                        tau[1] = Double(i % 3 - 1)
                        chain.step(q: &q, qd: &qd, tau: tau, dt: 0.2, integrator: .rk4)
                        q[0] = wrapAngle(q[0])
                        q[1] = wrapAngle(q[1])
                        qd[0] = min(max(qd[0], -4 * Double.pi), 4 * Double.pi)
                        qd[1] = min(max(qd[1], -9 * Double.pi), 9 * Double.pi)
                        sink += q[0]
                    }
                })
        }
        precondition(sink.isFinite)
        return Result(
            name: "acrobot/chain-rk4",
            unit: "PlanarChain.step (RK4, dt 0.2) + wrap/bound: Acrobot-v1's dynamics step, float64",
            lanes: 1, stepsPerSecond: runs)
    }

    /// The generic onboard simulator on a file task: one policy decision per step (what the
    /// trainer and Gymnasium's `env.step` count), i.e. `controlTicksPerDecision` control ticks,
    /// each with its firmware-rate RK4 sub-steps, actuators, encoder, velocity filter and reward.
    static func fileTask(_ task: FileTask, name: String, robotFile: String, seconds: Double, repeats: Int) -> Result {
        var env = SimEnvironment(task: task, seed: 1)
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: task.observationSize)
        defer { obs.deallocate() }
        let actions = UnsafeMutablePointer<Float>.allocate(capacity: 64 * task.actionSize)
        defer { actions.deallocate() }
        for i in 0..<(64 * task.actionSize) { actions[i] = i % 16 < 8 ? 0.7 : -0.7 }
        env.reset(observation: obs)
        var sink = 0.0
        var runs: [Double] = []
        for _ in 0..<repeats {
            runs.append(
                measure(seconds: seconds, stepsPerCall: 64) {
                    for i in 0..<64 {
                        let o = env.step(action: actions + i * task.actionSize, observation: obs)
                        sink += o.reward
                        if o.truncated || o.terminated { env.reset(observation: obs) }
                    }
                })
        }
        precondition(sink.isFinite)
        let spec = task.simulator.task.spec
        let sub = task.simulator.robot.sensing.firmwareRateHz / spec.controlRateHz
        return Result(
            name: "\(name)/file",
            unit: "FileTask (\(robotFile)) SimEnvironment.step: one \(spec.decisionRateHz) Hz decision = \(spec.controlTicksPerDecision) control ticks × (\(sub) RK4 sub-steps + actuators + encoder + velocity filter + reward), observation written",
            lanes: 1, stepsPerSecond: runs, controlTicksPerStep: spec.controlTicksPerDecision)
    }

    /// `ChainBatch` on a file task: `lanes` environments stepped one decision per call,
    /// observations written, per environment.
    static func fileTaskBatch(_ task: FileTask, name: String, lanes: Int, seconds: Double, repeats: Int) throws -> Result {
        let batch = try ChainBatch(simulator: task.simulator, count: lanes)
        var random = SimRandom(seed: 8)
        batch.reset(random: &random)
        let a = task.actionSize, o = task.observationSize
        let actions = UnsafeMutablePointer<Float>.allocate(capacity: lanes * a)
        defer { actions.deallocate() }
        for i in 0..<(lanes * a) { actions[i] = Float(random.uniform(-1, 1)) }
        let rewards = UnsafeMutablePointer<Double>.allocate(capacity: lanes)
        defer { rewards.deallocate() }
        let terminals = UnsafeMutablePointer<Bool>.allocate(capacity: lanes)
        defer { terminals.deallocate() }
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: lanes * o)
        defer { obs.deallocate() }
        var runs: [Double] = []
        for _ in 0..<repeats {
            runs.append(
                measure(seconds: seconds, stepsPerCall: lanes) {
                    batch.step(actions: actions, rewards: rewards, terminals: terminals)
                    batch.writeObservations(into: obs)
                    for i in 0..<lanes where terminals[i] { batch.reset(lane: i, random: &random) }
                })
        }
        precondition(rewards[0].isFinite)
        let spec = task.simulator.task.spec
        return Result(
            name: "\(name)/file-batch",
            unit: "ChainBatch.step + writeObservations over \(lanes) environments: one \(spec.decisionRateHz) Hz decision each, per environment",
            lanes: lanes, stepsPerSecond: runs, controlTicksPerStep: spec.controlTicksPerDecision)
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

    static func scalarPendulum(seconds: Double, repeats: Int, parameters: PendulumParameters = .gymnasium) throws -> Result {
        var env = SimEnvironment(task: PendulumTask(parameters: parameters), seed: 1)
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
        let gymnasium = parameters == .gymnasium
        return Result(
            name: gymnasium ? "pendulum/scalar" : "pendulum/scalar-200hz",
            unit: gymnasium
                ? "SimEnvironment<PendulumTask>.step: one pendulum, float64, observation written"
                : "SimEnvironment<PendulumTask(.rate200Hz)>.step, the trainer's pendulum before the files: one 200 Hz tick",
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
