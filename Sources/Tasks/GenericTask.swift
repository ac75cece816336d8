import Control

/// The 200 Hz loop's view of a task defined by files: a `RobotSpec` and a `TaskSpec` become a
/// `ControlTask` with no task-specific Swift.
///
/// Thread contract: built at set-up; `observe`, `command`, `reward`, `isTerminal` and
/// `resetStep` run on the control thread and are real-time safe: they do not allocate, lock
/// or throw. The previous action and the reset's settle counter live in one `TickMemory`
/// allocated at `init` and written only by the control thread.
public struct GenericTask: ControlTask, @unchecked Sendable {
    /// Most names an expression may bind (observation-derived plus action-derived).
    public static let maxVariables = 80

    public let robot: RobotSpec
    public let spec: TaskSpec
    /// Actuator mode shared by every acted-on joint (one mode per command).
    public let mode: ControlMode
    private let memory: TickMemory
    private let settleTicks: Int
    private let actionVariableStart: Int

    /// Per-tick state the protocol's value semantics cannot carry: the last action (observed
    /// as `previous_action`) and how long the reset has been settled. Control thread only.
    final class TickMemory {
        var lastAction = InlineArray<8, Float>(repeating: 0)
        var settledTicks = 0
    }

    /// Checks the pair and builds the task. Throws a one-line `SpecError` (the task file named).
    public init(robot: RobotSpec, task: TaskSpec) throws(SpecError) {
        let modes = Set(task.actions.compactMap { robot.joints[$0.joint].actuator?.mode })
        guard modes.count == 1, let m = modes.first else {
            throw SpecError(
                file: task.source, field: "action",
                problem: "acts on joints whose actuators use different modes (\(modes.map(\.rawValue).sorted().joined(separator: ", "))); one command has one mode")
        }
        self.mode = m == .torque ? .torque : m == .velocity ? .velocity : .position
        self.robot = robot
        self.spec = task
        self.memory = TickMemory()
        self.settleTicks = {
            switch task.reset {
            case .park(_, _, _, _, _, let s), .waitSettled(_, _, let s): return max(1, Int((s * Double(task.controlRateHz)).rounded()))
            case .operatorReady: return 1
            }
        }()
        self.actionVariableStart = task.variables.count - 2 * task.actions.count
        for (i, e) in task.termination.enumerated() where e.usedVariables.contains(where: { $0 >= actionVariableStart }) {
            throw SpecError(
                file: task.source, field: "termination[\(i)]",
                problem: "'\(e.source)' reads an action; termination may read only observed quantities")
        }
    }

    public var name: String { spec.name }
    public var observationSize: Int { spec.observationSize }
    public var actionSize: Int { spec.actionSize }
    public var controlPeriod: Double { 1 / Double(spec.controlRateHz) }
    public var episodeTicks: Int { spec.episodeTicks }

