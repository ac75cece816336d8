import Control

/// A task defined by a robot file and a task file, as the trainer's onboard simulator: one
/// `stepSim` is one policy decision of `ChainSimulator` (the robot's chain, actuators and
/// sensor pipeline at the firmware rate), so `controlPeriod` and `episodeTicks` count
/// decisions. The loop-facing `ControlTask` members delegate to the 200 Hz `GenericTask`.
///
/// Thread contract: an immutable value; the simulator methods are real-time safe (they do not
/// allocate, lock or throw).
public struct FileTask: SimulatedTask {
    public let parameters: FileTaskParameters
    public let simulator: ChainSimulator

    /// Builds the task from its files and the gap/fit `parameters` (applied to the robot file's
    /// nominal values). Throws one line naming the file and field.
    public init(robot: RobotSpec, task: TaskSpec, parameters: FileTaskParameters? = nil) throws(SimError) {
        let p = parameters ?? FileTaskParameters(robot: robot)
        do {
            let r = p.resolvedRobot
            simulator = try ChainSimulator(robot: r, task: try GenericTask(robot: r, task: task))
        } catch { throw SimError(error.description) }
        self.parameters = p
    }

    /// Loads `robotFile` and `taskFile` (paths), applying `assignments` (`name=value`).
    public static func load(robotFile: String, taskFile: String, assignments: [String] = []) throws(SimError) -> FileTask {
        let robot: RobotSpec, task: TaskSpec
        do {
            robot = try RobotSpec.load(path: robotFile)
            task = try TaskSpec.load(path: taskFile, robot: robot)
        } catch { throw SimError(error.description) }
        var p = FileTaskParameters(robot: robot)
        try p.apply(assignments: assignments)
        return try FileTask(robot: robot, task: task, parameters: p)
    }

    var loopTask: GenericTask { simulator.task }
    public var name: String { loopTask.name }
    public var observationSize: Int { loopTask.observationSize }
    public var actionSize: Int { loopTask.actionSize }
    /// One decision, seconds.
    public var controlPeriod: Double { 1 / Double(loopTask.spec.decisionRateHz) }
    /// Decisions per episode.
    public var episodeTicks: Int { max(1, loopTask.spec.episodeTicks / loopTask.spec.controlTicksPerDecision) }
    public var discount: Double { loopTask.spec.discount }

    public func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>) { loopTask.observe(state, into: observation) }
    public func command(for action: UnsafePointer<Float>, into command: inout RobotCommand) { loopTask.command(for: action, into: &command) }
    /// The per-control-tick reward (a decision's reward is the sum over its ticks).
    public func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float {
        loopTask.reward(observation: observation, action: action)
    }
    public func isTerminal(observation: UnsafePointer<Float>) -> Bool { loopTask.isTerminal(observation: observation) }
    public func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
        loopTask.resetStep(state, ticksInReset: ticksInReset, into: &command)
    }

    public var simStateNames: [String] {
        simulator.robot.joints.map { "\($0.name).position" } + simulator.robot.joints.map { "\($0.name).velocity" }
    }

    public func simState(from values: UnsafePointer<Double>) -> ChainSimulator.State {
        let n = simulator.robot.joints.count
        var q = JointVector(repeating: 0), qd = JointVector(repeating: 0)
        for i in 0..<n {
            q[i] = values[i]
            qd[i] = values[n + i]
        }
        return simulator.state(q: q, qd: qd)
    }

    public func write(_ state: ChainSimulator.State, to values: UnsafeMutablePointer<Double>) {
        let n = simulator.robot.joints.count
        for i in 0..<n {
            values[i] = state.q[i]
            values[n + i] = state.qd[i]
        }
    }

    public func resetSim(random: inout SimRandom) -> ChainSimulator.State { simulator.reset(random: &random) }

    public func observeSim(_ state: ChainSimulator.State, into observation: UnsafeMutablePointer<Float>) {
        simulator.observe(state, into: observation)
    }

    public func stepSim(_ state: inout ChainSimulator.State, action: UnsafePointer<Float>, random: inout SimRandom)
        -> (reward: Double, terminal: Bool)
    {
        simulator.step(&state, action: action)
    }
}

/// The gap and system-identification parameters of a file-defined task, over the robot file's
/// nominal values: the shared gap names act on every joint (`mass` and `length` scale every
/// link, `damping` and `coulomb` add friction to every joint, `actuator_gain` scales every
/// actuator, `gravity` and `latency_ticks` replace the robot's), and `<joint>.<name>` sets one
/// joint's `mass`, `com`, `inertia`, `length`, `viscous`, `coulomb` or `gain`.
public struct FileTaskParameters: TaskParameters, Equatable {
    public let robot: RobotSpec
    public var gravity: Double
    public var massScale = 1.0
    public var lengthScale = 1.0
    public var damping = 0.0
    public var coulomb = 0.0
    public var actuatorGain = 1.0
    public var latencyTicks: Int
    /// `<joint>.<field>` overrides, applied after the scalings.
    public var jointValues: [String: Double] = [:]

    public init(robot: RobotSpec) {
        self.robot = robot
        gravity = robot.gravity
        latencyTicks = robot.sensing.latencyTicks
    }

