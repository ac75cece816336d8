import Control

import Synchronization
import SystemSupport

/// ros2_control-style mock hardware for tests: a `MockRobot` (commands mirrored into states,
/// or integrated through a simple plant) plus scripted faults, counted by reads.
///
/// Thread contract: configure the script before `run`; `read`/`write` on the control thread.
public final class FakeRobot: RobotInterface {
    public let mock: MockRobot
    /// From this read on (0-based), joint 0's position reads NaN.
    public var nanPositionFromRead: Int? = nil
    /// From this read on, reads return `.timeout`.
    public var failReadsFrom: Int? = nil
    /// At this read, the read busy-waits `stallNanos` (a stalled link).
    public var stallAtRead: Int? = nil
    public var stallNanos: UInt64 = 0
    /// At this read, the robot reports `injectedFault`.
    public var faultAtRead: Int? = nil
    public var injectedFault: RobotFaults = .motor
    /// Reads so far.
    public private(set) var reads = 0
    /// Every command honoured, in order (preallocated; stops recording when full).
    public private(set) var commandLog: UnsafeMutableBufferPointer<RobotCommand>
    public private(set) var commandLogCount = 0

    public init(jointCount: Int, plant: MockRobot.Plant = .mirror, commandLogCapacity: Int = 4096) {
        mock = MockRobot(jointCount: jointCount, plant: plant, robotID: "fake")
        commandLog = .allocate(capacity: commandLogCapacity)
        commandLog.initialize(repeating: RobotCommand())
        try! mock.configure(RobotConfiguration(mode: .torque, setpointLimit: Array(repeating: 10, count: jointCount)))
    }

    deinit { commandLog.deallocate() }

    public var lifecycle: LifecycleState { mock.lifecycle }
    public var info: RobotInfo { mock.info }
    public func configure(_ c: RobotConfiguration) throws { try mock.configure(c) }
    public func activate() throws { try mock.activate() }
    public func deactivate() throws { try mock.deactivate() }
    public func clearFault() throws { try mock.clearFault() }
    public func shutdown() { mock.shutdown() }
    public func emergencyStop() -> IOStatus { mock.emergencyStop() }

    public func read(into state: inout RobotState) -> IOStatus {
        defer { reads += 1 }
        if let k = stallAtRead, reads == k {
            let end = monotonicNanos() + stallNanos
            while monotonicNanos() < end {}
        }
        if let k = faultAtRead, reads == k { mock.injectFault(injectedFault) }
        if let k = failReadsFrom, reads >= k { return .timeout }
        let status = mock.read(into: &state)
        if let k = nanPositionFromRead, reads >= k { state.position[0] = .nan }
        return status
    }

    public func write(_ command: RobotCommand) -> IOStatus {
        let status = mock.write(command)
        if status == .ok && commandLogCount < commandLog.count {
            commandLog[commandLogCount] = command
            commandLogCount += 1
        }
        return status
    }

    /// Honoured commands' setpoints for `joint`, in order (allocates; call after the run).
    public func setpoints(joint: Int) -> [Float] { (0..<commandLogCount).map { commandLog[$0].setpoint[joint] } }
}

/// An e-stop input the test drives: `press()`/`release()` from any thread.
public final class FakeEStop: EmergencyStopInput, @unchecked Sendable {
    private let asserted = Atomic<Bool>(false)
    private let edge = Atomic<Bool>(false)
    public init() {}
    public func press() {
        asserted.store(true, ordering: .releasing)
        edge.store(true, ordering: .releasing)
    }
    public func release() { asserted.store(false, ordering: .releasing) }
    public func isTriggered() -> Bool { asserted.load(ordering: .acquiring) || edge.load(ordering: .acquiring) }
    public func acknowledge() -> Bool {
        guard !asserted.load(ordering: .acquiring) else { return false }
        edge.store(false, ordering: .releasing)
        return true
    }
}

/// Status outputs that remember what they were told.
public final class FakeOutputs: StatusOutputs {
    public private(set) var motorEnabled = false
    public private(set) var enableChanges = 0
    public private(set) var led = false
    public init() {}
    public func setMotorEnable(_ enabled: Bool) {
        if enabled != motorEnabled { enableChanges += 1 }
        motorEnabled = enabled
    }
    public func setStatusLED(_ on: Bool) { led = on }
}

/// A linear-tanh test policy `a = tanh(W·o + b)` (W row-major, `actionSize × observationSize`),
/// with an optional NaN output at a given call.
public final class LinearTestPolicy: SlotPolicy {
    public let observationSize: Int
    public let actionSize: Int
    public let parameters: UnsafeMutableBufferPointer<Float>
    /// From this call of `act` on (0-based), action 0 is NaN.
    public var nanActionFromCall: Int? = nil
    public private(set) var calls = 0
    public var shape: [Int] { [observationSize, actionSize] }

    public init(observationSize: Int, actionSize: Int, fill: Float = 0) {
        self.observationSize = observationSize
        self.actionSize = actionSize
        parameters = .allocate(capacity: actionSize * observationSize + actionSize)
        parameters.initialize(repeating: fill)
    }

    deinit { parameters.deallocate() }

    public func makeReplica() -> LinearTestPolicy { LinearTestPolicy(observationSize: observationSize, actionSize: actionSize) }

    public func act(observation: UnsafePointer<Float>, action: UnsafeMutablePointer<Float>) {
        for j in 0..<actionSize {
            var s = parameters[actionSize * observationSize + j]
            for i in 0..<observationSize { s += parameters[j * observationSize + i] * observation[i] }
            action[j] = tanhf(s)
        }
        if let k = nanActionFromCall, calls >= k { action[0] = .nan }
        calls += 1
    }
}

/// Parameters of version `v` for the slot tests: value i is `Float(v) + Float(i) / 1024`,
/// so a torn copy (two versions mixed) is detectable.
public func versionPattern(_ v: UInt64, into p: UnsafeMutableBufferPointer<Float>) {
    for i in p.indices { p[i] = Float(v % 1_000_000) + Float(i % 1024) / 1024 }
}

/// The version a `versionPattern` buffer was made from, or nil if it is torn or foreign.
public func versionOfPattern(_ p: UnsafeBufferPointer<Float>) -> UInt64? {
    guard let first = p.first, first >= 0 else { return nil }
    let v = UInt64(first.rounded(.down))
    for i in p.indices where p[i] != Float(v) + Float(i % 1024) / 1024 { return nil }
    return v
}

#if canImport(Glibc)
import Glibc
#endif

/// A slot policy whose parameters are only ever checked, never learned: `act` writes the
/// mean parameter to every action component.
public final class PatternPolicy: SlotPolicy {
    public let observationSize = 2
    public let actionSize = 1
    public let parameters: UnsafeMutableBufferPointer<Float>
    public let shape: [Int]

    public init(parameterCount: Int) {
        parameters = .allocate(capacity: parameterCount)
        parameters.initialize(repeating: 0)
        shape = [parameterCount]
    }

    deinit { parameters.deallocate() }

    public func makeReplica() -> PatternPolicy { PatternPolicy(parameterCount: parameters.count) }

    public func act(observation: UnsafePointer<Float>, action: UnsafeMutablePointer<Float>) {
        var s: Float = 0
        for v in parameters { s += v }
        action[0] = s / Float(parameters.count)
    }
}
