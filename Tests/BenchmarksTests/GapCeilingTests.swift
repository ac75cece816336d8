import Foundation
import Testing

@testable import Benchmarks
import H2OTrainer
import Tasks

/// Tiny benchmark options: two seeds, two epochs of 20 updates, a coarse DP grid.
private func tiny(_ task: GapTaskName = .pendulum, gap: String) -> GapBenchmark.Options {
    var o = GapBenchmark.Options()
    o.task = task
    o.gap = gap
    o.seeds = [1, 2]
    o.budgetUpdates = 40
    o.evaluateEveryUpdates = 20
    o.evaluationEpisodes = 1
    o.realEpisodes = 2
    o.behaviourUpdates = 40
    o.hyperparameters.updatesPerEpoch = 20
    o.hyperparameters.simStepsPerEpoch = 50
    var grid = PendulumCeiling.Options()
    grid.angleCells = 31
    grid.speedCells = 31
    grid.actions = 5
    o.ceiling = grid
    return o
}

@Suite("Gap benchmark ceilings and gap kinds")
struct GapCeilingTests {
    @Test("value iteration on the real plant converges, ranks upright above hanging, and its greedy policy swings up on the real plant")
    func dynamicProgramming() throws {
        let task = GapTaskName.pendulum.pendulumTask
        var grid = PendulumCeiling.Options()
        grid.angleCells = 61
        grid.speedCells = 61
        grid.actions = 9
        let dp = try PendulumCeiling(task: task, plantParameters: [:], options: grid)
        #expect(dp.residual <= grid.tolerance && dp.iterations > 10 && dp.iterations < grid.maxIterations)
        #expect(dp.value.count == 61 * 61)
        // Upright and still costs nothing from then on; hanging still costs the swing-up.
        #expect(dp.value(theta: 0, speed: 0) > -5)
        #expect(dp.value(theta: .pi, speed: 0) < dp.value(theta: 0, speed: 0) - 100)
        // Periodic in θ.
        #expect(abs(dp.value(theta: .pi - 1e-9, speed: 0) - dp.value(theta: -.pi, speed: 0)) < 1)
        var plant = try RealPlantEnvironment(task: task, parameters: [:], seed: 3)
        let achieved = dp.evaluate(on: &plant, episodes: 3)
        let controller = PendulumSwingUpController(task: task)
        var plant2 = try RealPlantEnvironment(task: task, parameters: [:], seed: 3)
        let scripted = GapBenchmark.referenceReturn(&plant2, episodes: 3) { o, a in a[0] = controller.action(observation: o) }
        // Zero action hangs at about −1960; the coarse DP policy swings up within 10 % of the scripted controller or better.
        #expect(achieved > -1000, "DP \(achieved)")
        #expect(achieved > scripted - 0.1 * abs(scripted), "DP \(achieved) scripted \(scripted)")
        #expect(throws: RealPlantError.self) { _ = try PendulumCeiling(task: task, plantParameters: ["wind": 1], options: grid) }
    }

    @Test("sac-real-oracle trains on the real plant; scores are normalised by the DP ceiling with intervals and tests")
    func oracleAndScores() throws {
        var o = tiny(gap: "friction")
        o.algorithms = [.h2oPlus, .sacSim]
        o.realOracle = true
        let r = try GapBenchmark.run(o)
        #expect(Set(r.curves.map(\.method)) == ["h2o+", "sac-sim", "sac-real-oracle"])
        #expect(r.referenceEpisodes == GapStatistics.scorePoints * o.evaluationEpisodes)
        let s = GapReport.scores(r)
        #expect(s.map(\.method) == ["h2o+", "sac-sim", "sac-real-oracle"])
        for score in s {
            #expect(score.seedScores.count == 2 && score.interval.lower <= score.mean && score.mean <= score.interval.upper)
            #expect(score.normalised != nil && score.normalisedInterval != nil)
        }
        #expect(s[0].gapClosed != nil && s[1].gapClosed == nil)
        #expect(s[0].simWeight > 0 && s[0].simWeight <= 1 && s[1].simWeight == 1)
        let tests = GapReport.comparisons(r)
        #expect(tests.map { "\($0.a)>\($0.b)" } == ["h2o+>sac-sim"])
        // Without the DP ceiling the oracle's scores are the ceiling.
        var noDP = r
        noDP.ceilings = []
        #expect(GapReport.ceiling(noDP)?.name == "sac-real-oracle (mean score)")
        #expect(GapReport.ceiling(noDP)?.values == GapStatistics.seedScores(r.curves, method: "sac-real-oracle").map(\.score))
    }

