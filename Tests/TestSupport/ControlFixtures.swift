import Control
import FixedNN
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

/// A FixedNN runtime policy `observationSize → hidden → hidden → actionSize` (tanh hidden layers,
/// tanh head), seeded; output-layer weights scaled by `gain`.
public func makeNetworkPolicy(observationSize: Int, actionSize: Int, hidden: Int = 64, seed: UInt64 = 1, gain: Float = 0.01) -> DeterministicPolicy {
    let net = MLP(shape: MLPShape(layerSizes: [observationSize, hidden, hidden, actionSize], hidden: .tanh),
                  lastLayer: .xavierUniform(gain: gain), seed: seed)
    return DeterministicPolicy(PolicyFile(network: net, head: .tanh))
}

/// A fake robot, regulation task, policy slot and loop, wired together.
public struct LoopFixture<Policy: SlotPolicy> {
    public let robot: FakeRobot
    public let task: RegulationTask
    public let slot: PolicySlot<Policy>
    public let loop: PolicyLoop<RegulationTask, Policy>
    public let ring: TransitionRing?
    public let estop: FakeEStop
    public let outputs: FakeOutputs

    public init(jointCount: Int = 1, plant: MockRobot.Plant = .integrator(inertia: 0.05, damping: 0.1, dt: 0.005),
                limits: SafetyLimits? = nil, configuration: LoopConfiguration, ringCapacity: Int? = 4096,
                episodeTicks: Int = 1000, policy: Policy) throws {
        robot = FakeRobot(jointCount: jointCount, plant: plant, commandLogCapacity: 1 << 16)
        task = RegulationTask(jointCount: jointCount, episodeTicks: episodeTicks, effortScale: 1)
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

extension LoopFixture where Policy == LinearTestPolicy {
    /// With a stabilising linear policy `a_j = tanh(-2 q_j - 0.5 q̇_j)` unless `initialPolicy` is given.
    public init(jointCount: Int = 1, plant: MockRobot.Plant = .integrator(inertia: 0.05, damping: 0.1, dt: 0.005),
                limits: SafetyLimits? = nil, configuration: LoopConfiguration, ringCapacity: Int? = 4096,
                episodeTicks: Int = 1000, initialPolicy: LinearTestPolicy? = nil) throws {
        let policy = initialPolicy ?? LinearTestPolicy(observationSize: 2 * jointCount, actionSize: jointCount)
        if initialPolicy == nil {
            for j in 0..<jointCount {
                policy.parameters[j * 2 * jointCount + j] = -2
                policy.parameters[j * 2 * jointCount + jointCount + j] = -0.5
            }
        }
        try self.init(jointCount: jointCount, plant: plant, limits: limits, configuration: configuration,
                      ringCapacity: ringCapacity, episodeTicks: episodeTicks, policy: policy)
    }
}

/// Path of a file under `Tests/Fixtures/control/` (the Python implementation of DATASET.md and
/// the dataset it wrote).
public func controlFixturePath(_ name: String) -> String {
    var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast(2)  // TestSupport/ControlFixtures.swift
    return components.joined(separator: "/") + "/Fixtures/control/" + name
}
