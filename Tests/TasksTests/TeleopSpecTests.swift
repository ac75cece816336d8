import Control
import Foundation
import Tasks
import Testing

/// The acrobot with a motor on the shoulder too (two acted-on joints).
private func twoMotorAcrobot() throws -> RobotSpec {
    let data = try Data(contentsOf: URL(fileURLWithPath: repositoryFile("robots/acrobot.json")))
    var o = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    var joints = o["joints"] as! [[String: Any]]
    joints[0]["actuator"] = ["mode": "torque", "effort_limit": 2.0]
    o["joints"] = joints
    return try RobotSpec.parse(try JSONSerialization.data(withJSONObject: o), file: "robots/two-motor-acrobot.json")
}

/// A task on the two-motor acrobot with `teleop` as its teleop section (nil: none).
private func task(_ teleop: Any?, robot: RobotSpec) throws -> TaskSpec {
    let data = try Data(contentsOf: URL(fileURLWithPath: repositoryFile("tasks/acrobot-swingup.json")))
    var o = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    o["robot"] = robot.id
    o["action"] = [["joint": "shoulder", "scale": 2.0], ["joint": "elbow", "scale": 1.0]]
    if let teleop { o["teleop"] = teleop }
    return try TaskSpec.parse(try JSONSerialization.data(withJSONObject: o), file: "tasks/arm.json", robot: robot)
}

private func message(_ teleop: Any, robot: RobotSpec) -> String {
    do {
        _ = try task(teleop, robot: robot)
        return ""
    } catch { return "\(error)" }
}

private func ascii(_ c: Character) -> Key { .character(c.asciiValue!) }

@Suite("Teleop section of the task file")
struct TeleopSpecTests {
    @Test("the pendulum's default layout is today's: a/d (and ←/→) by 0.25 on the torque, gamepad axis 0")
    func pendulumDefaults() throws {
        let robot = try RobotSpec.load(path: repositoryFile("robots/pendulum.json"))
        let spec = try TaskSpec.load(path: repositoryFile("tasks/pendulum-swingup.json"), robot: robot)
        #expect(spec.keyboardMapping == KeyboardTeleopMapping(step: 0.25))
        #expect(spec.gamepadMapping == GamepadTeleopMapping())
        var input = OperatorInput()
        for k in [ascii("d"), ascii("d"), .left, ascii("D")] { spec.keyboardMapping.apply(k, to: &input) }
        #expect(input.action == 0.5)
        #expect(spec.keyboardMapping.summary(names: spec.teleopJointNames(robot: robot)).hasPrefix("a/←−d/→+ pendulum"))
    }

    @Test("defaults for two acted-on joints: a/d and j/l, axes 0 and 1; a section maps each joint to its own keys, axis, step and scale")
    func twoJoints() throws {
        let robot = try twoMotorAcrobot()
        let defaults = try task(nil, robot: robot)
        #expect(defaults.teleop.map(\.axis) == [0, 1])
        #expect(defaults.teleop.map { [$0.decreaseKey, $0.increaseKey] } == [Array("ad".utf8), Array("jl".utf8)])

        let spec = try task(
            ["joints": [
                ["joint": "elbow", "keys": ["k", "i"], "axis": 3, "step": 0.5, "scale": -0.8],
                ["joint": "shoulder", "keys": ["A", "D"], "axis": 0],
            ]], robot: robot)
        #expect(spec.teleop.map(\.component) == [1, 0])
        var input = OperatorInput()
        let keys = spec.keyboardMapping
        for k in [ascii("i"), ascii("i"), ascii("i"), ascii("d"), ascii("a"), ascii("a")] { keys.apply(k, to: &input) }
        #expect(input.actions[1] == 1 && input.actions[0] == -0.25, "elbow clamped at 1; shoulder +0.25 −0.5")
        keys.apply(ascii("k"), to: &input)
        #expect(input.actions[1] == 0.5)
        keys.apply(ascii("s"), to: &input)
        #expect(input.actions[0] == 0 && input.actions[1] == 0, "s zeroes every joint")
        keys.apply(ascii("n"), to: &input)
        #expect(input.events == .next)

        let pad = spec.gamepadMapping
        var axes = [Float](repeating: 0, count: 16)
        axes[3] = 1
        axes[0] = -0.5
        pad.apply(axis: { axes[$0] }, pressed: { $0 == 2 }, to: &input)
        #expect(abs(input.actions[1] - -0.8) < 1e-6, "elbow: scale −0.8 × full axis")
        #expect(abs(input.actions[0] - pad.action(axisValue: -0.5, scale: 1)) < 1e-6 && input.actions[0] < -0.4)
        #expect(input.events.contains(.stop))
    }

