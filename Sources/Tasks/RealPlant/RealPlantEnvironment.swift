import Control

/// A task whose real robot the C plant models: which plant, and where its episodes start
/// on the real robot (after the task's reset procedure).
public protocol PlantBackedTask: ControlTask {
    /// The plant that stands for this task's robot.
    var plantKind: RealPlantKind { get }
    /// Start positions after the real reset procedure (e.g. hanging still), per joint.
    var realStartPositions: (Double, Double) { get }
    /// Half-width of the uniform jitter of start positions and velocities (the reset
    /// procedure's tolerance).
    var realStartJitter: Double { get }
}

extension PendulumTask: PlantBackedTask {
    public var plantKind: RealPlantKind { .pendulum }
    public var realStartPositions: (Double, Double) { (Double.pi, 0) }
    public var realStartJitter: Double { 0.05 }
}

extension CartPoleTask: PlantBackedTask {
    public var plantKind: RealPlantKind { .cartpole }
    public var realStartPositions: (Double, Double) {
        (0, parameters.mode == .balance ? 0 : Double.pi)
    }
    public var realStartJitter: Double { parameters.mode == .balance ? 0.02 : 0.05 }
}

/// The real plant (firmware-proto/plant, the emulated robot's physics) stepped directly,
/// without firmware or pseudo-terminal, seen through the task's loop-facing definitions:
/// the 200 Hz loop's `observe`, `command(for:)`, `reward` and `isTerminal`. For fast
/// real-domain evaluation (the gap benchmark) and system-identification tests.
///
/// What the emulated robot does and this mirrors: the plant runs at the firmware's 1 kHz
/// internal tick; commands are rounded to whole mN·m (mN for the cart) and held until the
/// next command; positions come from quantised encoder counts and velocities from the
/// firmware's fixed-point filter (`FirmwareVelocityFilter`). What it leaves out: the serial
/// link's timing and the host's scheduling jitter.
///
/// Thread contract: a value type with one owner thread. `reset` and `step` are real-time
/// safe: they do not allocate, lock or throw.
public struct RealPlantEnvironment<Task: PlantBackedTask>: TaskEnvironment {
    public let task: Task
    public private(set) var plant: RealPlant
    /// Internal plant steps per control period (the firmware's 1 kHz tick).
    public let internalTicks: Int
    /// The firmware's internal tick, µs.
    public let internalMicros: Int64
    private var filters: (FirmwareVelocityFilter, FirmwareVelocityFilter)
    private var random: SimRandom
    private var robot = RobotState()
    private var command = RobotCommand()
    private var current = InlineArray<8, Float>(repeating: 0)
    public private(set) var tick = 0

    /// The task on a plant of its kind with `parameters` (plant.h names) overriding the
    /// reference robot; `seed` drives sensor noise and start jitter.
    public init(
        task: Task, parameters: [String: Double] = [:], seed: UInt64,
        internalRateHz: Int = 1000, velocityFilterShift: Int = 2, velocityWindow: Int = 4
    ) throws {
        precondition(task.observationSize <= 8, "RealPlantEnvironment holds observations of at most 8 values")
        self.task = task
        self.plant = try RealPlant(kind: task.plantKind, parameters: parameters, seed: seed)
        let ticks = (task.controlPeriod * Double(internalRateHz)).rounded()
        guard ticks >= 1, abs(ticks / Double(internalRateHz) - task.controlPeriod) < 1e-9 else {
            throw SimError(
                "real plant: control period \(task.controlPeriod) s is not a whole number of \(internalRateHz) Hz internal ticks; use dt=0.005 or another multiple of \(1.0 / Double(internalRateHz)) s"
            )
        }
        self.internalTicks = Int(ticks)
        self.internalMicros = Int64((1_000_000 / Double(internalRateHz)).rounded())
        self.filters = (
            FirmwareVelocityFilter(shift: velocityFilterShift, window: velocityWindow),
            FirmwareVelocityFilter(shift: velocityFilterShift, window: velocityWindow)
        )
        self.random = SimRandom(seed: seed ^ 0x5EED_0F_5747)
    }

    public var observationSize: Int { task.observationSize }
    public var actionSize: Int { task.actionSize }
    public var episodeTicks: Int { task.episodeTicks }

    /// The robot state the loop would read now.
    public var robotState: RobotState { robot }

    public mutating func reset(observation: UnsafeMutablePointer<Float>) {
        let j = task.realStartJitter
        let start = task.realStartPositions
        let positions = (start.0 + random.uniform(-j, j), start.1 + random.uniform(-j, j))
        let velocities = (random.uniform(-j, j), random.uniform(-j, j))
        reset(positions: positions, velocities: velocities, observation: observation)
    }

    /// Starts an episode from a given plant state.
    public mutating func reset(
        positions: (Double, Double), velocities: (Double, Double),
        observation: UnsafeMutablePointer<Float>
    ) {
        plant.reset(positions: positions, velocities: velocities)
        filters.0.reset(counts: plant.encoderCounts(0))
        filters.1.reset(counts: plant.encoderCounts(1))
        tick = 0
        readRobot()
        let task = self.task
        let robot = self.robot
        Self.withStorage(&current) { buffer in
            task.observe(robot, into: buffer)
            for k in 0..<task.observationSize { observation[k] = buffer[k] }
        }
    }

    public mutating func step(
        action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>
    ) -> StepOutcome {
        let task = self.task
        let reward = Self.withStorage(&current) { buffer in
            task.reward(observation: buffer, action: action)
        }
        task.command(for: action, into: &command)
        // The host sends whole mN·m (mN): what crosses the wire.
        plant.setCommand((Double(command.setpoint[0]) * 1000).rounded() / 1000)
        let dt = Double(internalMicros) * 1e-6
        for _ in 0..<internalTicks {
            plant.step(dt)
            _ = filters.0.update(counts: plant.encoderCounts(0), dtMicros: internalMicros)
            if plant.jointCount > 1 {
                _ = filters.1.update(counts: plant.encoderCounts(1), dtMicros: internalMicros)
            }
        }
        tick += 1
        readRobot()
        let robot = self.robot
        let terminal = Self.withStorage(&current) { buffer in
            task.observe(robot, into: buffer)
            for k in 0..<task.observationSize { observation[k] = buffer[k] }
            return task.isTerminal(observation: buffer)
        }
        return StepOutcome(
            reward: Double(reward), terminated: terminal,
            truncated: !terminal && tick >= task.episodeTicks)
    }

    /// The current observation's storage (fixed capacity 8, in the struct).
    @inline(__always)
    private static func withStorage<R>(
        _ storage: inout InlineArray<8, Float>, _ body: (UnsafeMutablePointer<Float>) -> R
    ) -> R {
        withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: Float.self, capacity: 8, body)
        }
    }

    /// Converts the plant's sensors to a calibrated robot state, as the host would.
    private mutating func readRobot() {
        robot.jointCount = plant.jointCount
        for joint in 0..<plant.jointCount {
            let resolution = plant.encoderResolution(joint)
            let scale = plant.isPrismatic(joint) ? 1 / resolution : 2 * Double.pi / resolution
            let speed = joint == 0 ? filters.0.countsPerSecond : filters.1.countsPerSecond
            robot.position[joint] = Float(Double(plant.encoderCounts(joint)) * scale)
            robot.velocity[joint] = Float(Double(speed) * scale)
            robot.effort[joint] = Float(plant.motorCurrent(joint))
        }
        robot.commandSequenceEcho = UInt32(truncatingIfNeeded: tick)
    }
}
