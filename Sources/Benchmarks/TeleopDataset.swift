import Control
import Tasks

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import H2OTrainer
import FixedNN

/// Offline real-domain data for the gap benchmark: a scripted "noisy teleop" operator
/// (the energy-pumping swing-up controller with a per-episode effort scale and correlated
/// Ornstein–Uhlenbeck noise, as a human's stick would wander) drives the real plant
/// (`RealPlantEnvironment`), and every tick is written in the project's dataset format
/// (Control/DATASET.md) with the `teleop` flag.
public enum TeleopDataset {
    /// How the scripted operator behaves.
    public struct Options: Sendable {
        /// Episodes to record.
        public var episodes = 20
        /// Stationary std of the operator's noise, in action units (1 = full torque).
        public var noise = 0.3
        /// Correlation time of the noise, s.
        public var noiseTime = 0.1
        /// Each episode scales the controller's action by U[1 − effortSpread, 1] (a timid or a
        /// firm operator: weaker episodes swing up later or not at all), before the noise.
        public var effortSpread = 0.5
        /// Ticks per episode (0: the task's episode length).
        public var episodeTicks = 0
        /// Seed of the operator's noise, the start jitter and the plant's sensor noise.
        public var seed: UInt64 = 1
        /// Real plant parameters (plant.h names) overriding the reference robot.
        public var plantParameters: [String: Double] = [:]

        public init() {}
    }

    /// What was recorded.
    public struct Summary: Sendable {
        /// Records written (one per tick, plus one closing record per timed-out episode).
        public var records: Int
        /// Undiscounted return of each episode.
        public var returns: [Double]
    }

    /// The dataset schema of the pendulum task.
    public static func pendulumSchema(task: PendulumTask, robotID: String) -> DatasetSchema {
        DatasetSchema(
            robotID: robotID, task: task.name, controlRateHz: 1 / task.controlPeriod,
            observation: [
                DatasetChannel(name: "cos_theta", unit: "1"), DatasetChannel(name: "sin_theta", unit: "1"),
                DatasetChannel(name: "theta_dot", unit: "rad/s"),
            ],
            action: [DatasetChannel(name: "torque", unit: "1")],
            rewardDefinition:
                "-(angle_normalize(theta)^2 + 0.1*theta_dot^2 + 0.001*u^2) * dt/0.05, u = action * \(task.parameters.maxTorque) N*m (Gymnasium Pendulum-v1 cost)",
            source: "teleop")
    }

    /// Records pendulum swing-up episodes on the real plant into `directory` (created, or
    /// appended to if it holds a compatible dataset).
    public static func recordPendulum(
        task: PendulumTask, directory: String, options: Options
    ) throws -> Summary {
        var env = try RealPlantEnvironment(
            task: task, parameters: options.plantParameters, seed: options.seed)
        let writer = try DatasetWriter(
            directory: directory, schema: pendulumSchema(task: task, robotID: "emulated-pendulum"))
        var random = SimRandom(seed: options.seed &+ 0x7E1E)
        let base = PendulumSwingUpController(task: task)
        let ticks = options.episodeTicks > 0 ? options.episodeTicks : task.episodeTicks
        let decay = exp(-task.controlPeriod / options.noiseTime)
        let kick = options.noise * (1 - decay * decay).squareRoot()
        var observation = [Float](repeating: 0, count: 3)
        var records = 0
        var returns: [Double] = []
        var tick: UInt64 = 0
        let periodNanos = UInt64((task.controlPeriod * 1e9).rounded())
        for episode in 0..<options.episodes {
            let controller = base
            let effort = Float(random.uniform(1 - options.effortSpread, 1))
            var wander = options.noise * random.normal()
            env.reset(observation: &observation)
            var total = 0.0
            for t in 0..<ticks {
                wander = decay * wander + kick * random.normal()
                var action = [
                    min(max(effort * controller.action(observation: observation) + Float(wander), -1), 1)
                ]
                let before = observation
                let outcome = env.step(action: &action[0], observation: &observation)
                total += outcome.reward
                var flags: TransitionFlags = [.teleop]
                if t == 0 { flags.insert(.episodeStart) }
                if outcome.terminated { flags.insert(.terminal) }
                let header = TransitionHeader(
                    timestampNanos: tick * periodNanos, tick: tick, episode: UInt32(episode), flags: flags,
                    reward: Float(outcome.reward))
                try writer.append(Transition(header: header, observation: before, action: action))
                records += 1
                tick += 1
                if outcome.terminated { break }
                if t == ticks - 1 {
                    // Closing record: the final observation, so the last step pairs up.
                    let closing = TransitionHeader(
                        timestampNanos: tick * periodNanos, tick: tick, episode: UInt32(episode),
                        flags: [.teleop, .timeout])
                    try writer.append(Transition(header: closing, observation: observation, action: [0]))
                    records += 1
                    tick += 1
                }
            }
            returns.append(total)
        }
        try writer.close()
        return Summary(records: records, returns: returns)
    }
}
