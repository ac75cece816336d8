import CPlant
import Control
import Foundation
import Tasks
import Testing

/// The servo robot files (robots/koch-dynamixel.json, robots/so101-feetech.json) and their
/// tasks: `link.models` parsed and checked, the tasks build, the plant takes the mechanism.
@Suite("Servo robot files")
struct ServoRobotFileTests {
    private static func edited(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: repositoryFile(name)))
        var o = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&o)
        return try JSONSerialization.data(withJSONObject: o)
    }

    private static func linkEdited(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        try edited(name) { o in
            var l = o["link"] as! [String: Any]
            edit(&l)
            o["link"] = l
        }
    }

    private static func failure(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch { return String(describing: error) }
    }

    @Test(
        "both servo robots load with one model per joint; their tasks build in the robot's mode",
        arguments: [
            (
                "robots/koch-dynamixel.json", "tasks/koch-reach.json", RobotSpec.Bus.dynamixel,
                ["XM430-W350", "XL330-M288"], ControlMode.torque
            ),
            (
                "robots/so101-feetech.json", "tasks/so101-reach.json", RobotSpec.Bus.feetech,
                ["STS3215", "STS3215"], ControlMode.position
            ),
        ])
    func shipped(
        robotFile: String, taskFile: String, bus: RobotSpec.Bus, models: [String], mode: ControlMode
    ) throws {
        let robot = try RobotSpec.load(path: repositoryFile(robotFile))
        #expect(robot.link.bus == bus)
        #expect(robot.link.port == "emulator")
        #expect(robot.link.servoIDs == [1, 2])
        #expect(robot.link.servoModels == models)
        let task = try GenericTask(
            robot: robot, task: try TaskSpec.load(path: repositoryFile(taskFile), robot: robot))
        #expect(task.mode == mode)
        #expect(task.actionSize == 2 && task.observationSize == 4)
        // The plant takes every parameter the file produces, as servo-emulator applies them.
        var params = plant_params()
        plant_default_params(PLANT_CHAIN, &params)
        for (n, v) in robot.plantParameters() {
            #expect(plant_set_param(&params, n, v) == PLANT_OK, "\(n)=\(v)")
        }
        var state = plant_state()
        #expect(plant_init(&state, &params, 1) == PLANT_OK)
        #expect(plant_joint_count(&state) == 2)
    }

    @Test("model names are matched case-insensitively, '-' optional, and named canonically")
    func canonicalNames() throws {
        let data = try Self.linkEdited("robots/koch-dynamixel.json") {
            $0["models"] = ["xm430w350", "xl330-m288"]
        }
        let robot = try RobotSpec.parse(data, file: "robots/k.json")
        #expect(robot.link.servoModels == ["xm430w350", "xl330-m288"])
        #expect(robot.canonicalServoModels == ["XM430-W350", "XL330-M288"])
        #expect(RobotSpec.servoModel(named: "sts-3215", bus: .feetech) == "STS3215")
        #expect(RobotSpec.servoModel(named: "STS3215", bus: .dynamixel) == nil)
    }

    @Test("link.models errors are one line naming the file, the field and the fix")
    func badModels() throws {
        let koch = "robots/koch-dynamixel.json"
        var e = Self.failure {
            _ = try RobotSpec.parse(
                try Self.linkEdited(koch) { $0["models"] = ["XM430-W350", "MX-28"] }, file: "k.json")
        }
        #expect(
            e?.contains("k.json") == true && e?.contains("link.models[1]") == true
                && e?.contains("'MX-28' is not a dynamixel servo") == true, "\(e ?? "loaded")")
        #expect(e?.contains("XL330-M288") == true && e?.contains("\n") == false, "\(e ?? "")")
        e = Self.failure {
            _ = try RobotSpec.parse(
                try Self.linkEdited(koch) { $0["models"] = ["STS3215", "STS3215"] }, file: "k.json")
        }
        #expect(e?.contains("'STS3215' is not a dynamixel servo") == true, "\(e ?? "loaded")")
        e = Self.failure {
            _ = try RobotSpec.parse(
                try Self.linkEdited(koch) { $0["models"] = ["XM430-W350"] }, file: "k.json")
        }
        #expect(e?.contains("has 1 servo models for 2 joints") == true, "\(e ?? "loaded")")
        // Without models the bring-up uses the bus's default model.
        let bare = try RobotSpec.parse(try Self.linkEdited(koch) { $0.removeValue(forKey: "models") }, file: "k.json")
        #expect(bare.link.servoModels.isEmpty)
        e = Self.failure {
            _ = try RobotSpec.parse(
                try Self.linkEdited("robots/acrobot.json") { $0["models"] = ["XM430-W350", "XM430-W350"] },
                file: "a.json")
        }
        #expect(e?.contains("names servo models but bus is 'firmware'") == true, "\(e ?? "loaded")")
        // The firmware robots need no models.
        #expect(try RobotSpec.load(path: repositoryFile("robots/pendulum.json")).link.servoModels.isEmpty)
    }
}