    public static let parameterDocs: KeyValuePairs<String, String> = [
        "gravity": "gravity, m/s^2 (replaces the robot file's)",
        "mass": "scale of every link mass (1 = the robot file's)",
        "length": "scale of every link length and centre of mass (1 = the robot file's)",
        "damping": "viscous friction added to every joint, N*m*s/rad or N*s/m",
        "coulomb": "Coulomb friction added to every joint, N*m or N",
        "actuator_gain": "scale of every actuator's gain (1 = the robot file's)",
        "latency_ticks": "actuation latency, control ticks (replaces the robot file's)",
        "<joint>.<mass|com|inertia|length|viscous|coulomb|gain>": "one joint's value, SI units",
    ]

    static let jointFields = ["mass", "com", "inertia", "length", "viscous", "coulomb", "gain"]

    /// Every parameter with its current value and a description: the shared names, then each
    /// joint's `<joint>.<field>` (`gain` only on driven joints).
    public func table() -> [(name: String, value: Double, doc: String)] {
        var rows: [(name: String, value: Double, doc: String)] = []
        for (name, doc) in Self.parameterDocs where !name.hasPrefix("<") {
            rows.append((name, value(of: name) ?? .nan, doc))
        }
        let docs = [
            "mass": "link mass, kg", "com": "centre of mass along the link, m", "inertia": "inertia about the centre of mass, kg*m^2",
            "length": "link length, m", "viscous": "viscous friction, N*m*s/rad or N*s/m", "coulomb": "Coulomb friction, N*m or N",
            "gain": "actuator gain, delivered / commanded",
        ]
        for joint in robot.joints {
            for field in Self.jointFields where field != "gain" || joint.actuator != nil {
                let name = "\(joint.name).\(field)"
                rows.append((name, value(of: name) ?? .nan, "\(joint.name): \(docs[field] ?? field)"))
            }
        }
        return rows
    }

    public func value(of name: String) -> Double? {
        switch name {
        case "gravity": return gravity
        case "mass": return massScale
        case "length": return lengthScale
        case "damping": return damping
        case "coulomb": return coulomb
        case "actuator_gain": return actuatorGain
        case "latency_ticks": return Double(latencyTicks)
        default:
            guard let (j, field) = split(name) else { return nil }
            if let v = jointValues[name] { return v }
            let joint = resolvedRobot.joints[j]
            switch field {
            case "mass": return joint.body.mass
            case "com": return joint.body.com
            case "inertia": return joint.body.inertia
            case "length": return joint.body.length
            case "viscous": return joint.body.viscous
            case "coulomb": return joint.body.coulomb
            default: return joint.actuator?.gain
            }
        }
    }

    func split(_ name: String) -> (Int, String)? {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, Self.jointFields.contains(parts[1]), let j = robot.jointIndex(parts[0]) else { return nil }
        return (j, parts[1])
    }

    public mutating func set(_ name: String, to value: Double) throws(SimError) {
        let t = robot.id
        switch name {
        case "gravity": gravity = try checked(value, name, 0...100, task: t)
        case "mass": massScale = try checked(value, name, 0.01...100, task: t)
        case "length": lengthScale = try checked(value, name, 0.01...100, task: t)
        case "damping": damping = try checked(value, name, 0...1e4, task: t)
        case "coulomb": coulomb = try checked(value, name, 0...1e4, task: t)
        case "actuator_gain": actuatorGain = try checked(value, name, 0.01...100, task: t)
        case "latency_ticks": latencyTicks = try checkedInt(value, name, 0...maxSimLatencyTicks, task: t)
        default:
            guard let (j, field) = split(name) else {
                let joints = robot.joints.map(\.name).joined(separator: ", ")
                throw SimError(
                    "\(t) has no parameter '\(name)'; use gravity, mass, length, damping, coulomb, actuator_gain, latency_ticks or <joint>.<\(Self.jointFields.joined(separator: "|"))> with joint one of \(joints)")
            }
            if field == "gain", robot.joints[j].actuator == nil {
                throw SimError("\(t) parameter \(name): joint '\(robot.joints[j].name)' has no actuator")
            }
            jointValues[name] = try checked(value, name, field == "gain" ? 0.01...100 : 0...1e4, task: t)
        }
    }

    /// The robot file with these parameters applied.
    public var resolvedRobot: RobotSpec {
        var r = robot
        r.gravity = gravity
        r.sensing.latencyTicks = latencyTicks
        for i in r.joints.indices {
            r.joints[i].body.mass *= massScale
            r.joints[i].body.inertia *= massScale * lengthScale * lengthScale
            r.joints[i].body.length *= lengthScale
            r.joints[i].body.com *= lengthScale
            r.joints[i].body.viscous += damping
            r.joints[i].body.coulomb += coulomb
            r.joints[i].actuator?.gain *= actuatorGain
        }
        for (name, v) in jointValues {
            guard let (j, field) = split(name) else { continue }
            switch field {
            case "mass": r.joints[j].body.mass = v
            case "com": r.joints[j].body.com = v
            case "inertia": r.joints[j].body.inertia = v
            case "length": r.joints[j].body.length = v
            case "viscous": r.joints[j].body.viscous = v
            case "coulomb": r.joints[j].body.coulomb = v
            default: r.joints[j].actuator?.gain = v
            }
        }
        return r
    }
}