    @Test("the paper's kind of gap edits the sim, the identical gap trains on the real plant itself")
    func gapKinds() throws {
        var o = tiny(gap: "sim-gravity")
        o.algorithms = [.sacSim]
        o.seeds = [1]
        o.ceiling = nil
        let r = try GapBenchmark.run(o)
        #expect(r.simAssignments == ["gravity=14"] && r.plantAssignments.isEmpty && r.ceilings.isEmpty)
        for name in ["sim-gravity", "sim-noise", "sim-gain", "sim-friction"] {
            let g = try #require(GapTaskName.pendulum.gap(named: name))
            #expect(!g.sim.isEmpty && g.plant.isEmpty && !g.simIsPlant)
            var p = GapTaskName.pendulum.pendulumTask.parameters
            try p.apply(assignments: g.sim)
            #expect(p != GapTaskName.pendulum.pendulumTask.parameters)
            // The matched sim undoes the edit.
            try p.apply(assignments: g.simMatch)
            var reference = GapTaskName.pendulum.pendulumTask.parameters
            try reference.apply(assignments: GapTaskName.pendulum.gaps[0].simMatch)
            #expect(p == reference, "\(name)")
        }
        var i = tiny(.cartpole, gap: "identical")
        i.algorithms = [.h2oPlus]
        i.seeds = [1]
        let id = try GapBenchmark.run(i)
        #expect(id.curves.allSatisfy { $0.realReturn.isFinite })
        #expect(GapTaskName.cartpole.gap(named: "identical")?.simIsPlant == true)
        #expect(GapTaskName.pendulum.gap(named: "identical")?.simIsPlant == true)
    }

    @Test("sim starts: the task's reset, hanging as the real data, or alternating; the plant starts hanging")
    func resets() throws {
        let task = GapTaskName.pendulum.pendulumTask
        var o = [Float](repeating: 0, count: 3)
        var hanging = GapTrainingEnvironment(task: task, reset: .hanging, seed: 1)
        for _ in 0..<20 {
            hanging.reset(observation: &o)
            #expect(o[0] < -0.99 && abs(o[2]) <= 0.05)
        }
        var uniform = GapTrainingEnvironment(task: task, reset: .task, seed: 1)
        var farFromHanging = 0
        for _ in 0..<50 {
            uniform.reset(observation: &o)
            if o[0] > -0.9 { farFromHanging += 1 }
        }
        #expect(farFromHanging > 30)
        var mixed = GapTrainingEnvironment(task: task, reset: .mixed, seed: 1)
        var hangs: [Bool] = []
        for _ in 0..<10 {
            mixed.reset(observation: &o)
            hangs.append(o[0] < -0.99)
        }
        // Every second episode hangs; the others follow the task's reset (rarely within 0.05 rad of hanging).
        let odd = stride(from: 1, to: 10, by: 2).map { hangs[$0] }
        let even = stride(from: 0, to: 10, by: 2).map { hangs[$0] }
        #expect(odd == [true, true, true, true, true])
        #expect(even.filter { $0 }.count <= 1)
        let cart = GapTaskName.cartpole.cartPoleTask
        var c = [Float](repeating: 0, count: cart.observationSize)
        var cartHanging = GapTrainingEnvironment(task: cart, reset: .hanging, seed: 2)
        cartHanging.reset(observation: &c)
        #expect(abs(c[0]) <= 0.05 && c[2] < -0.99)
        var plant = GapTrainingEnvironment(plant: try RealPlantEnvironment(task: task, seed: 4), task: task, seed: 4)
        plant.reset(observation: &o)
        #expect(o[0] < -0.99)
        let step = [Float](repeating: 0, count: 1)
        #expect(plant.step(action: step, observation: &o).reward < 0)
    }
}
