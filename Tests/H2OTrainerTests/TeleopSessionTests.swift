import Control
import Foundation
import Testing
import TestSupport

@testable import H2OTrainer

/// Operator input from a script: at tick k (counted by polls), set the action and add events.
/// Preallocated; `poll` does not allocate.
final class ScriptedOperator: OperatorInputSource {
    struct Step {
        var tick: Int
        var action: Float?
        var events: OperatorEvents
    }
    let steps: UnsafeMutableBufferPointer<Step>
    private var polls = 0
    private var next = 0

    init(_ script: [Step]) {
        steps = .allocate(capacity: script.count)
        _ = steps.initialize(from: script.sorted { $0.tick < $1.tick })
    }
    deinit { steps.deallocate() }

    func poll(into input: inout OperatorInput) {
        while next < steps.count && steps[next].tick <= polls {
            if let a = steps[next].action { input.action = a }
            input.events.formUnion(steps[next].events)
            next += 1
        }
        polls += 1
    }
}

private func makeDataset(_ task: RegulationTask) -> (String, DatasetSchema) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("teleop-\(UUID().uuidString)").path
    let schema = DatasetSchema(
        robotID: "mock", task: task.name, controlRateHz: 200, observation: task.observationChannels,
        action: task.actionChannels, rewardDefinition: task.rewardDefinition, source: "teleop")
    return (dir, schema)
}

private func limits() -> SafetyLimits {
    SafetyLimits(joints: [JointLimits(positionMin: -100, positionMax: 100, velocityMax: 50, effortMax: 1, rateMax: 1000)])
}

/// Drains the session's ring and outcome queue into a dataset directory, as the logger and
/// the command's main thread do.
private func persist<T: ControlTask>(_ session: TeleopSession<T>, ring: TransitionRing, dir: String, schema: DatasetSchema) throws {
    let writer = try DatasetWriter(directory: dir, schema: schema)
    while try ring.pop({ try writer.appendPayload($0) }) {}
    try writer.close()
    let table = try EpisodeTableWriter(directory: dir)
    while let o = session.outcomes.pop() { try table.append(o.entry()) }
}

@Suite("Teleop session")
struct TeleopSessionTests {
    @Test("next, redo and stop give kept and discarded episodes that the dataset reopens with")
    func episodesNextRedoStop() throws {
        let task = RegulationTask(jointCount: 1, episodeTicks: 10_000)
        let robot = MockRobot(jointCount: 1, plant: .integrator(inertia: 0.1, damping: 0.5, dt: 0.005))
        try robot.configure(RobotConfiguration(mode: .torque, setpointLimit: [1]))
        let ring = TransitionRing(capacity: 4096, observationCount: 2, actionCount: 1)
        // The mock starts at the target, so the task's reset finishes on the first tick and
        // recording starts on tick 1.
        let script = ScriptedOperator([
            .init(tick: 0, action: 0.5, events: []),
            .init(tick: 51, action: nil, events: .next),  // episode 0 kept: ticks 1...51
            .init(tick: 400, action: -0.5, events: []),
            .init(tick: 450, action: nil, events: .redo),  // episode 1 discarded mid-way
            .init(tick: 900, action: nil, events: .next),  // episode 2 kept
            .init(tick: 901, action: nil, events: .redo),  // during the reset: discards episode 2
            .init(tick: 1500, action: 0.25, events: []),
            .init(tick: 1600, action: nil, events: .stop),  // episode 3 kept (cut by stop)
        ])
        let session = try TeleopSession(
            robot: robot, task: task, limits: limits(), ring: ring, inputs: [script],
            configuration: TeleopConfiguration(pacing: .asFastAsPossible, reset: .task))
        let result = try session.run()
        #expect(result.reasons == .requested && !result.latched)
        #expect(result.keptEpisodes == 2 && result.discardedEpisodes == 2)

        let (dir, schema) = makeDataset(task)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try persist(session, ring: ring, dir: dir, schema: schema)

        let reader = try DatasetReader(directory: dir)
        let table = try reader.episodeTable()
        #expect(table.entries.map(\.episode) == [0, 1, 2, 3])
        #expect(table.entries.map(\.status) == [.kept, .discarded, .discarded, .kept])
        #expect(table.entries.map(\.reason) == ["next", "redo", "redo", "stop"])
        let all = reader.transitions()
        #expect(all.count == Int(result.records))
        #expect(all.allSatisfy { $0.header.flags.contains(.teleop) && $0.header.policyVersion == 0 })
        #expect(all.filter { $0.header.flags.contains(.episodeStart) }.count == 4)
        let episode0 = all.filter { $0.header.episode == 0 }
        #expect(episode0.count == 51)
        #expect(episode0.first!.header.flags.contains(.episodeStart) && episode0.last!.header.flags.contains(.timeout))
        #expect(episode0.allSatisfy { $0.action == [0.5] })
        // Ticks within an episode are consecutive (no hidden gaps).
        #expect(zip(episode0, episode0.dropFirst()).allSatisfy { $1.header.tick == $0.header.tick + 1 })

        let kept = reader.keptTransitions(table)
        #expect(Set(kept.map(\.header.episode)) == [0, 3])
        #expect(kept.count == all.filter { $0.header.episode == 0 || $0.header.episode == 3 }.count)
        let arrays = try reader.keptD4RLArrays()
        // Each kept episode loses its last record (an operator cut has no successor).
        #expect(arrays.count == kept.count - 2)
        #expect(arrays.timeouts.filter { $0 }.count == 2)
        // No record was recorded during the reset phases: records = sum of the table's counts.
        #expect(table.entries.map(\.records).reduce(0, +) == all.count)
    }