    public func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>) {
        var k = 0
        for f in spec.features {
            switch f {
            case .angleSinCos(let j):
                let q = Double(state.position[j])
                observation[k] = Float(cosine(q))
                observation[k + 1] = Float(sine(q))
            case .angleWrapped(let j):
                observation[k] = Float(wrapAngle(Double(state.position[j])))
            case .position(let j):
                observation[k] = state.position[j]
            case .velocity(let j, let scale):
                observation[k] = Float(Double(state.velocity[j]) * scale)
            case .previousAction(let a):
                observation[k] = memory.lastAction[a]
            }
            k += f.width
        }
    }

    public func command(for action: UnsafePointer<Float>, into command: inout RobotCommand) {
        command.mode = mode
        command.jointCount = robot.joints.count
        for j in 0..<robot.joints.count { command.setpoint[j] = 0 }
        for (k, a) in spec.actions.enumerated() {
            let u = min(max(action[k], -1), 1)
            memory.lastAction[k] = u
            command.setpoint[a.joint] = Float(Double(u) * a.scale)
        }
    }

    /// Binds the expression variables from an observation and an action.
    @inline(__always)
    private func bind(observation: UnsafePointer<Float>, action: UnsafePointer<Float>?, into v: inout InlineArray<80, Double>) {
        var k = 0, n = 0
        for f in spec.features {
            switch f {
            case .angleSinCos:
                let c = Double(observation[k]), s = Double(observation[k + 1])
                v[n] = c
                v[n + 1] = s
                v[n + 2] = atan2Double(s, c)
                n += 3
            case .angleWrapped, .position, .previousAction:
                v[n] = Double(observation[k])
                n += 1
            case .velocity(_, let scale):
                v[n] = Double(observation[k]) / scale
                n += 1
            }
            k += f.width
        }
        for (i, a) in spec.actions.enumerated() {
            let u = action.map { Double(min(max($0[i], -1), 1)) } ?? 0
            v[n] = u
            v[n + 1] = u * a.scale
            n += 2
        }
    }

    public func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float {
        var v = InlineArray<80, Double>(repeating: 0)
        bind(observation: observation, action: action, into: &v)
        var total = 0.0
        withUnsafePointer(to: &v) { p in
            p.withMemoryRebound(to: Double.self, capacity: 80) { values in
                for t in spec.reward { total += t.weight * t.value.evaluate(values) }
            }
        }
        return Float(total)
    }

    public func isTerminal(observation: UnsafePointer<Float>) -> Bool {
        if spec.termination.isEmpty { return false }
        var v = InlineArray<80, Double>(repeating: 0)
        bind(observation: observation, action: nil, into: &v)
        var ended = false
        withUnsafePointer(to: &v) { p in
            p.withMemoryRebound(to: Double.self, capacity: 80) { values in
                for e in spec.termination where e.evaluate(values) != 0 { ended = true }
            }
        }
        return ended
    }

    public func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
        if ticksInReset == 0 { memory.settledTicks = 0 }
        command.mode = mode
        command.jointCount = robot.joints.count
        for j in 0..<robot.joints.count { command.setpoint[j] = 0 }
        var settled = true
        switch spec.reset {
        case .park(let target, let kp, let kd, let tolerance, let speedTolerance, _):
            for j in 0..<robot.joints.count {
                let q = Double(state.position[j]), qd = Double(state.velocity[j])
                let joint = robot.joints[j]
                if Swift.abs(qd) > speedTolerance { settled = false }
                guard let goal = target[j], let act = joint.actuator else { continue }
                let continuous = joint.body.kind == .revolute && joint.positionLimits == nil
                let error = continuous ? wrapAngle(goal - q) : goal - q
                if Swift.abs(error) > tolerance { settled = false }
                switch mode {
                case .torque:
                    command.setpoint[j] = Float(min(max(kp * error - kd * qd, -act.effortLimit), act.effortLimit))
                case .velocity:
                    command.setpoint[j] = Float(kp * error)
                case .position:
                    command.setpoint[j] = Float(q + error)
                }
            }
        case .waitSettled(let kd, let speedTolerance, _):
            for j in 0..<robot.joints.count {
                let qd = Double(state.velocity[j])
                if Swift.abs(qd) > speedTolerance { settled = false }
                guard let act = robot.joints[j].actuator, mode == .torque else { continue }
                command.setpoint[j] = Float(min(max(-kd * qd, -act.effortLimit), act.effortLimit))
            }
        case .operatorReady:
            return true
        }
        memory.settledTicks = settled ? memory.settledTicks + 1 : 0
        if memory.settledTicks >= settleTicks {
            memory.settledTicks = 0
            for k in 0..<spec.actions.count { memory.lastAction[k] = 0 }
            return true
        }
        return false
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@inline(__always) func cosine(_ x: Double) -> Double { cos(x) }
@inline(__always) func sine(_ x: Double) -> Double { sin(x) }
@inline(__always) func atan2Double(_ y: Double, _ x: Double) -> Double { atan2(y, x) }
