import CPlant
import Control
import Foundation
import Tasks
import Testing

/// A robot file becomes the emulated robot: every plant parameter it produces is one the C
/// plant accepts, the plant initialises, and it carries the file's mechanism.
@Suite("Robot file → emulated robot")
struct RobotSpecEmulatorTests {
    static let robotFiles = ["pendulum", "cartpole", "acrobot"]

    private func spec(_ name: String) throws -> RobotSpec {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try RobotSpec.load(path: root.appendingPathComponent("robots/\(name).json").path)
    }

    @Test("Every shipped robot's plant parameters are accepted by the C plant, which initialises", arguments: robotFiles)
    func plantAccepts(name: String) throws {
        let robot = try spec(name)
        var params = plant_params()
        plant_default_params(PLANT_CHAIN, &params)
        for (n, v) in robot.plantParameters() {
            let status = plant_set_param(&params, n, v)
            #expect(status == PLANT_OK, "\(name): \(n)=\(v) rejected (\(status))")
        }
        var state = plant_state()
        #expect(plant_init(&state, &params, 1) == PLANT_OK)
        #expect(Int(plant_joint_count(&state)) == robot.joints.count)
        for (i, j) in robot.joints.enumerated() {
            var mass = 0.0
            #expect(plant_get_param(&params, "j\(i).mass", &mass) == PLANT_OK)
            #expect(mass == j.body.mass)
            #expect(plant_max_effort(&state, Int32(i)) == (j.actuator?.effortLimit ?? 0))
        }
    }

    @Test("Emulator arguments: --task chain, the firmware rate, overrides after the file's values")
    func arguments() throws {
        let robot = try spec("acrobot")
        let args = robot.emulatorArguments(overriding: [("j1.gain", 0.7)])
        #expect(Array(args.prefix(4)) == ["--task", "chain", "--rate", "\(robot.sensing.firmwareRateHz)"])
        #expect(args.last == "j1.gain=0.7")
        #expect(args.contains("joints=2.0"))
    }

    @Test("The emulated calibration matches the file: counts, limits; prismatic counts per 2π m")
    func calibration() throws {
        let robot = try spec("cartpole")
        let cal = robot.emulatedCalibration(controlRateHz: 200, task: "cartpole-balance")
        #expect(cal.joints.count == robot.joints.count)
        for (c, j) in zip(cal.joints, robot.joints) {
            let metresOrRadians = (j.body.kind == .revolute ? 2 * Double.pi : 1) / j.encoderCountsPerUnit
            #expect(abs(c.radiansPerCount - metresOrRadians) < 1e-3 * metresOrRadians)
            #expect(c.velocityLimit == j.velocityLimit)
        }
        // It passes the calibration file's own validation.
        let reparsed = try RobotCalibration.parse(Data(cal.canonicalJSON().utf8), file: "derived")
        #expect(reparsed == cal)
    }
}