    @Test("an operator e-stop aborts the episode, latches, and the episode is kept with an aborted last record")
    func emergencyStop() throws {
        let task = RegulationTask(jointCount: 1)
        let robot = MockRobot(jointCount: 1, plant: .integrator(inertia: 0.1, damping: 0.5, dt: 0.005))
        try robot.configure(RobotConfiguration(mode: .torque, setpointLimit: [1]))
        let ring = TransitionRing(capacity: 1024, observationCount: 2, actionCount: 1)
        let script = ScriptedOperator([.init(tick: 100, action: nil, events: .emergencyStop)])
        let session = try TeleopSession(
            robot: robot, task: task, limits: limits(), ring: ring, inputs: [script],
            configuration: TeleopConfiguration(pacing: .asFastAsPossible))
        let result = try session.run()
        #expect(result.latched && result.reasons.contains(.operatorRequest))
        let o = try #require(session.outcomes.pop())
        #expect(o.reason == .safetyStop && !o.discarded && o.records == 100)
        var last: TransitionHeader?
        while ring.pop({ last = TransitionLayout.decodeHeader($0.baseAddress!) }) {}
        #expect(last?.flags.contains(.aborted) == true)
        #expect(o.entry(safetyReason: "operator e-stop").reason == "safety stop: operator e-stop")
    }

    @Test("operator reset mode records nothing until next; maxEpisodes stops the session")
    func operatorResetAndEpisodeLimit() throws {
        let task = RegulationTask(jointCount: 1, episodeTicks: 30)
        let robot = MockRobot(jointCount: 1, plant: .integrator(inertia: 0.1, damping: 0.5, dt: 0.005))
        try robot.configure(RobotConfiguration(mode: .torque, setpointLimit: [1]))
        let ring = TransitionRing(capacity: 1024, observationCount: 2, actionCount: 1)
        let script = ScriptedOperator([
            .init(tick: 0, action: 0.2, events: []),
            .init(tick: 200, action: nil, events: .next),
            .init(tick: 500, action: nil, events: .next),
        ])
        let session = try TeleopSession(
            robot: robot, task: task, limits: limits(), ring: ring, inputs: [script],
            configuration: TeleopConfiguration(pacing: .asFastAsPossible, reset: .operator, firstEpisode: 7, maxEpisodes: 2))
        let result = try session.run()
        #expect(result.keptEpisodes == 2 && result.records == 60 && result.reasons == .requested)
        #expect(session.outcomes.pop()?.episode == 7)
        let second = try #require(session.outcomes.pop())
        #expect(second.episode == 8 && second.reason == .timeLimit && second.firstTick >= 500)
        // The operator drove during the reset phase: the robot moved before recording began.
        #expect(robot.writes > 500)
    }

    @Test("a teleop tick allocates nothing")
    func tickAllocatesNothing() throws {
        let task = RegulationTask(jointCount: 1, episodeTicks: 500)
        let robot = MockRobot(jointCount: 1, plant: .integrator(inertia: 0.1, damping: 0.5, dt: 0.005))
        try robot.configure(RobotConfiguration(mode: .torque, setpointLimit: [1]))
        try robot.activate()
        let ring = TransitionRing(capacity: 1 << 14, observationCount: 2, actionCount: 1)
        var script: [ScriptedOperator.Step] = []
        for k in stride(from: 0, to: 5000, by: 37) { script.append(.init(tick: k, action: Float(k % 7) / 7 - 0.5, events: [])) }
        for k in stride(from: 300, to: 5000, by: 700) { script.append(.init(tick: k, action: nil, events: k % 1400 == 300 ? .redo : .next)) }
        let input = ScriptedOperator(script)
        let session = try TeleopSession(
            robot: robot, task: task, limits: limits(), ring: ring, inputs: [input],
            configuration: TeleopConfiguration(pacing: .asFastAsPossible, maxTicks: 5000))
        // Warm up outside the count (first-use lazy initialisation), then count whole ticks.
        try session.begin()
        for _ in 0..<10 { _ = session.tick() }
        let allocations = allocationsOnThisThread { for _ in 0..<4000 { _ = session.tick() } }
        #expect(allocations == 0)
        #expect(session.status.recordsPushed > 3000 && session.status.discardedEpisodes >= 1)
    }
}
