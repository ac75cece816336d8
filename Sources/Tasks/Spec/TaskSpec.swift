import Control
import Foundation

/// A task defined as data (`tasks/<name>.json`, format `robotctl-task/1`) over a robot file's
/// joints: the observation features, the action mapping, the reward as weighted terms of
/// expressions, termination conditions, the reset procedure on the robot, the simulator's start
/// distribution, episode length and rates. Schema: `docs/robot-and-task-files.md`.
///
/// Every name an expression may use is a *variable* the observation or action provides:
/// `J.position`, `J.velocity`, `J.cos`, `J.sin` for each observed joint `J` (as its features
/// give them), `J.action` (policy output in [−1, 1]) and `J.effort` (the commanded torque/force)
/// for each actuated joint, `J.previous_action` where observed. A reward on a quantity the
/// policy does not observe is an error: the trainer computes rewards from recorded observations.
///
/// Set-up value: loaded and validated once against its `RobotSpec`.
public struct TaskSpec: Sendable, Hashable {
    public static let format = "robotctl-task/1"

    /// One block of the observation vector.
    public enum Feature: Sendable, Hashable {
        /// cos q, sin q of a revolute joint (2 values).
        case angleSinCos(joint: Int)
        /// q wrapped to [−π, π) (1 value).
        case angleWrapped(joint: Int)
        /// q as measured (1 value; prismatic joints, or bounded revolute ones).
        case position(joint: Int)
        /// q̇ times `scale` (1 value).
        case velocity(joint: Int, scale: Double)
        /// The previous decision's action of an actuated joint (1 value).
        case previousAction(actuator: Int)

        public var width: Int {
            if case .angleSinCos = self { return 2 }
            return 1
        }
    }

    /// One action component: drives `joint`'s actuator with setpoint = action × `scale`.
    public struct ActionMap: Sendable, Hashable {
        public var joint: Int
        public var scale: Double
    }

    /// A named reward term: `weight × value` each decision.
    public struct RewardTerm: Sendable, Hashable {
        public var name: String
        public var weight: Double
        public var value: Expression
    }

    /// How an episode starts on the real robot (the unrecorded reset phase).
    public enum Reset: Sendable, Hashable {
        /// PD control of the actuated joints that have a `target` (rad or m; nil: no target,
        /// zero effort) until those joints are within `tolerance` and every joint is slower than
        /// `speedTolerance` for `settleSeconds`.
        case park(target: [Double?], kp: Double, kd: Double, tolerance: Double, speedTolerance: Double, settleSeconds: Double)
        /// Zero torque with damping `kd` until every joint is slower than `speedTolerance` for
        /// `settleSeconds` (a pendulum left to hang).
        case waitSettled(kd: Double, speedTolerance: Double, settleSeconds: Double)
        /// Torque off until the operator says the robot is ready (teleop "next").
        case operatorReady
    }

    /// How the operator drives one acted-on joint in teleop: the action component, a key
    /// pair (decrease, increase) moving it by `step` per press, and a gamepad axis scaled by
    /// `scale` (negative: inverted).
    public struct TeleopBinding: Sendable, Hashable {
        public var joint: Int
        /// Index into `actions`.
        public var component: Int
        /// Lower-case ASCII letters or digits.
        public var decreaseKey: UInt8
        public var increaseKey: UInt8
        public var step: Double
        public var axis: Int
        public var scale: Double
    }

    /// Axes of the Linux joystick API the teleop section may name (Hardware's
    /// `JoystickState.maxAxes`).
    public static let teleopAxes = 16
    /// The default key pairs of action components 0, 1, …: `a`/`d` (today's pendulum keys),
    /// then `j`/`l`, `z`/`c`, `u`/`o`, `f`/`h`, `v`/`b`, `t`/`y`, `1`/`2`.
    public static let defaultTeleopKeys: [(UInt8, UInt8)] = ["ad", "jl", "zc", "uo", "fh", "vb", "ty", "12"].map {
        let u = Array($0.utf8)
        return (u[0], u[1])
    }

