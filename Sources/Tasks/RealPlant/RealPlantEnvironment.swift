import Control

/// A task whose real robot the C plant models: which plant, and where its episodes start
/// on the real robot (after the task's reset procedure).
public protocol PlantBackedTask: ControlTask {
    /// The plant that stands for this task's robot.
    var plantKind: RealPlantKind { get }
    /// plant.h parameters that make the reference plant this task's robot, before the
    /// caller's overrides (empty: the reference robot of `plantKind`). Throws one line when
    /// the robot cannot be expressed.
    func plantParameters() throws -> [String: Double]
    /// Start positions after the real reset procedure (e.g. hanging still), per joint.
    var realStartPositions: JointVector { get }
    /// Half-width of the uniform jitter of start positions and velocities (the reset
    /// procedure's tolerance).
    var realStartJitter: Double { get }
    /// Control ticks per environment step: a decision holds its action this long and earns
    /// the sum of the per-tick rewards (1: one step is one control tick).
    var controlTicksPerStep: Int { get }
    /// The firmware's tick and velocity filter on this robot.
    var firmware: (rateHz: Int, velocityShift: Int, velocityWindow: Int) { get }
}

extension PlantBackedTask {
    public func plantParameters() throws -> [String: Double] { [:] }
    public var controlTicksPerStep: Int { 1 }
    public var firmware: (rateHz: Int, velocityShift: Int, velocityWindow: Int) { (1000, 2, 4) }
}

/// Two start positions as a joint vector.
private func joints(_ a: Double, _ b: Double) -> JointVector {
    var v = JointVector(repeating: 0)
    v[0] = a
    v[1] = b
    return v
}

extension PendulumTask: PlantBackedTask {
    public var plantKind: RealPlantKind { .pendulum }
    public var realStartPositions: JointVector { joints(Double.pi, 0) }
    public var realStartJitter: Double { 0.05 }
}

extension CartPoleTask: PlantBackedTask {
    public var plantKind: RealPlantKind { .cartpole }
    public var realStartPositions: JointVector {
        joints(0, parameters.mode == .balance ? 0 : Double.pi)
    }
    public var realStartJitter: Double { parameters.mode == .balance ? 0.02 : 0.05 }
}

/// A task defined by files on the emulated robot's chain plant: the robot file's mechanism
/// (`RealPlant.chainParameters`, the nominal robot, not the simulator's gap parameters), its
/// firmware rate and velocity filter. Episodes start where the task's reset leaves the
/// robot: `park` targets on the joints it parks, every other joint at rest hanging straight
/// down (a revolute link pointing along −y; a prismatic joint at 0).
extension FileTask: PlantBackedTask {
    public var plantKind: RealPlantKind { .chain }
    public func plantParameters() throws -> [String: Double] {
        try RealPlant.chainParameters(robot: parameters.robot, controlRateHz: loopTask.spec.controlRateHz)
    }
    public var realStartPositions: JointVector {
        var q = JointVector(repeating: 0)
        var parentAngle = 0.0
        var targets: [Double?] = Array(repeating: nil, count: parameters.robot.joints.count)
        if case .park(let target, _, _, _, _, _) = loopTask.spec.reset { targets = target }
        for (i, joint) in parameters.robot.joints.enumerated() {
            let b = joint.body
            switch b.kind {
            case .revolute:
                q[i] = targets[i] ?? wrapAngle(-Double.pi / 2 - parentAngle - b.offset)
                parentAngle += b.offset + q[i]
            case .prismatic:
                q[i] = targets[i] ?? 0
                parentAngle += b.offset
            }
        }
        return q
    }
    public var realStartJitter: Double { 0.05 }
    public var controlTicksPerStep: Int { loopTask.spec.controlTicksPerDecision }
    public var firmware: (rateHz: Int, velocityShift: Int, velocityWindow: Int) {
        let s = parameters.robot.sensing
        return (s.firmwareRateHz, s.velocityShift, s.velocityWindow)
    }
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
    /// Internal plant steps per control tick (the firmware's tick, 1 kHz on the reference robot).
    public let internalTicks: Int
    /// The firmware's internal tick, µs.
    public let internalMicros: Int64
    /// Control ticks per `step` (the task's decision).
    public let controlTicks: Int
    private var filters: InlineArray<8, FirmwareVelocityFilter>
    private var random: SimRandom
    private var robot = RobotState()
    private var command = RobotCommand()
    private var current = InlineArray<64, Float>(repeating: 0)
    public private(set) var tick = 0

