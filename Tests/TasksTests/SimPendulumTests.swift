import Control
import Testing
import TestSupport

@testable import Tasks

@Suite("Pendulum task and its onboard simulator")
struct SimPendulumTests {
    @Test(
        "reproduces Gymnasium Pendulum-v1 trajectories to 1e-5 (states, observations, rewards, clipping, time-out)"
    )
    func gymnasiumParity() throws {
        let file = try SimFixtures.gymnasiumPendulum()
        #expect(file.episodes.count >= 5)
        let task = PendulumTask(parameters: .gymnasium)
        var worst = 0.0
        var worstForced = 0.0
        var clipped = 0
        var speedClipped = 0
        for episode in file.episodes {
            var env = SimEnvironment(task: task, seed: 0)
            var obs = [Float](repeating: 0, count: 3)
            env.reset(
                to: .init(theta: episode.initial_state[0], thetaDot: episode.initial_state[1]),
                observation: &obs)
            for k in 0..<3 { worst = max(worst, Double(abs(obs[k] - episode.observations[0][k]))) }
            var state = env.state
            var random = SimRandom(seed: 0)
            for (t, action) in episode.actions.enumerated() {
                if abs(action) > 2 { clipped += 1 }
                // The float64 path: Gymnasium's step exactly.
                let reward = task.stepSim(&state, torque: action, random: &random)
                worst = max(worst, abs(reward - episode.rewards[t]))
                worst = max(worst, abs(state.theta - episode.states[t][0]))
                worst = max(worst, abs(state.thetaDot - episode.states[t][1]))
                if abs(state.thetaDot) == 8 { speedClipped += 1 }
                // The policy path, teacher-forced from Gymnasium's state (a float32 action
                // differs from the float64 one by an ulp, which a free run would amplify).
                var forced = PendulumTask.SimState(
                    theta: t == 0 ? episode.initial_state[0] : episode.states[t - 1][0],
                    thetaDot: t == 0 ? episode.initial_state[1] : episode.states[t - 1][1])
                var a = Float(action / 2)
                let r = task.stepSim(&forced, action: &a, random: &random).reward
                task.observeSim(forced, into: &obs)
                for k in 0..<3 {
                    worstForced = max(worstForced, Double(abs(obs[k] - episode.observations[t + 1][k])))
                }
                worstForced = max(worstForced, abs(r - episode.rewards[t]))
                // The environment's episode bookkeeping: Gymnasium's TimeLimit of 200 steps.
                let outcome = env.step(action: &a, observation: &obs)
                #expect(outcome.terminated == episode.terminated[t])
                #expect(outcome.truncated == episode.truncated[t])
            }
        }
        print("gymnasium parity: worst float64 deviation \(worst), float32-action one-step \(worstForced)")
        #expect(worst < 1e-5, "largest deviation from Gymnasium (float64 path): \(worst)")
        #expect(worstForced < 1e-5, "largest one-step deviation (float32 action path): \(worstForced)")
        #expect(clipped > 50, "the fixture must exercise the torque clip")
        #expect(speedClipped > 0, "the fixture must exercise the speed clip")
    }

    @Test("normalises angles like numpy's floored modulo")
    func angleNormalisation() {
        #expect(PendulumDynamics.normalizeAngle(0) == 0)
        #expect(PendulumDynamics.normalizeAngle(Double.pi) == -Double.pi)
        #expect(abs(PendulumDynamics.normalizeAngle(3 * Double.pi / 2) + Double.pi / 2) < 1e-15)
        #expect(abs(PendulumDynamics.normalizeAngle(-3 * Double.pi / 2) - Double.pi / 2) < 1e-15)
        #expect(abs(PendulumDynamics.normalizeAngle(20) - (20 - 6 * Double.pi)) < 1e-14)
    }

