@testable import Control
import Foundation
import Testing
import TestSupport

/// An input that sets action components from a script of (poll, component, value).
private final class ComponentScript: OperatorInputSource {
    let steps: [(poll: Int, component: Int, value: Float)]
    var polls = 0
    init(_ steps: [(poll: Int, component: Int, value: Float)]) { self.steps = steps }
    func poll(into input: inout OperatorInput) {
        for s in steps where s.poll == polls { input.actions[s.component] = s.value }
        polls += 1
    }
}

@Suite("Teleop for N joints: the operator's action per joint and the status line")
struct TeleopStatusTests {
    @Test("the operator source writes every action component, and readers on other threads see each")
    func sourceWritesEveryComponent() throws {
        let script = ComponentScript([(0, 0, 0.25), (0, 2, -0.5), (1, 1, 1)])
        let source = try OperatorSource(inputs: [script], observationSize: 3, actionSize: 3)
        let statistics = LoopStatistics()
        source.begin(statistics: statistics)
        var action = [Float](repeating: 9, count: 3)
        _ = source.poll(statistics: statistics)
        _ = action.withUnsafeMutableBufferPointer { p in
            [Float](repeating: 0, count: 3).withUnsafeBufferPointer {
                source.act(observation: $0.baseAddress!, action: p.baseAddress!, decide: true, episodeTick: 0)
            }
        }
        #expect(action == [0.25, 0, -0.5])
        _ = source.poll(statistics: statistics)
        #expect(source.action(0) == 0.25 && source.action(1) == 1 && source.action(2) == -0.5)
        #expect(source.action == 0.25 && source.action(8) == 0)
        #expect(TeleopStatus.actions(names: ["shoulder", "elbow", "wrist"], source: source) == "action shoulder +0.25 elbow +1.00 wrist -0.50")
        #expect(throws: ControlLoopError.self) { try OperatorSource(inputs: [script], observationSize: 3, actionSize: 9) }
    }

    @Test("the status line shows each joint's position and velocity from the loop's published read, with units")
    func statusLine() {
        let statistics = LoopStatistics()
        #expect(TeleopStatus.joints(names: ["cart", "pole"], units: ["m", "rad"], statistics: statistics) == "joints: no reading yet")
        var state = RobotState()
        state.jointCount = 2
        state.position[0] = 0.125
        state.velocity[0] = -1.5
        state.position[1] = -3.1
        state.velocity[1] = 12.25
        statistics.publishJoints(state)
        #expect(statistics.publishedJointCount == 2)
        let line = TeleopStatus.joints(names: ["cart", "pole"], units: ["m", "rad"], statistics: statistics)
        #expect(line == "cart +0.125 m -1.50 m/s | pole -3.100 rad +12.25 rad/s", "\(line)")
        statistics.reset()
        #expect(statistics.publishedJointCount == 0 && statistics.jointPosition(1) == 0)
    }

    @Test("publishing the joints allocates nothing (it runs on the control thread after every read)")
    func publishAllocatesNothing() {
        let statistics = LoopStatistics()
        var state = RobotState()
        state.jointCount = 8
        let allocations = allocationsOnThisThread {
            for k in 0..<1000 {
                state.position[k % 8] = Float(k)
                statistics.publishJoints(state)
            }
        }
        #expect(allocations == 0)
        #expect(statistics.jointPosition(7) == 999)
    }

    @Test("a loop publishes the robot's joints: after a run the status reads the last state")
    func loopPublishes() throws {
        let task = RegulationTask(jointCount: 1, episodeTicks: 10_000)
        let robot = MockRobot(jointCount: 1, plant: .integrator(inertia: 0.1, damping: 0.5, dt: 0.005))
        try robot.configure(RobotConfiguration(mode: .torque, setpointLimit: [1]))
        let loop = try makeTeleopLoop(
            task: task, robot: robot, ring: nil,
            script: ScriptedOperator([.init(tick: 0, action: 0.8, events: .next), .init(tick: 300, action: nil, events: .stop)]),
            configuration: LoopConfiguration(pacing: .asFastAsPossible))
        _ = try loop.run()
        var state = RobotState()
        _ = robot.read(into: &state)
        #expect(loop.statistics.publishedJointCount == 1)
        #expect(loop.statistics.jointPosition(0) > 0.1, "the operator's +0.8 moved the joint")
        #expect(abs(loop.statistics.jointPosition(0) - state.position[0]) < 0.05)
    }
}
