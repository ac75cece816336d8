import Control
import Foundation
import Testing

@testable import Tasks

@Suite("Cart-pole task and its onboard simulator")
struct SimCartPoleTests {
    @Test("conserves energy without friction and falls from upright")
    func physics() {
        var p = CartPoleParameters.swingUp200Hz
        p.trackLimit = 1000
        let task = CartPoleTask(parameters: p)
        var state = CartPoleTask.SimState(x: 0, xDot: 0, theta: 1.0, thetaDot: 0)
        func energy(_ s: CartPoleTask.SimState) -> Double {
            let h = 0.5 * p.length
            let total = p.cartMass + p.mass
            let cart: Double = 0.5 * total * s.xDot * s.xDot
            let coupling: Double = p.mass * h * s.xDot * s.thetaDot * cos(s.theta)
            let pole: Double = 0.5 * (4.0 / 3.0) * p.mass * h * h * s.thetaDot * s.thetaDot
            return cart + coupling + pole + p.mass * p.gravity * h * cos(s.theta)
        }
        let e0 = energy(state)
        var random = SimRandom(seed: 1)
        var action: Float = 0
        var worst = 0.0
        for _ in 0..<2000 {
            _ = task.stepSim(&state, action: &action, random: &random)
            worst = max(worst, abs(energy(state) - e0))
        }
        #expect(worst < 0.01 * p.mass * p.gravity * 0.5 * p.length * 2)
        // Momentum: with no external force the centre of mass stays put (Euler drifts O(h):
        // 0.011 m over 10 s with 4 substeps, 0.045 m with one).
        let com = state.x + p.mass * 0.5 * p.length * sin(state.theta) / (p.cartMass + p.mass)
        #expect(abs(com - 0.5 * p.mass * sin(1.0) / 1.1) < 0.02)
    }

    @Test("balance mode ends beyond 12 degrees or off the track; swing-up only off the track")
    func termination() {
        let balance = CartPoleTask(parameters: .balance200Hz)
        let swing = CartPoleTask(parameters: .swingUp200Hz)
        var obs: [Float] = [0, 0, Float(cos(0.25)), Float(sin(0.25)), 0]
        #expect(balance.isTerminal(observation: obs))
        #expect(!swing.isTerminal(observation: obs))
        obs = [1.01, 0, 1, 0, 0]
        #expect(balance.isTerminal(observation: obs) && swing.isTerminal(observation: obs))
        obs = [0.5, 0, 1, 0, 0]
        #expect(!balance.isTerminal(observation: obs))
        var random = SimRandom(seed: 2)
        var state = balance.resetSim(random: &random)
        var action: Float = 1
        var steps = 0
        while !balance.stepSim(&state, action: &action, random: &random).terminal { steps += 1 }
        #expect(steps > 10 && steps < 400)
    }

    @Test("the loop-facing reward and terminal agree with the simulator's")
    func loopAgreement() {
        let task = CartPoleTask(parameters: .swingUp200Hz)
        var random = SimRandom(seed: 3)
        var obs = [Float](repeating: 0, count: 5)
        var state = task.resetSim(random: &random)
        for _ in 0..<500 {
            task.observeSim(state, into: &obs)
            var action = Float(random.uniform(-1.2, 1.2))
            let loop = task.reward(observation: obs, action: &action)
            let sim = task.stepSim(&state, action: &action, random: &random)
            #expect(abs(Double(loop) - sim.reward) < 1e-5)
            task.observeSim(state, into: &obs)
            #expect(task.isTerminal(observation: obs) == sim.terminal)
            if sim.terminal { state = task.resetSim(random: &random) }
        }
        var command = RobotCommand()
        var action: Float = -0.5
        task.command(for: &action, into: &command)
        #expect(command.setpoint[0] == -5 && command.jointCount == 2 && command.setpoint[1] == 0)
    }

    @Test("the real-robot reset centres the cart and waits for stillness")
    func resetProcedure() throws {
        let task = CartPoleTask(parameters: .swingUp200Hz)
        var env = try RealPlantEnvironment(task: task, seed: 4)
        var obs = [Float](repeating: 0, count: 5)
        env.reset(positions: (0.5, Double.pi + 0.3), velocities: (0, 0), observation: &obs)
        var command = RobotCommand()
        var done = false
        var ticks = 0
        var plant = env.plant
        let dt = 0.001
        while !done && ticks < 20 * 200 {
            var robot = RobotState()
            robot.jointCount = 2
            robot.position[0] = Float(plant.truePosition(0))
            robot.position[1] = Float(plant.truePosition(1))
            robot.velocity[0] = Float(plant.trueVelocity(0))
            robot.velocity[1] = Float(plant.trueVelocity(1))
            done = task.resetStep(robot, ticksInReset: ticks, into: &command)
            plant.setCommand(Double(command.setpoint[0]))
            for _ in 0..<5 { plant.step(dt) }
            ticks += 1
        }
        #expect(done, "reset did not finish in 20 s")
        #expect(abs(plant.truePosition(0)) < 0.03)
    }
}
