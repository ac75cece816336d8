@testable import Control
import Foundation
import Testing
import TestSupport

/// Every payload waiting in `ring`, decoded (consumer side; call after the run).
private func drain(_ ring: TransitionRing) -> [Transition] {
    var out: [Transition] = []
    while ring.pop({ p in out.append(TransitionLayout.decode(p.baseAddress!, observationCount: ring.observationCount, actionCount: ring.actionCount)) }) {}
    return out
}

private func outcomes(_ loop: TeleopLoop) -> [EpisodeOutcome] {
    var out: [EpisodeOutcome] = []
    while let o = loop.source.outcomes.pop() { out.append(o) }
    return out
}

private func mockRobot() throws -> MockRobot {
    let robot = MockRobot(jointCount: 1, plant: .integrator(inertia: 0.1, damping: 0.5, dt: 0.005))
    try robot.configure(RobotConfiguration(mode: .torque, setpointLimit: [1]))
    return robot
}

@Suite("Teleop through the control loop (operator action source)")
struct TeleopLoopTests {
    @Test("next, redo and stop give kept and discarded episodes with consecutive teleop records")
    func episodesNextRedoStop() throws {
        let task = RegulationTask(jointCount: 1, episodeTicks: 10_000)
        let robot = try mockRobot()
        let ring = TransitionRing(capacity: 4096, observationCount: 2, actionCount: 1)
        let loop = try makeTeleopLoop(
            task: task, robot: robot, ring: ring, script: ScriptedOperator(ScriptedOperator.nextRedoStop),
            configuration: LoopConfiguration(pacing: .asFastAsPossible))
        let result = try loop.run()
        #expect(result.reasons == .requested && !result.latched)
        #expect(loop.statistics.value(.keptEpisodes) == 2 && loop.statistics.value(.discardedEpisodes) == 2)
        #expect(loop.statistics.phase == .finished)

        let table = outcomes(loop)
        // Episode 2 appears twice: kept by "next", then discarded by "redo" during the reset.
        #expect(table.map(\.episode) == [0, 1, 2, 2, 3])
        #expect(table.map(\.reason) == [.next, .redo, .next, .redo, .stop])
        #expect(table.map(\.discarded) == [false, true, false, true, false])
        let all = drain(ring)
        #expect(all.count == Int(result.records))
        #expect(all.allSatisfy { $0.header.flags.contains(.teleop) && $0.header.policyVersion == 0 })
        #expect(all.filter { $0.header.flags.contains(.episodeStart) }.count == 4)
        let episode0 = all.filter { $0.header.episode == 0 }
        #expect(episode0.count == 51)
        #expect(episode0.first!.header.flags.contains(.episodeStart) && episode0.last!.header.flags.contains(.timeout))
        #expect(episode0.allSatisfy { $0.action == [0.5] })
        // Ticks within an episode are consecutive (no hidden gaps).
        #expect(zip(episode0, episode0.dropFirst()).allSatisfy { $1.header.tick == $0.header.tick + 1 })
        // The stop keeps the last episode: its last record is a time-out, not an abort.
        let last = try #require(all.last)
        #expect(last.header.episode == 3 && last.header.flags.contains(.timeout) && !last.header.flags.contains(.aborted))
        // No record during the reset phases: records = the sum of the outcomes' counts.
        let final = Dictionary(table.map { ($0.episode, $0.records) }, uniquingKeysWith: { a, _ in a })
        #expect(final.values.reduce(0, +) == all.count)
    }

    @Test("an operator e-stop aborts the episode, latches, and the episode is kept with an aborted last record")
    func emergencyStop() throws {
        let task = RegulationTask(jointCount: 1)
        let robot = try mockRobot()
        let ring = TransitionRing(capacity: 1024, observationCount: 2, actionCount: 1)
        let loop = try makeTeleopLoop(
            task: task, robot: robot, ring: ring, script: ScriptedOperator([.init(tick: 100, action: nil, events: .emergencyStop)]),
            configuration: LoopConfiguration(pacing: .asFastAsPossible))
        let result = try loop.run()
        #expect(result.latched && result.reasons.contains(.operatorRequest))
        let o = try #require(loop.source.outcomes.pop())
        #expect(o.reason == .safetyStop && !o.discarded && o.records == 100)
        #expect(drain(ring).last?.header.flags.contains(.aborted) == true)
    }