    /// The task on a plant of its kind with `parameters` (plant.h names) overriding the
    /// task's robot; `seed` drives sensor noise and start jitter. The firmware's rate and
    /// velocity filter default to the task's.
    public init(
        task: Task, parameters: [String: Double] = [:], seed: UInt64,
        internalRateHz: Int? = nil, velocityFilterShift: Int? = nil, velocityWindow: Int? = nil
    ) throws {
        guard task.observationSize <= 64 else {
            throw SimError("real plant: \(task.name) observes \(task.observationSize) values; at most 64 are supported")
        }
        self.task = task
        let firmware = task.firmware
        let rate = internalRateHz ?? firmware.rateHz
        self.plant = try RealPlant(
            kind: task.plantKind, parameters: try task.plantParameters().merging(parameters) { $1 }, seed: seed)
        controlTicks = max(1, task.controlTicksPerStep)
        let tickSeconds = task.controlPeriod / Double(controlTicks)
        let ticks = (tickSeconds * Double(rate)).rounded()
        guard ticks >= 1, abs(ticks / Double(rate) - tickSeconds) < 1e-9 else {
            throw SimError(
                "real plant: control tick \(tickSeconds) s is not a whole number of \(rate) Hz internal ticks; use dt=0.005 or another multiple of \(1.0 / Double(rate)) s"
            )
        }
        self.internalTicks = Int(ticks)
        self.internalMicros = Int64((1_000_000 / Double(rate)).rounded())
        self.filters = InlineArray(
            repeating: FirmwareVelocityFilter(
                shift: velocityFilterShift ?? firmware.velocityShift, window: velocityWindow ?? firmware.velocityWindow))
        self.random = SimRandom(seed: seed ^ 0x5EED_0F_5747)
    }

    public var observationSize: Int { task.observationSize }
    public var actionSize: Int { task.actionSize }
    public var episodeTicks: Int { task.episodeTicks }

    /// The robot state the loop would read now.
    public var robotState: RobotState { robot }

    public mutating func reset(observation: UnsafeMutablePointer<Float>) {
        let j = task.realStartJitter
        var positions = task.realStartPositions
        var velocities = JointVector(repeating: 0)
        for i in 0..<plant.jointCount {
            positions[i] += random.uniform(-j, j)
            velocities[i] = random.uniform(-j, j)
        }
        reset(positions: positions, velocities: velocities, observation: observation)
    }

    /// Starts an episode from a given plant state (joints 0 and 1).
    public mutating func reset(
        positions: (Double, Double), velocities: (Double, Double),
        observation: UnsafeMutablePointer<Float>
    ) {
        var p = JointVector(repeating: 0), v = JointVector(repeating: 0)
        (p[0], p[1]) = positions
        (v[0], v[1]) = velocities
        reset(positions: p, velocities: v, observation: observation)
    }

    /// Starts an episode from a given plant state (the first `jointCount` entries).
    public mutating func reset(positions: JointVector, velocities: JointVector, observation: UnsafeMutablePointer<Float>) {
        plant.reset(positions: positions, velocities: velocities)
        for i in 0..<plant.jointCount { filters[i].reset(counts: plant.encoderCounts(i)) }
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
        let n = plant.jointCount
        let dt = Double(internalMicros) * 1e-6
        var reward = 0.0
        for k in 0..<controlTicks {
            if k > 0 {
                let robot = self.robot
                Self.withStorage(&current) { buffer in task.observe(robot, into: buffer) }
            }
            reward += Double(Self.withStorage(&current) { buffer in task.reward(observation: buffer, action: action) })
            task.command(for: action, into: &command)
            // The host sends whole mN·m (mN): what crosses the wire.
            for j in 0..<n { plant.setCommand((Double(command.setpoint[j]) * 1000).rounded() / 1000, joint: j) }
            for _ in 0..<internalTicks {
                plant.step(dt)
                for j in 0..<n { _ = filters[j].update(counts: plant.encoderCounts(j), dtMicros: internalMicros) }
            }
            readRobot()
        }
        tick += 1
        let robot = self.robot
        let terminal = Self.withStorage(&current) { buffer in
            task.observe(robot, into: buffer)
            for k in 0..<task.observationSize { observation[k] = buffer[k] }
            return task.isTerminal(observation: buffer)
        }
        return StepOutcome(
            reward: reward, terminated: terminal,
            truncated: !terminal && tick >= task.episodeTicks)
    }

    /// The current observation's storage (fixed capacity 64, in the struct).
    @inline(__always)
    private static func withStorage<R>(
        _ storage: inout InlineArray<64, Float>, _ body: (UnsafeMutablePointer<Float>) -> R
    ) -> R {
        withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: Float.self, capacity: 64, body)
        }
    }

    /// Converts the plant's sensors to a calibrated robot state, as the host would.
    private mutating func readRobot() {
        robot.jointCount = plant.jointCount
        for joint in 0..<plant.jointCount {
            let resolution = plant.encoderResolution(joint)
            let scale = plant.isPrismatic(joint) ? 1 / resolution : 2 * Double.pi / resolution
            robot.position[joint] = Float(Double(plant.encoderCounts(joint)) * scale)
            robot.velocity[joint] = Float(Double(filters[joint].countsPerSecond) * scale)
            robot.effort[joint] = Float(plant.motorCurrent(joint))
        }
        robot.commandSequenceEcho = UInt32(truncatingIfNeeded: tick)
    }
}
