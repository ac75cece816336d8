import Control
import Foundation
import Tasks
import Testing

/// The repository root (robots/ and tasks/ live there).
func repositoryFile(_ relative: String) -> String {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    components.removeLast(3)  // Tests/TasksTests/SpecTests.swift
    return components.joined(separator: "/") + "/" + relative
}

private func robotJSON(_ edit: (inout [String: Any]) -> Void) throws -> Data {
    let data = try Data(contentsOf: URL(fileURLWithPath: repositoryFile("robots/cartpole.json")))
    var o = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    edit(&o)
    return try JSONSerialization.data(withJSONObject: o)
}

private func taskJSON(_ name: String = "tasks/cartpole-balance.json", _ edit: (inout [String: Any]) -> Void) throws -> Data {
    let data = try Data(contentsOf: URL(fileURLWithPath: repositoryFile(name)))
    var o = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    edit(&o)
    return try JSONSerialization.data(withJSONObject: o)
}

/// The error text of a failing spec load, or nil when it loads.
private func failure(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch { return String(describing: error) }
}

@Suite("Robot and task files")
struct SpecTests {
    @Test("every shipped robot and task file loads and builds a task", arguments: [
        ("robots/pendulum.json", "tasks/pendulum-swingup.json", 3, 1),
        ("robots/cartpole.json", "tasks/cartpole-balance.json", 5, 1),
        ("robots/acrobot.json", "tasks/acrobot-swingup.json", 6, 1),
    ])
    func shipped(robotFile: String, taskFile: String, observations: Int, actions: Int) throws {
        let robot = try RobotSpec.load(path: repositoryFile(robotFile))
        let spec = try TaskSpec.load(path: repositoryFile(taskFile), robot: robot)
        let task = try GenericTask(robot: robot, task: spec)
        #expect(task.observationSize == observations)
        #expect(task.actionSize == actions)
        _ = try robot.chain()
    }

    @Test("the pendulum task file gives Gymnasium's reward shape and observation")
    func pendulumReward() throws {
        let robot = try RobotSpec.load(path: repositoryFile("robots/pendulum.json"))
        let task = try GenericTask(robot: robot, task: try TaskSpec.load(path: repositoryFile("tasks/pendulum-swingup.json"), robot: robot))
        var state = RobotState()
        state.jointCount = 1
        for (theta, speed, a) in [(0.3, -1.2, 0.5), (3.0, 4.0, -1.0), (-2.0, 0.0, 0.0)] as [(Double, Double, Float)] {
            state.position[0] = Float(theta)
            state.velocity[0] = Float(speed)
            var obs = [Float](repeating: 0, count: 3)
            task.observe(state, into: &obs)
            #expect(abs(obs[0] - Float(cos(theta))) < 1e-6 && abs(obs[1] - Float(sin(theta))) < 1e-6 && obs[2] == Float(speed))
            var act = [a]
            let r = task.reward(observation: obs, action: &act)
            let u = Double(a) * 2
            let th = atan2(Double(obs[1]), Double(obs[0]))
            let want = -(th * th + 0.1 * speed * speed + 0.001 * u * u) * 0.1
            #expect(abs(Double(r) - want) < 1e-5 * max(1, abs(want)))
            var cmd = RobotCommand()
            task.command(for: &act, into: &cmd)
            #expect(cmd.mode == .torque && cmd.jointCount == 1 && cmd.setpoint[0] == Float(u))
        }
    }