    public var name: String
    /// The robot id this task was written for; nil for any robot with the named joints.
    public var robotID: String?
    public var controlRateHz: Int
    public var decisionRateHz: Int
    public var episodeSeconds: Double
    public var discount: Double
    public var features: [Feature]
    public var actions: [ActionMap]
    public var reward: [RewardTerm]
    public var termination: [Expression]
    public var reset: Reset
    /// Simulator start: per joint, the position and velocity ranges drawn uniformly.
    public var startPosition: [ClosedRange<Double>]
    public var startVelocity: [ClosedRange<Double>]
    /// Names bound to expressions, in the order of the variable vector.
    public var variables: [String]
    public var source: String
    /// One binding per action component, in the order of `actions` (the file's `teleop`
    /// section, or the defaults: component i on key pair i of `defaultTeleopKeys`, axis i,
    /// step 0.25, scale 1).
    public var teleop: [TeleopBinding] = []

    public var observationSize: Int { features.reduce(0) { $0 + $1.width } }
    public var actionSize: Int { actions.count }
    public var controlTicksPerDecision: Int { controlRateHz / decisionRateHz }
    public var episodeTicks: Int { Int((episodeSeconds * Double(controlRateHz)).rounded()) }

    public static func load(path: String, robot: RobotSpec) throws(SpecError) -> TaskSpec {
        var root = try SpecObject.load(path: path)
        return try parse(&root, robot: robot)
    }

    public static func parse(_ data: Data, file: String, robot: RobotSpec) throws(SpecError) -> TaskSpec {
        var root = try SpecObject.parse(data, file: file)
        return try parse(&root, robot: robot)
    }

