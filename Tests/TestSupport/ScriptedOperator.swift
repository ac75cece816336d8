import Control

/// Operator input from a script: at poll k, set the action and add events. Preallocated;
/// `poll` does not allocate.
public final class ScriptedOperator: OperatorInputSource {
    public struct Step: Sendable {
        public var tick: Int
        public var action: Float?
        public var events: OperatorEvents
        public init(tick: Int, action: Float?, events: OperatorEvents) {
            self.tick = tick
            self.action = action
            self.events = events
        }
    }
    let steps: UnsafeMutableBufferPointer<Step>
    private var polls = 0
    private var next = 0

    public init(_ script: [Step]) {
        steps = .allocate(capacity: script.count)
        _ = steps.initialize(from: script.sorted { $0.tick < $1.tick })
    }
    deinit { steps.deallocate() }

    /// The next/redo/stop script of the teleop tests (the mock robot starts at the target, so
    /// the task's reset finishes on the first tick and recording starts on tick 1): episode 0
    /// kept by next (ticks 1...51), episode 1 discarded by redo mid-way, episode 2 kept by next
    /// and discarded by redo during the reset, episode 3 kept (cut by stop).
    public static let nextRedoStop: [Step] = [
        .init(tick: 0, action: 0.5, events: []),
        .init(tick: 51, action: nil, events: .next),
        .init(tick: 400, action: -0.5, events: []),
        .init(tick: 450, action: nil, events: .redo),
        .init(tick: 900, action: nil, events: .next),
        .init(tick: 901, action: nil, events: .redo),
        .init(tick: 1500, action: 0.25, events: []),
        .init(tick: 1600, action: nil, events: .stop),
    ]

    public func poll(into input: inout OperatorInput) {
        while next < steps.count && steps[next].tick <= polls {
            if let a = steps[next].action { input.action = a }
            input.events.formUnion(steps[next].events)
            next += 1
        }
        polls += 1
    }
}

/// A teleop loop over a mock robot (1 joint, integrator plant) and the regulation task.
public typealias TeleopLoop = ControlLoop<RegulationTask, OperatorSource>

/// Builds the teleop loop of the tests: the operator `script` as the only input.
public func makeTeleopLoop(
    task: RegulationTask, robot: any RobotInterface, ring: TransitionRing?, script: ScriptedOperator,
    reset: TeleopResetMode = .task, maxEpisodes: Int? = nil, configuration: LoopConfiguration
) throws -> TeleopLoop {
    let limits = SafetyLimits(joints: [JointLimits(positionMin: -100, positionMax: 100, velocityMax: 50, effortMax: 1, rateMax: 1000)])
    let source = try OperatorSource(
        inputs: [script], observationSize: task.observationSize, actionSize: task.actionSize, reset: reset, maxEpisodes: maxEpisodes)
    return try ControlLoop(robot: robot, task: task, source: source, limits: limits, mode: .torque, ring: ring, configuration: configuration)
}