    @Test("cart-pole: termination from the file's conditions, the reset parks the cart and waits for stillness")
    func cartpole() throws {
        let robot = try RobotSpec.load(path: repositoryFile("robots/cartpole.json"))
        let task = try GenericTask(robot: robot, task: try TaskSpec.load(path: repositoryFile("tasks/cartpole-balance.json"), robot: robot))
        var state = RobotState()
        state.jointCount = 2
        var obs = [Float](repeating: 0, count: 5)
        state.position[1] = 0.1
        task.observe(state, into: &obs)
        #expect(!task.isTerminal(observation: obs))
        state.position[0] = 2.5
        task.observe(state, into: &obs)
        #expect(task.isTerminal(observation: obs))
        // Reset: the cart at 0.5 m is pushed back toward 0; done only after 0.5 s of stillness at 0.
        var cmd = RobotCommand()
        state.position[0] = 0.5
        #expect(!task.resetStep(state, ticksInReset: 0, into: &cmd))
        #expect(cmd.setpoint[0] < 0 && cmd.setpoint[1] == 0)
        state.position[0] = 0.01
        var ticks = 0
        while !task.resetStep(state, ticksInReset: ticks + 1, into: &cmd) { ticks += 1 }
        #expect(ticks == 99)  // 100 settled ticks at 200 Hz
    }

    @Test("bad robot and task files are one clear line naming file and field", arguments: [
        ("unknown feature", "observation[0].feature", "'joint_angle' is not a known feature"),
        ("reward on a missing feature", "reward[0].of", "unknown name 'pole.velocity'"),
        ("divide by zero", "reward[0].value", "divides by zero"),
        ("inverted limits", "joints[0].limits.position", "is inverted"),
        ("unknown field", "observation[1].scael", "is not a known field"),
        ("joint not in robot", "action[0].joint", "'wheel' is not a joint"),
        ("termination reads an action", "termination[0]", "reads an action"),
        ("rates", "decision_rate_hz", "must divide control_rate_hz"),
        ("passive joint acted on", "action[0].joint", "has no actuator"),
    ])
    func badFiles(name: String, field: String, message: String) throws {
        let good = try robotJSON { _ in }
        let robot = try RobotSpec.parse(good, file: "robots/x.json")
        var error: String?
        switch name {
        case "unknown feature":
            let t = try taskJSON { o in var f = o["observation"] as! [[String: Any]]; f[0]["feature"] = "joint_angle"; o["observation"] = f }
            error = failure { _ = try TaskSpec.parse(t, file: "tasks/x.json", robot: robot) }
        case "reward on a missing feature":
            let t = try taskJSON { o in
                var f = o["observation"] as! [[String: Any]]; f.remove(at: 3); o["observation"] = f
                o["reward"] = [["name": "spin", "type": "quadratic", "of": "pole.velocity", "weight": -1]]
            }
            error = failure { _ = try TaskSpec.parse(t, file: "tasks/x.json", robot: robot) }
        case "divide by zero":
            let t = try taskJSON { o in o["reward"] = [["name": "bad", "type": "expression", "value": "cart.position / (2 - 2)", "weight": 1]] }
            error = failure { _ = try TaskSpec.parse(t, file: "tasks/x.json", robot: robot) }
        case "inverted limits":
            let r = try robotJSON { o in
                var j = o["joints"] as! [[String: Any]]; var l = j[0]["limits"] as! [String: Any]
                l["position"] = [2.4, -2.4]; j[0]["limits"] = l; o["joints"] = j
            }
            error = failure { _ = try RobotSpec.parse(r, file: "tasks/x.json") }
        case "unknown field":
            let t = try taskJSON { o in var f = o["observation"] as! [[String: Any]]; f[1]["scael"] = 2; o["observation"] = f }
            error = failure { _ = try TaskSpec.parse(t, file: "tasks/x.json", robot: robot) }
        case "joint not in robot":
            let t = try taskJSON { o in o["action"] = [["joint": "wheel"]] }
            error = failure { _ = try TaskSpec.parse(t, file: "tasks/x.json", robot: robot) }
        case "termination reads an action":
            let t = try taskJSON { o in o["termination"] = ["cart.action > 0.5"] }
            error = failure { _ = try GenericTask(robot: robot, task: try TaskSpec.parse(t, file: "tasks/x.json", robot: robot)) }
        case "rates":
            let t = try taskJSON { o in o["decision_rate_hz"] = 30 }
            error = failure { _ = try TaskSpec.parse(t, file: "tasks/x.json", robot: robot) }
        default:
            let t = try taskJSON { o in o["action"] = [["joint": "pole"]] }
            error = failure { _ = try TaskSpec.parse(t, file: "tasks/x.json", robot: robot) }
        }
        let line = try #require(error, "\(name) should fail")
        print("\(name): \(line)")
        #expect(!line.contains("\n"))
        #expect(line.contains("x.json: \(field):"), "\(line)")
        #expect(line.contains(message), "\(line)")
    }