    static func parse(_ root: inout SpecObject, robot: RobotSpec) throws(SpecError) -> TaskSpec {
        let format = try root.string("format")
        guard format == Self.format else {
            throw root.fail("format", "'\(format)' is not '\(Self.format)'; this is not a task file (or one of a newer version)")
        }
        let name = try root.string("name")
        let robotID = try root.optionalString("robot")
        if let robotID, robotID != robot.id {
            throw root.fail("robot", "the task is for robot '\(robotID)' but \(robot.source) is '\(robot.id)'; pass the matching robot file")
        }
        let controlRate = try root.integer("control_rate_hz", in: 1...2000, default: 200)
        let decisionRate = try root.integer("decision_rate_hz", in: 1...2000, default: controlRate)
        guard decisionRate <= controlRate, controlRate % decisionRate == 0 else {
            throw root.fail("decision_rate_hz", "\(decisionRate) must divide control_rate_hz \(controlRate) (e.g. 20 for 200)")
        }
        let episode = try root.number("episode_seconds", in: 0.01...3600, unit: "s")
        let discount = try root.number("discount", in: 0...1, default: 0.99)

        func joint(_ o: inout SpecObject, _ key: String = "joint") throws(SpecError) -> Int {
            let n = try o.string(key)
            guard let i = robot.jointIndex(n) else {
                throw o.fail(key, "'\(n)' is not a joint of \(robot.source) (joints: \(robot.joints.map(\.name).joined(separator: ", ")))")
            }
            return i
        }

        // Actions first: features may observe the previous action.
        var actions: [ActionMap] = []
        for var a in try root.objects("action", count: 1...maxChainJoints) {
            let j = try joint(&a)
            guard let act = robot.joints[j].actuator else {
                throw a.fail("joint", "'\(robot.joints[j].name)' has no actuator in \(robot.source); act on an actuated joint")
            }
            let scale = try a.number("scale", in: 1e-6...1e4, default: act.effortLimit)
            if act.mode == .torque, scale > act.effortLimit * (1 + 1e-9) {
                throw a.fail("scale", "\(scale) exceeds the actuator's effort_limit \(act.effortLimit); lower it")
            }
            if actions.contains(where: { $0.joint == j }) { throw a.fail("joint", "'\(robot.joints[j].name)' is mapped twice") }
            actions.append(ActionMap(joint: j, scale: scale))
            try a.finish()
        }

        var features: [Feature] = []
        var provided: [String] = []
        for var f in try root.objects("observation", count: 1...64) {
            let kind = try f.string("feature")
            switch kind {
            case "angle":
                let j = try joint(&f)
                let jn = robot.joints[j].name
                guard robot.joints[j].body.kind == .revolute else {
                    throw f.fail("feature", "'angle' needs a revolute joint; '\(jn)' is prismatic: use 'position'")
                }
                let encoding = try f.optionalString("encoding") ?? "sincos"
                switch encoding {
                case "sincos":
                    features.append(.angleSinCos(joint: j))
                    provided += ["\(jn).cos", "\(jn).sin", "\(jn).position"]
                case "wrapped":
                    features.append(.angleWrapped(joint: j))
                    provided += ["\(jn).position"]
                default: throw f.fail("encoding", "'\(encoding)' is not one of sincos, wrapped")
                }
            case "position":
                let j = try joint(&f)
                features.append(.position(joint: j))
                provided.append("\(robot.joints[j].name).position")
            case "velocity":
                let j = try joint(&f)
                features.append(.velocity(joint: j, scale: try f.number("scale", in: 1e-6...1e6, default: 1)))
                provided.append("\(robot.joints[j].name).velocity")
            case "previous_action":
                let j = try joint(&f)
                guard let k = actions.firstIndex(where: { $0.joint == j }) else {
                    throw f.fail("joint", "'\(robot.joints[j].name)' has no action in this task; observe the previous action of an acted-on joint")
                }
                features.append(.previousAction(actuator: k))
                provided.append("\(robot.joints[j].name).previous_action")
            default:
                throw f.fail("feature", "'\(kind)' is not a known feature (angle, position, velocity, previous_action)")
            }
            try f.finish()
        }
        let width = features.reduce(0) { $0 + $1.width }
        guard width <= 64 else { throw root.fail("observation", "is \(width) values wide; at most 64") }
        var variables = provided
        for a in actions { variables += ["\(robot.joints[a.joint].name).action", "\(robot.joints[a.joint].name).effort"] }
        if Set(variables).count != variables.count {
            throw root.fail("observation", "observes the same quantity twice; keep one feature per joint quantity")
        }
        guard variables.count <= GenericTask.maxVariables else {
            throw root.fail("observation", "provides \(variables.count) names; at most \(GenericTask.maxVariables)")
        }

        func expression(_ o: inout SpecObject, _ key: String) throws(SpecError) -> Expression {
            let text = try o.string(key)
            do { return try Expression(text, variables: variables) } catch {
                throw o.fail(key, "\(error.description)")
            }
        }

        var reward: [RewardTerm] = []
        for var t in try root.objects("reward", count: 1...32) {
            let termName = try t.string("name")
            let kind = try t.string("type")
            let weight = try t.number("weight", in: -1e6...1e6)
            let value: Expression
            switch kind {
            case "quadratic":
                let of = try expression(&t, "of")
                value = try Self.derived("square(\(of.source))", variables, t, "of")
            case "tracking":
                let of = try expression(&t, "of")
                let target = try expression(&t, "target")
                value = try Self.derived("square((\(of.source)) - (\(target.source)))", variables, t, "target")
            case "bonus":
                let when = try expression(&t, "when")
                value = try Self.derived("(\(when.source)) != 0", variables, t, "when")
            case "expression":
                value = try expression(&t, "value")
            default:
                throw t.fail("type", "'\(kind)' is not one of quadratic, tracking, bonus, expression")
            }
            reward.append(RewardTerm(name: termName, weight: weight, value: value))
            try t.finish()
        }

        var termination: [Expression] = []
        if root.has("termination") {
            let texts = try root.strings("termination")
            for (i, text) in texts.enumerated() {
                do { termination.append(try Expression(text, variables: variables)) } catch {
                    throw root.fail("termination[\(i)]", error.description)
                }
            }
        } else {
            _ = root.raw("termination")
        }

        var r = try root.object("reset")
        let procedure = try r.string("procedure")
        let reset: Reset
        switch procedure {
        case "park":
            var target: [Double?] = Array(repeating: nil, count: robot.joints.count)
            var t = try r.object("target")
            for (i, j) in robot.joints.enumerated() where t.has(j.name) {
                guard j.actuator != nil else {
                    throw t.fail(j.name, "'\(j.name)' has no actuator, so the reset cannot park it; remove it from the target")
                }
                target[i] = try t.number(j.name, in: -1e6...1e6)
            }
            try t.finish()
            guard target.contains(where: { $0 != nil }) else {
                throw r.fail("target", "names no joint; give the park position of at least one actuated joint")
            }
            reset = .park(
                target: target, kp: try r.number("kp", in: 0...1e4), kd: try r.number("kd", in: 0...1e4),
                tolerance: try r.number("tolerance", in: 1e-6...10, default: 0.05),
                speedTolerance: try r.number("speed_tolerance", in: 1e-6...100, default: 0.05),
                settleSeconds: try r.number("settle_seconds", in: 0...60, default: 0.25))
        case "wait_settled":
            reset = .waitSettled(
                kd: try r.number("kd", in: 0...1e4, default: 0), speedTolerance: try r.number("speed_tolerance", in: 1e-6...100, default: 0.05),
                settleSeconds: try r.number("settle_seconds", in: 0...60, default: 0.5))
        case "operator":
            reset = .operatorReady
        default:
            throw r.fail("procedure", "'\(procedure)' is not one of park, wait_settled, operator")
        }
        try r.finish()

        var startPosition = robot.joints.map { _ in 0.0...0.0 }
        var startVelocity = startPosition
        if var s = try root.optionalObject("sim_start") {
            for (i, j) in robot.joints.enumerated() {
                if let p = try s.range("\(j.name).position", within: -1e6...1e6) { startPosition[i] = p }
                if let v = try s.range("\(j.name).velocity", within: -1e6...1e6) { startVelocity[i] = v }
            }
            try s.finish()
        }
        let teleop = try parseTeleop(&root, robot: robot, actions: actions)
        try root.finish()
        return TaskSpec(
            name: name, robotID: robotID, controlRateHz: controlRate, decisionRateHz: decisionRate, episodeSeconds: episode,
            discount: discount, features: features, actions: actions, reward: reward, termination: termination, reset: reset,
            startPosition: startPosition, startVelocity: startVelocity, variables: variables, source: root.file, teleop: teleop)
    }

