import Testing

@testable import H2OTrainer

@Suite("System identification of the pendulum simulator")
struct SystemIDTests {
    /// Drives the C real plant (through the emulated robot's sensor path) with `torques` and
    /// logs measured positions and commands.
    static func excite(
        plant parameters: [String: Double], torques: [Double], seed: UInt64
    ) throws
        -> PendulumExcitationLog
    {
        let task = PendulumTask(parameters: .rate200Hz)
        var env = try RealPlantEnvironment(task: task, parameters: parameters, seed: seed)
        var obs = [Float](repeating: 0, count: 3)
        env.reset(positions: (Double.pi, 0), velocities: (0, 0), observation: &obs)
        var positions = [Double(env.robotState.position[0])]
        for u in torques {
            var action = Float(u / task.parameters.maxTorque)
            _ = env.step(action: &action, observation: &obs)
            positions.append(Double(env.robotState.position[0]))
        }
        return PendulumExcitationLog(dt: task.controlPeriod, positions: positions, commands: torques)
    }

    static func excitation(seconds: Double, seed: UInt64) -> [Double] {
        let ticks = Int(seconds * 200)
        let prbs = Excitation.prbs(amplitude: 1.4, ticks: ticks, minHold: 10, maxHold: 80, seed: seed)
        let chirp = Excitation.chirp(amplitude: 0.6, from: 0.2, to: 3, duration: seconds, dt: 0.005)
        return zip(prbs, chirp).map { $0 + $1 }
    }

    @Test(
        "recovers inertia, damping, Coulomb friction and gain within 10 %, the latency exactly, and shrinks held-out error"
    )
    func recoversTrueParameters() throws {
        let truth: [String: Double] = [
            "rotor_inertia": 0.04, "damping": 0.08, "coulomb": 0.12, "actuator_gain": 0.85,
            "latency_ticks": 5,
        ]
        let log = try Self.excite(plant: truth, torques: Self.excitation(seconds: 60, seed: 11), seed: 3)
        let result = try PendulumSystemID.fit(log, nominal: .rate200Hz)
        let trueInertia = 1.0 / 3.0 + 0.04
        let expected: [String: Double] = [
            "inertia": trueInertia, "damping": 0.08, "coulomb": 0.12, "actuator_gain": 0.85,
        ]
        for p in result.parameters {
            let want = expected[p.name]!
            print(
                "sysid \(p.name): \(p.value) ± \(p.standardError) \(p.unit) (true \(want), error \(100 * abs(p.value - want) / want) %)"
            )
            #expect(abs(p.value - want) <= 0.1 * want, "\(p.name) = \(p.value), true \(want)")
            #expect(p.standardError > 0 && p.standardError < 0.1 * want)
        }
        // 5 plant ticks at 1 kHz = one 200 Hz control tick.
        #expect(result.latencyTicks == 1, "latency residuals \(result.latencyResiduals)")
        print(
            "sysid held-out: acceleration RMS \(result.heldOutAccelerationError.before) -> \(result.heldOutAccelerationError.after) rad/s^2, one-step velocity RMS \(result.heldOutOneStepError.before) -> \(result.heldOutOneStepError.after) rad/s"
        )
        #expect(result.heldOutAccelerationError.after < 0.7 * result.heldOutAccelerationError.before)
        #expect(result.heldOutOneStepError.after < result.heldOutOneStepError.before)
        #expect(
            result.fitted.latencyTicks == 1 && result.fitted.inertia == result.parameter("inertia")!.value)
    }

    @Test("identifies the nominal simulator's own parameters from its own data")
    func identifiesSimulator() throws {
        var truth = PendulumParameters.rate200Hz
        try truth.apply(assignments: [
            "inertia=0.4", "damping=0.1", "coulomb=0.05", "actuator_gain=1.2", "latency_ticks=2",
        ])
        let task = PendulumTask(parameters: truth)
        let torques = Self.excitation(seconds: 30, seed: 5)
        var state = PendulumTask.SimState(theta: Double.pi, thetaDot: 0)
        var random = SimRandom(seed: 1)
        var positions = [state.theta]
        for u in torques {
            _ = task.stepSim(&state, torque: u, random: &random)
            positions.append(state.theta)
        }
        let result = try PendulumSystemID.fit(
            PendulumExcitationLog(dt: 0.005, positions: positions, commands: torques), nominal: .rate200Hz)
        #expect(result.latencyTicks == 2)
        #expect(abs(result.parameter("inertia")!.value - 0.4) < 0.01)
        #expect(abs(result.parameter("damping")!.value - 0.1) < 0.01)
        #expect(abs(result.parameter("coulomb")!.value - 0.05) < 0.01)
        #expect(abs(result.parameter("actuator_gain")!.value - 1.2) < 0.02)
    }

    @Test("refuses logs too short or without excitation, saying what to do")
    func refusesBadLogs() {
        let short = PendulumExcitationLog(dt: 0.005, positions: [0, 0, 0], commands: [0, 0])
        #expect(throws: SimError.self) { _ = try PendulumSystemID.fit(short, nominal: .rate200Hz) }
        let still = PendulumExcitationLog(
            dt: 0.005, positions: [Double](repeating: Double.pi, count: 2000),
            commands: [Double](repeating: 0, count: 2000))
        #expect(throws: SimError.self) { _ = try PendulumSystemID.fit(still, nominal: .rate200Hz) }
    }

    @Test("least squares recovers a known linear model and its standard errors scale with noise")
    func leastSquares() throws {
        var random = SimRandom(seed: 9)
        var x: [Double] = []
        var y: [Double] = []
        for _ in 0..<4000 {
            let a = random.uniform(-1, 1)
            let b = random.uniform(-1, 1)
            x += [a, b, 1]
            y.append(2 * a - 3 * b + 0.5 + 0.01 * random.normal())
        }
        let fit = try LeastSquaresFit.fit(x: x, y: y, parameters: 3, lag: 0)
        #expect(abs(fit.coefficients[0] - 2) < 0.002 && abs(fit.coefficients[1] + 3) < 0.002)
        // σ/√(n·var(a)) = 0.01/√(4000/3) ≈ 2.7e-4.
        #expect(fit.standardError(0) > 1.5e-4 && fit.standardError(0) < 4e-4)
    }
}