    @Test("operator reset mode records nothing until next; maxEpisodes stops the loop; numbering starts at firstEpisode")
    func operatorResetAndEpisodeLimit() throws {
        let task = RegulationTask(jointCount: 1, episodeTicks: 30)
        let robot = try mockRobot()
        let ring = TransitionRing(capacity: 1024, observationCount: 2, actionCount: 1)
        let script = ScriptedOperator([
            .init(tick: 0, action: 0.2, events: []),
            .init(tick: 200, action: nil, events: .next),
            .init(tick: 500, action: nil, events: .next),
        ])
        let loop = try makeTeleopLoop(
            task: task, robot: robot, ring: ring, script: script, reset: .operator, maxEpisodes: 2,
            configuration: LoopConfiguration(pacing: .asFastAsPossible, firstEpisode: 7))
        let result = try loop.run()
        #expect(loop.statistics.value(.keptEpisodes) == 2 && result.records == 60 && result.reasons == .requested)
        #expect(loop.source.outcomes.pop()?.episode == 7)
        let second = try #require(loop.source.outcomes.pop())
        #expect(second.episode == 8 && second.reason == .timeLimit && second.firstTick >= 500)
        // The operator drove during the reset phase: the robot moved before recording began.
        #expect(robot.writes > 500)
    }

    @Test("the task's reset gets the count of reset ticks from the loop, from 0 in every reset phase")
    func ticksInResetCounted() throws {
        final class CountingTask: ControlTask, @unchecked Sendable {
            let base = RegulationTask(jointCount: 1, episodeTicks: 20)
            var seen: [Int] = []
            var name: String { base.name }
            var observationSize: Int { base.observationSize }
            var actionSize: Int { base.actionSize }
            var controlPeriod: Double { base.controlPeriod }
            var episodeTicks: Int { base.episodeTicks }
            func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>) { base.observe(state, into: observation) }
            func command(for action: UnsafePointer<Float>, into command: inout RobotCommand) { base.command(for: action, into: &command) }
            func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float { 0 }
            func isTerminal(observation: UnsafePointer<Float>) -> Bool { false }
            func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
                seen.append(ticksInReset)
                command.mode = .torque
                command.jointCount = 1
                command.setpoint[0] = 0
                return ticksInReset == 4  // the reset takes five ticks
            }
        }
        let task = CountingTask()
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 60))
        let loop = try ControlLoop(
            robot: fx.robot, task: task, slot: fx.slot, limits: testLimits(), mode: .torque,
            configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 60))
        _ = try loop.run()
        // 60 ticks: 5 reset + 20 recorded, twice, then 5 reset + 5 recorded.
        #expect(task.seen == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    }

    @Test("a teleop tick allocates nothing")
    func tickAllocatesNothing() throws {
        let task = RegulationTask(jointCount: 1, episodeTicks: 500)
        let robot = try mockRobot()
        try robot.activate()
        let ring = TransitionRing(capacity: 1 << 14, observationCount: 2, actionCount: 1)
        var script: [ScriptedOperator.Step] = []
        for k in stride(from: 0, to: 5000, by: 37) { script.append(.init(tick: k, action: Float(k % 7) / 7 - 0.5, events: [])) }
        for k in stride(from: 300, to: 5000, by: 700) { script.append(.init(tick: k, action: nil, events: k % 1400 == 300 ? .redo : .next)) }
        let loop = try makeTeleopLoop(
            task: task, robot: robot, ring: ring, script: ScriptedOperator(script),
            configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 5000))
        // Warm up outside the count (first-use lazy initialisation), then count whole ticks.
        try loop.begin()
        for _ in 0..<10 { _ = loop.tick() }
        let allocations = allocationsOnThisThread { for _ in 0..<4000 { _ = loop.tick() } }
        #expect(mallocCounterIsActive())
        #expect(allocations == 0)
        #expect(loop.statistics.value(.records) > 3000 && loop.statistics.value(.discardedEpisodes) >= 1)
    }
}