    @Test("a section that drives one joint leaves the other at 0")
    func partial() throws {
        let robot = try twoMotorAcrobot()
        let spec = try task(["joints": [["joint": "elbow"]]], robot: robot)
        #expect(spec.teleop.count == 1 && spec.teleop[0].component == 1 && spec.teleop[0].axis == 1)
        #expect(spec.teleop[0].decreaseKey == UInt8(ascii: "j"), "the component's default keys")
        var input = OperatorInput()
        for k in [ascii("l"), ascii("d")] { spec.keyboardMapping.apply(k, to: &input) }
        #expect(input.actions[1] == 0.25 && input.actions[0] == 0)
    }

    @Test("bad teleop sections are one line naming the file, the field and the fix")
    func badSections() throws {
        let robot = try twoMotorAcrobot()
        let cases: [(Any, [String])] = [
            (["joints": [["joint": "wrist"]]], ["tasks/arm.json", "teleop.joints[0].joint", "'wrist' is not a joint"]),
            (["joints": [["joint": "elbow", "keys": ["a", "d"]], ["joint": "shoulder", "keys": ["d", "e"]]]],
             ["teleop.joints[1].keys", "duplicate key", "'d'", "elbow"]),
            (["joints": [["joint": "elbow", "keys": ["a", "a"]]]], ["teleop.joints[0].keys", "twice"]),
            (["joints": [["joint": "elbow", "keys": ["q", "e"]]]], ["teleop.joints[0].keys", "'q' is taken"]),
            (["joints": [["joint": "elbow", "keys": ["left", "e"]]]], ["teleop.joints[0].keys", "one-character"]),
            (["joints": [["joint": "elbow", "axis": 16]]], ["teleop.joints[0].axis", "16 is out of range", "0...15"]),
            (["joints": [["joint": "elbow", "axis": -1]]], ["teleop.joints[0].axis", "out of range"]),
            (["joints": [["joint": "elbow", "axis": 2], ["joint": "shoulder", "axis": 2]]], ["teleop.joints[1].axis", "already drives 'elbow'"]),
            (["joints": [["joint": "elbow"], ["joint": "elbow", "keys": ["u", "o"], "axis": 4]]], ["teleop.joints[1].joint", "mapped twice"]),
            (["joints": [["joint": "elbow", "scale": 0]]], ["teleop.joints[0].scale"]),
            (["joints": [["joint": "elbow", "button": 3]]], ["teleop.joints[0]", "button"]),
        ]
        for (section, needles) in cases {
            let m = message(section, robot: robot)
            #expect(!m.isEmpty && !m.contains("\n"), "\(section): \(m)")
            for n in needles { #expect(m.contains(n), "\(section): '\(m)' lacks '\(n)'") }
        }
        // A joint without an action in this task (the passive shoulder of the shipped acrobot).
        let acrobot = try RobotSpec.load(path: repositoryFile("robots/acrobot.json"))
        let data = try Data(contentsOf: URL(fileURLWithPath: repositoryFile("tasks/acrobot-swingup.json")))
        var o = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        o["teleop"] = ["joints": [["joint": "shoulder"]]]
        do {
            _ = try TaskSpec.parse(try JSONSerialization.data(withJSONObject: o), file: "tasks/a.json", robot: acrobot)
            Issue.record("a passive joint was accepted")
        } catch {
            #expect("\(error)".contains("'shoulder' has no action in this task"), "\(error)")
        }
    }
}