    @Test("the 200 Hz task keeps Gymnasium's 10 s episodes, 5 s horizon and return scale")
    func timeScale() {
        let fast = PendulumTask(parameters: .rate200Hz)
        let slow = PendulumTask(parameters: .gymnasium)
        #expect(fast.controlPeriod == 0.005)
        #expect(
            Double(fast.episodeTicks) * fast.controlPeriod == Double(slow.episodeTicks) * slow.controlPeriod)
        let horizon = { (t: PendulumTask) in t.controlPeriod / (1 - t.discount) }
        #expect(abs(horizon(fast) - horizon(slow)) < 1e-9)
        // Hanging still without torque for 10 s costs pi^2 per 0.05 s in both.
        var a: Float = 0
        var rf = SimRandom(seed: 1)
        var sf = PendulumTask.SimState(theta: Double.pi, thetaDot: 0)
        var ss = sf
        var returnFast = 0.0
        var returnSlow = 0.0
        for _ in 0..<fast.episodeTicks { returnFast += fast.stepSim(&sf, action: &a, random: &rf).reward }
        for _ in 0..<slow.episodeTicks { returnSlow += slow.stepSim(&ss, action: &a, random: &rf).reward }
        #expect(abs(returnFast - returnSlow) / abs(returnSlow) < 1e-6)
    }

    @Test("latency delays the torque by whole ticks and noise perturbs it")
    func latencyAndNoise() throws {
        var p = PendulumParameters.rate200Hz
        try p.set("latency_ticks", to: 3)
        let delayed = PendulumTask(parameters: p)
        let prompt = PendulumTask(parameters: .rate200Hz)
        var random = SimRandom(seed: 2)
        var d = PendulumTask.SimState(theta: 0, thetaDot: 0)
        var q = d
        // A pulse at tick 0 moves the delayed pendulum at tick 3, as a prompt one pulsed at tick 3.
        for tick in 0..<5 {
            let u = tick == 0 ? 1.0 : 0.0
            _ = delayed.stepSim(&d, torque: u, random: &random)
            if tick >= 3 { _ = prompt.stepSim(&q, torque: tick == 3 ? 1.0 : 0.0, random: &random) }
            if tick < 3 { #expect(d.thetaDot == 0) } else { #expect(d.thetaDot != 0) }
        }
        #expect(abs(q.thetaDot - d.thetaDot) < 1e-12)
        try p.set("latency_ticks", to: 0)
        try p.set("action_noise", to: 1)
        let noisy = PendulumTask(parameters: p)
        var n = PendulumTask.SimState(theta: 0.5, thetaDot: 0)
        var c = n
        _ = noisy.stepSim(&n, torque: 0, random: &random)
        _ = prompt.stepSim(&c, torque: 0, random: &random)
        #expect(n.thetaDot != c.thetaDot)
    }

    @Test("rejects unknown and out-of-range parameters with a message naming them")
    func parameterErrors() {
        var p = PendulumParameters()
        #expect(throws: SimError.self) { try p.apply(assignments: ["gravity=-1"]) }
        #expect(throws: SimError.self) { try p.apply(assignments: ["latency_ticks=1.5"]) }
        #expect(throws: SimError.self) { try p.apply(assignments: ["nope=1"]) }
        #expect(throws: SimError.self) { try p.apply(assignments: ["gravity"]) }
        #expect(throws: Never.self) { try p.apply(assignments: ["gravity=20", "coulomb=0.1"]) }
        #expect(p.gravity == 20 && p.coulomb == 0.1)
        do {
            try p.set("mass", to: 0)
        } catch {
            #expect(error.description.contains("mass"))
        }
    }

    @Test("the loop-facing reward equals the simulator's reward and the reset damps the swing")
    func controlTaskConformance() {
        let task = PendulumTask(parameters: .rate200Hz)
        var random = SimRandom(seed: 3)
        var obs = [Float](repeating: 0, count: 3)
        for _ in 0..<100 {
            var state = task.resetSim(random: &random)
            task.observeSim(state, into: &obs)
            var action = Float(random.uniform(-1.5, 1.5))
            let loopReward = task.reward(observation: obs, action: &action)
            let simReward = task.stepSim(&state, action: &action, random: &random).reward
            #expect(abs(Double(loopReward) - simReward) < 1e-5)
        }
        var robot = RobotState()
        robot.jointCount = 1
        robot.position[0] = 3.0
        robot.velocity[0] = 2.0
        var command = RobotCommand()
        #expect(!task.resetStep(robot, ticksInReset: 0, into: &command))
        #expect(command.setpoint[0] < 0 && command.mode == .torque)
        robot.position[0] = Float.pi + 0.01
        robot.velocity[0] = 0.01
        #expect(task.resetStep(robot, ticksInReset: 0, into: &command))
        var action: Float = 0.5
        task.command(for: &action, into: &command)
        #expect(command.setpoint[0] == 1.0 && command.jointCount == 1)
        action = 7
        task.command(for: &action, into: &command)
        #expect(command.setpoint[0] == 2.0)
    }

    @Test("stepping the simulator allocates nothing")
    func noAllocation() {
        let task = PendulumTask(parameters: .rate200Hz)
        var env = SimEnvironment(task: task, seed: 4)
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: 3)
        defer { obs.deallocate() }
        let action = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { action.deallocate() }
        action.pointee = 0.3
        env.reset(observation: obs)
        let count = allocationsOnThisThread {
            for _ in 0..<10_000 {
                if env.step(action: action, observation: obs).truncated { env.reset(observation: obs) }
            }
        }
        #expect(count == 0)
    }
}
