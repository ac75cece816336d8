import Foundation
import Testing

@testable import Tasks

@Suite("Online calibration of the onboard simulator from the robot's own episodes")
struct OnlineCalibrationTests {
    /// Episodes of the real plant at 200 Hz (quantised encoder, firmware velocity filter),
    /// driven by the scripted swing-up controller plus a PRBS component, logged as the run's
    /// recorder logs them: observations [cos θ, sin θ, θ̇] and actions in [−1, 1].
    static func episodes(plant: [String: Double], count: Int) throws -> [RealTrajectory] {
        let task = PendulumTask(parameters: .rate200Hz)
        let controller = PendulumSwingUpController(task: task)
        var result: [RealTrajectory] = []
        for e in 0..<count {
            var env = try RealPlantEnvironment(task: task, parameters: plant, seed: UInt64(7 + e))
            var signal = PRBSExcitation(amplitude: 0.4, seed: UInt64(11 + e))
            var obs = [Float](repeating: 0, count: 3)
            env.reset(observation: &obs)
            var observations: [Float] = [], actions: [Float] = []
            for _ in 0..<2000 {
                let base = obs.withUnsafeBufferPointer { controller.action(observation: $0.baseAddress!) }
                var a = min(max(base + Float(signal.torque(velocity: Double(obs[2]))), -1), 1)
                observations += obs
                actions.append(a)
                _ = env.step(action: &a, observation: &obs)
            }
            result.append(RealTrajectory(observations: observations, actions: actions))
        }
        return result
    }

    /// The shipped pendulum's robot and task files (the observation [cos, sin, velocity] and
    /// the action scale 2 N·m are the ones these episodes are logged with).
    static func files() throws -> (RobotSpec, TaskSpec) {
        var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        components.removeLast(3)
        let root = components.joined(separator: "/")
        let robot = try RobotSpec.load(path: root + "/robots/pendulum.json")
        return (robot, try TaskSpec.load(path: root + "/tasks/pendulum-swingup.json", robot: robot))
    }

    @Test("recovers the emulated robot's weaker motor and friction through the file task's N-joint fit, and lowers the held-out error")
    func recoversWeakerMotor() throws {
        let truth: [String: Double] = ["actuator_gain": 0.7, "damping": 0.08, "coulomb": 0.12]
        let trajectories = try Self.episodes(plant: truth, count: 3)
        let (robot, task) = try Self.files()
        let nominal = FileTaskParameters(robot: robot)
        let fit = try #require(OnlineCalibration.fit(trajectories, task: task, nominal: nominal))
        print("online calibration: \(fit.describe(nominal: nominal))")
        #expect(fit.episodes == 3)
        let gain = try #require(fit.parameters.value(of: "pendulum.gain"))
        let viscous = try #require(fit.parameters.value(of: "pendulum.viscous"))
        let coulomb = try #require(fit.parameters.value(of: "pendulum.coulomb"))
        #expect(abs(gain - 0.7) / 0.7 < 0.10, "gain \(gain)")
        #expect(abs(viscous - 0.08) / 0.08 < 0.25, "viscous \(viscous)")
        #expect(abs(coulomb - 0.12) / 0.12 < 0.25, "coulomb \(coulomb)")
        #expect(fit.oneStepError.after < fit.oneStepError.before)
        // The fitted parameters build the learner's simulator.
        _ = try FileTask(robot: robot, task: task, parameters: fit.parameters)
    }

    @Test("short or motionless episodes give no fit rather than a wrong one")
    func refusesUselessEpisodes() {
        let still = RealTrajectory(
            observations: [Float](repeating: 0, count: 3 * 2000).enumerated().map { $0.offset % 3 == 0 ? -1 : 0 },
            actions: [Float](repeating: 0, count: 2000))
        let short = RealTrajectory(observations: [-1, 0, 0], actions: [0])
        let (robot, task) = try! Self.files()
        #expect(OnlineCalibration.fit([still, short], task: task, nominal: FileTaskParameters(robot: robot)) == nil)
    }
}