    @Test("joint count mismatch between robot, calibration and policy is one line each")
    func mismatches() throws {
        let robot = try RobotSpec.load(path: repositoryFile("robots/cartpole.json"))
        let calibration = RobotCalibration(
            robotID: "emulated-cartpole", task: "cartpole", controlRateHz: 200,
            joints: [JointCalibration(name: "cart", encoderCountsPerRevolution: 4096, velocityLimit: 10, torqueLimit: 10, torqueRateLimit: 100)])
        let line = try #require(failure { try robot.check(calibration: calibration, file: "calibration/c.json") })
        #expect(line.contains("calibration/c.json: joints: has 1 joint(s) but") && line.contains("has 2"))
        let spec = try TaskSpec.load(path: repositoryFile("tasks/cartpole-balance.json"), robot: robot)
        let p = try #require(failure { try spec.check(policyObservationSize: 3, actionSize: 1, policyFile: "p.safetensors") })
        #expect(p.hasPrefix("p.safetensors: maps 3 observations to 1 actions"))
        let other = try RobotSpec.load(path: repositoryFile("robots/pendulum.json"))
        let wrongRobot = try #require(failure { _ = try TaskSpec.load(path: repositoryFile("tasks/cartpole-balance.json"), robot: other) })
        #expect(wrongRobot.contains("the task is for robot 'emulated-cartpole'"))
    }
}

@Suite("Reward expressions")
struct ExpressionTests {
    @Test("precedence, functions, comparisons and constants evaluate as written")
    func evaluates() throws {
        let vars = ["x", "y", "j.position"]
        let values: [Double] = [2, -3, 7]
        let cases: [(String, Double)] = [
            ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("-x^2", -4), ("2^3^2", 512), ("x * y - j.position", -13),
            ("abs(y) + sqrt(4) + square(x)", 9), ("min(x, y) + max(x, y)", -1), ("clip(j.position, -1, 1)", 1),
            ("x > 1 && y < 0", 1), ("x > 1 || y > 0", 1), ("!(x == 2)", 0), ("x != 2", 0), ("x >= 2", 1), ("y <= -4", 0),
            ("wrap(3 * pi)", -Double.pi), ("atan2(0, -1)", Double.pi), ("1e-3 * 1000", 1), ("cos(0) + sin(0) + exp(0) + log(e)", 3),
        ]
        for (text, want) in cases {
            let e = try Expression(text, variables: vars)
            let got = values.withUnsafeBufferPointer { e.evaluate($0.baseAddress!) }
            #expect(abs(got - want) < 1e-12, "\(text) = \(got), want \(want)")
        }
    }

    @Test("syntax and meaning errors name the position", arguments: [
        ("x +", "ends where"), ("(x", "is not closed"), ("foo(x)", "unknown function 'foo'"), ("z", "unknown name 'z'"),
        ("x / 0", "divides by zero"), ("x / (1 - 1)", "divides by zero"), ("min(x)", "takes 2 arguments"), ("sqrt(-1)", "not a real number"),
        ("clip(x, 1, -1)", "inverted"), ("x $ y", "unexpected '$'"), ("", "is empty"),
    ])
    func errors(text: String, message: String) {
        do {
            _ = try Expression(text, variables: ["x", "y"])
            Issue.record("'\(text)' should not parse")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
}
