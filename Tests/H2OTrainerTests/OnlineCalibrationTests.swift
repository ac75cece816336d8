import Control
import Tasks
import Testing

@testable import H2OTrainer

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

    @Test("recovers the emulated robot's weaker motor and friction, and lowers the held-out error")
    func recoversWeakerMotor() throws {
        let truth: [String: Double] = ["actuator_gain": 0.7, "damping": 0.08, "coulomb": 0.12]
        let trajectories = try Self.episodes(plant: truth, count: 3)
        let nominal = PendulumParameters.rate200Hz
        let fit = try #require(OnlineCalibration.fitPendulum(trajectories, nominal: nominal))
        print("online calibration: \(fit.describe(nominal: nominal))")
        #expect(fit.episodes == 3)
        #expect(abs(fit.parameters.actuatorGain - 0.7) / 0.7 < 0.10, "gain \(fit.parameters.actuatorGain)")
        #expect(abs(fit.parameters.damping - 0.08) / 0.08 < 0.25, "damping \(fit.parameters.damping)")
        #expect(abs(fit.parameters.coulomb - 0.12) / 0.12 < 0.25, "coulomb \(fit.parameters.coulomb)")
        #expect(fit.oneStepError.after < fit.oneStepError.before)
    }

    @Test("short or motionless episodes give no fit rather than a wrong one")
    func refusesUselessEpisodes() {
        let still = RealTrajectory(
            observations: [Float](repeating: 0, count: 3 * 2000).enumerated().map { $0.offset % 3 == 0 ? -1 : 0 },
            actions: [Float](repeating: 0, count: 2000))
        let short = RealTrajectory(observations: [-1, 0, 0], actions: [0])
        #expect(OnlineCalibration.fitPendulum([still, short], nominal: .rate200Hz) == nil)
    }
}

@Suite("Online calibration of a file task's simulator (the N-joint fit)")
struct OnlineFileCalibrationTests {
    static func files() throws -> (RobotSpec, TaskSpec) {
        var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        components.removeLast(3)
        let root = components.joined(separator: "/")
        let robot = try RobotSpec.load(path: root + "/robots/pendulum.json")
        return (robot, try TaskSpec.load(path: root + "/tasks/pendulum-swingup.json", robot: robot))
    }

    @Test("the pendulum's run episodes through the file task's fit: gain, friction within the pendulum fit's bounds, error shrinks; measured beside fitPendulum")
    func pendulumEpisodes() throws {
        let truth: [String: Double] = ["actuator_gain": 0.7, "damping": 0.08, "coulomb": 0.12]
        let trajectories = try OnlineCalibrationTests.episodes(plant: truth, count: 3)
        let (robot, task) = try Self.files()
        let fit = try #require(OnlineCalibration.fit(trajectories, robot: robot, task: task))
        let special = try #require(OnlineCalibration.fitPendulum(trajectories, nominal: .rate200Hz))
        print("online calibration, N-joint fit: \(fit.describe())")
        print("online calibration, pendulum fit: \(special.describe(nominal: .rate200Hz))")
        let gain = fit.values["pendulum.gain"]!, damping = fit.values["pendulum.viscous"]!, coulomb = fit.values["pendulum.coulomb"]!
        print(String(format: "  gain: N-joint %.3f, pendulum %.3f (true 0.7); damping %.3f, %.3f (0.08); coulomb %.3f, %.3f (0.12)",
                     gain, special.parameters.actuatorGain, damping, special.parameters.damping, coulomb, special.parameters.coulomb))
        #expect(fit.episodes == 3)
        #expect(abs(gain - 0.7) / 0.7 < 0.10, "gain \(gain)")
        #expect(abs(damping - 0.08) / 0.08 < 0.25, "damping \(damping)")
        #expect(abs(coulomb - 0.12) / 0.12 < 0.25, "coulomb \(coulomb)")
        #expect(fit.oneStepError.after < fit.oneStepError.before)
        // The fitted parameters build the file task's simulator.
        let sim = try FileTask(robot: robot, task: task, parameters: fit.parameters)
        #expect(abs(sim.simulator.robot.joints[0].actuator!.gain - gain) < 1e-12)
    }

    @Test("episodes that do not observe every joint's position, or do not move, give no fit")
    func refuses() throws {
        let (robot, task) = try Self.files()
        let still = RealTrajectory(
            observations: [Float](repeating: 0, count: 3 * 2000).enumerated().map { $0.offset % 3 == 0 ? -1 : 0 },
            actions: [Float](repeating: 0, count: 2000))
        #expect(OnlineCalibration.fit([still], robot: robot, task: task) == nil)
        var velocityOnly = task
        velocityOnly.features = [.velocity(joint: 0, scale: 1)]
        let moving = try OnlineCalibrationTests.episodes(plant: [:], count: 1)[0]
        let v = RealTrajectory(observations: (0..<moving.ticks).map { moving.observations[3 * $0 + 2] }, actions: moving.actions)
        #expect(OnlineCalibration.jointPositions(v, task: velocityOnly, joints: 1) == nil)
    }
}