    /// The `teleop` section: `{"joints": [{"joint", "keys": ["a", "d"], "axis", "step", "scale"}]}`,
    /// one entry per acted-on joint that the operator drives (an acted-on joint left out is
    /// held at 0). Absent: the defaults for every action component.
    static func parseTeleop(_ root: inout SpecObject, robot: RobotSpec, actions: [ActionMap]) throws(SpecError) -> [TeleopBinding] {
        guard var t = try root.optionalObject("teleop") else { return defaultTeleop(actions) }
        var out: [TeleopBinding] = []
        let reserved = Set("nrqxs ".utf8)
        for var b in try t.objects("joints", count: 1...maxChainJoints) {
            let jointName = try b.string("joint")
            guard let j = robot.jointIndex(jointName) else {
                throw b.fail("joint", "'\(jointName)' is not a joint of \(robot.source) (joints: \(robot.joints.map(\.name).joined(separator: ", ")))")
            }
            guard let component = actions.firstIndex(where: { $0.joint == j }) else {
                throw b.fail("joint", "'\(jointName)' has no action in this task; teleop drives the joints of 'action'")
            }
            if out.contains(where: { $0.joint == j }) { throw b.fail("joint", "'\(jointName)' is mapped twice; keep one entry per joint") }
            let keys = try b.strings("keys")
            var pair = defaultTeleopKeys[component]
            if b.has("keys") || !keys.isEmpty {
                guard keys.count == 2, keys.allSatisfy({ $0.utf8.count == 1 }) else {
                    throw b.fail("keys", "must be two one-character keys [decrease, increase], e.g. [\"a\", \"d\"]")
                }
                let k = keys.map { $0.lowercased().utf8.first! }
                for c in k where !((c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))) {
                    throw b.fail("keys", "'\(Character(Unicode.Scalar(c)))' is not a letter or digit; use letters or digits (arrows and space are taken)")
                }
                guard k[0] != k[1] else { throw b.fail("keys", "uses '\(keys[0])' twice; give two different keys") }
                pair = (k[0], k[1])
            }
            for c in [pair.0, pair.1] {
                let key = "'\(Character(Unicode.Scalar(c)))'"
                if reserved.contains(c) {
                    throw b.fail("keys", "\(key) is taken (n next, r redo, q stop, x e-stop, s zero); choose another key")
                }
                if let other = out.first(where: { $0.decreaseKey == c || $0.increaseKey == c }) {
                    throw b.fail("keys", "\(key) is a duplicate key: it already drives '\(robot.joints[other.joint].name)'; give each joint its own keys")
                }
            }
            let axis = try b.integer("axis", in: -1_000_000...1_000_000, default: component)
            guard (0..<teleopAxes).contains(axis) else {
                throw b.fail("axis", "\(axis) is out of range; gamepad axes are 0...\(teleopAxes - 1) (jstest lists them)")
            }
            if let other = out.first(where: { $0.axis == axis }) {
                throw b.fail("axis", "\(axis) already drives '\(robot.joints[other.joint].name)'; give each joint its own axis")
            }
            let step = try b.number("step", in: 0.001...1, default: 0.25)
            let scale = try b.number("scale", in: -1...1, default: 1)
            guard scale != 0 else { throw b.fail("scale", "0 would make the axis do nothing; use 1 (or -1 to invert)") }
            out.append(TeleopBinding(joint: j, component: component, decreaseKey: pair.0, increaseKey: pair.1, step: step, axis: axis, scale: scale))
            try b.finish()
        }
        try t.finish()
        return out
    }

    private static func derived(_ text: String, _ variables: [String], _ o: SpecObject, _ key: String) throws(SpecError) -> Expression {
        do { return try Expression(text, variables: variables) } catch { throw o.fail(key, error.description) }
    }
}

