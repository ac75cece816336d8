import Control
import Foundation

/// A fresh empty directory under the system temp directory; removed by `removeTemporaryDirectory`.
public func makeTemporaryDirectory(_ prefix: String) -> String {
    let path = NSTemporaryDirectory() + "/\(prefix)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

public func removeTemporaryDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// A small schema for tests: `observationCount` observation and `actionCount` action channels.
public func testSchema(observationCount: Int = 3, actionCount: Int = 1, source: String = "real") -> DatasetSchema {
    DatasetSchema(
        robotID: "test-robot", task: "pendulum", calibrationHash: "", controlRateHz: 200,
        observation: (0..<observationCount).map { DatasetChannel(name: "o\($0)", unit: "1") },
        action: (0..<actionCount).map { DatasetChannel(name: "a\($0)", unit: "1") },
        rewardDefinition: "test", source: source)
}

/// A transition whose every value is a deterministic function of `tick`, so a reader can
/// check any record it returns for corruption.
public func syntheticTransition(tick: UInt64, episode: UInt32 = 0, observationCount: Int = 3, actionCount: Int = 1,
                                flags: TransitionFlags = []) -> Transition {
    let t = Float(tick)
    return Transition(
        header: TransitionHeader(
            timestampNanos: 1_000_000_000 + tick * 5_000_000, tick: tick, policyVersion: tick / 100,
            episode: episode, flags: flags, reward: -t * 0.5, droppedBefore: 0),
        observation: (0..<observationCount).map { t + Float($0) * 0.25 },
        action: (0..<actionCount).map { Float($0) - t * 0.001 })
}

/// Limits for `jointCount` joints: ±1 rad, 2 rad/s, 1 N·m, 100 N·m/s; hold for 20 ms; a lenient
/// 1 s watchdog so a busy test machine cannot trip it by accident.
public func testLimits(jointCount: Int = 1) -> SafetyLimits {
    var l = SafetyLimits(joints: Array(
        repeating: JointLimits(positionMin: -1, positionMax: 1, velocityMax: 2, effortMax: 1, rateMax: 100),
        count: jointCount))
    l.commandTimeout = 1
    l.stopDuration = 0.02
    return l
}

/// A fake robot, regulation task, linear policy slot and loop, wired together.
public struct LoopFixture {
    public let robot: FakeRobot
    public let task: RegulationTask
    public let slot: PolicySlot<LinearTestPolicy>
    public let loop: ControlLoop<RegulationTask, LinearTestPolicy>
    public let ring: TransitionRing?
    public let estop: FakeEStop
    public let outputs: FakeOutputs

    public init(jointCount: Int = 1, plant: MockRobot.Plant = .integrator(inertia: 0.05, damping: 0.1, dt: 0.005),
                limits: SafetyLimits? = nil, configuration: LoopConfiguration, ringCapacity: Int? = 4096,
                policyWeights: [Float]? = nil, episodeTicks: Int = 1000, initialPolicy: LinearTestPolicy? = nil) throws {
        robot = FakeRobot(jointCount: jointCount, plant: plant, commandLogCapacity: 1 << 16)
        task = RegulationTask(jointCount: jointCount, episodeTicks: episodeTicks, effortScale: 1)
        let policy = initialPolicy ?? LinearTestPolicy(observationSize: 2 * jointCount, actionSize: jointCount)
        if initialPolicy == nil {
            // A stabilising PD-like policy: a_j = tanh(-2 q_j - 0.5 q̇_j).
            for j in 0..<jointCount {
                policy.parameters[j * 2 * jointCount + j] = -2
                policy.parameters[j * 2 * jointCount + jointCount + j] = -0.5
            }
        }
        if let policyWeights { for (i, w) in policyWeights.enumerated() { policy.parameters[i] = w } }
        slot = try PolicySlot(initial: policy)
        ring = ringCapacity.map { TransitionRing(capacity: $0, observationCount: 2 * jointCount, actionCount: jointCount) }
        estop = FakeEStop()
        outputs = FakeOutputs()
        loop = try ControlLoop(
            robot: robot, task: task, slot: slot, limits: limits ?? testLimits(jointCount: jointCount), mode: .torque,
            ring: ring, estop: estop, outputs: outputs, configuration: configuration)
    }

    /// Every payload waiting in the ring, decoded (consumer side; call after the run).
    public func drainRing() -> [Transition] {
        guard let ring else { return [] }
        var out: [Transition] = []
        while ring.pop({ p in out.append(TransitionLayout.decode(p.baseAddress!, observationCount: ring.observationCount, actionCount: ring.actionCount)) }) {}
        return out
    }
}