extension TaskSpec {
    /// The default teleop bindings of `actions`: component i on key pair i, axis i, step 0.25, scale 1.
    public static func defaultTeleop(_ actions: [ActionMap]) -> [TeleopBinding] {
        actions.indices.map { i in
            TeleopBinding(
                joint: actions[i].joint, component: i, decreaseKey: defaultTeleopKeys[i].0, increaseKey: defaultTeleopKeys[i].1,
                step: 0.25, axis: i, scale: 1)
        }
    }

    /// `teleop`, or the defaults for a spec built in code without one.
    public var teleopBindings: [TeleopBinding] { teleop.isEmpty ? Self.defaultTeleop(actions) : teleop }

    /// The joint names of `teleopBindings`, in order (for the key summary).
    public func teleopJointNames(robot: RobotSpec) -> [String] { teleopBindings.map { robot.joints[$0.joint].name } }

    /// The keyboard layout of the `teleop` section.
    public var keyboardMapping: KeyboardTeleopMapping {
        KeyboardTeleopMapping(bindings: teleopBindings.map {
            TeleopKeyBinding(component: $0.component, decrease: $0.decreaseKey, increase: $0.increaseKey, step: Float($0.step))
        })
    }

    /// The gamepad layout of the `teleop` section (buttons as `GamepadTeleopMapping`'s defaults).
    public var gamepadMapping: GamepadTeleopMapping {
        GamepadTeleopMapping(bindings: teleopBindings.map { TeleopAxisBinding(component: $0.component, axis: $0.axis, scale: Float($0.scale)) })
    }
}
