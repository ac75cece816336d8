/// What the operator asked for during one teleop tick: edge-triggered events.
public struct OperatorEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// End the episode being recorded and keep it; during the reset phase, start recording now.
    public static let next = OperatorEvents(rawValue: 1 << 0)
    /// Discard the episode being recorded (or, during the reset phase, the one just finished)
    /// and record it again after a reset.
    public static let redo = OperatorEvents(rawValue: 1 << 1)
    /// End the session: the episode in progress is kept, then the orderly stop behaviour.
    public static let stop = OperatorEvents(rawValue: 1 << 2)
    /// Emergency stop: latched, the episode in progress is aborted.
    public static let emergencyStop = OperatorEvents(rawValue: 1 << 3)
}

/// The operator's command as the teleop loop sees it: a level (the action, sticky between
/// ticks) and the events of this tick. Value type, never allocates.
public struct OperatorInput: Sendable, Equatable {
    /// The action in [-1, 1] the operator holds, per action component (up to `maxJoints`).
    public var actions: JointValues = zeroJoints()
    /// Action component 0 (a one-joint task's whole action).
    public var action: Float {
        get { actions[0] }
        set { actions[0] = newValue }
    }
    /// Events since the previous tick (cleared by the loop before each poll).
    public var events: OperatorEvents = []
    /// True once an input device was lost (unplugged, closed); the loop treats it as an e-stop.
    public var deviceLost = false
    public init() {}

    public static func == (a: OperatorInput, b: OperatorInput) -> Bool {
        guard a.events == b.events, a.deviceLost == b.deviceLost else { return false }
        for i in 0..<maxJoints where a.actions[i] != b.actions[i] { return false }
        return true
    }
}

/// A source of operator input polled by the control loop's `OperatorSource` once per tick (a
/// keyboard, a gamepad, a script in tests).
///
/// Thread contract: `poll` is called only from the control thread and is real-time safe:
/// it does not allocate, lock or throw (it may make one non-blocking read).
public protocol OperatorInputSource: AnyObject {
    /// Applies pending input to `input` (updates `action` when this source changed it, adds
    /// events). Real-time safe: does not allocate, lock or throw.
    func poll(into input: inout OperatorInput)
}

/// A key as the keyboard reader (Hardware's `KeyboardReader`) decodes it and the teleop
/// mapping applies it.
public enum Key: Sendable, Equatable {
    case character(UInt8)
    case up, down, left, right
    case enter, escape, backspace, tab
}

/// One joint's keys: `decrease` and `increase` move action component `component` by `step`
/// per press (sticky, clamped to [-1, 1]).
public struct TeleopKeyBinding: Sendable, Equatable, Hashable {
    public var component: Int
    public var decrease: UInt8
    public var increase: UInt8
    public var step: Float
    public init(component: Int, decrease: UInt8, increase: UInt8, step: Float) {
        self.component = component
        self.decrease = decrease
        self.increase = increase
        self.step = step
    }
}

/// The keyboard layout of teleop:
///
/// | key | effect |
/// |---|---|
/// | each binding's pair (default `a`/`d`) | that joint's action − / + its `step` (sticky) |
/// | ←, → | the first binding's − / + |
/// | `s`, space, ↓ | every action 0 |
/// | `n` | next episode (keep this one) / start recording now |
/// | `r` | redo: discard this episode (or the one just finished) |
/// | `q` | stop the session |
/// | `x`, Esc | emergency stop (latched) |
///
/// Letters match in either case.
public struct KeyboardTeleopMapping: Sendable, Equatable {
    /// The keys of every driven joint (at most `maxJoints`).
    public var bindings: [TeleopKeyBinding]
    /// The keys the events and the zero take; a binding may not use them.
    public static let reservedKeys: [UInt8] = Array("nrqxs ".utf8)

    /// The one-joint layout: `a`/`d` (and ←/→) by `step` on action component 0.
    public init(step: Float = 0.25) {
        bindings = [TeleopKeyBinding(component: 0, decrease: UInt8(ascii: "a"), increase: UInt8(ascii: "d"), step: step)]
    }

    /// A layout of several joints (checked by the task file's loader: distinct, unreserved keys).
    public init(bindings: [TeleopKeyBinding]) {
        precondition(!bindings.isEmpty && bindings.count <= maxJoints, "1...\(maxJoints) key bindings")
        self.bindings = bindings
    }

    /// Change of the first binding's action per key press.
    public var step: Float { bindings[0].step }

    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

    /// Applies one key. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func apply(_ key: Key, to input: inout OperatorInput) {
        switch key {
        case .left: nudge(bindings[0], by: -1, &input)
        case .right: nudge(bindings[0], by: 1, &input)
        case .down: input.actions = zeroJoints()
        case .escape: input.events.insert(.emergencyStop)
        case .character(let raw):
            let c = Self.lower(raw)
            for i in 0..<bindings.count {
                if c == bindings[i].decrease { return nudge(bindings[i], by: -1, &input) }
                if c == bindings[i].increase { return nudge(bindings[i], by: 1, &input) }
            }
            switch c {
            case UInt8(ascii: "s"), UInt8(ascii: " "): input.actions = zeroJoints()
            case UInt8(ascii: "n"): input.events.insert(.next)
            case UInt8(ascii: "r"): input.events.insert(.redo)
            case UInt8(ascii: "q"): input.events.insert(.stop)
            case UInt8(ascii: "x"): input.events.insert(.emergencyStop)
            default: break
            }
        default: break
        }
    }

    @inline(__always)
    private func nudge(_ b: TeleopKeyBinding, by sign: Float, _ input: inout OperatorInput) {
        input.actions[b.component] = min(1, max(-1, input.actions[b.component] + sign * b.step))
    }

    /// One line for status displays and help, e.g. "a/d elbow, s/space zero, …" with `names`
    /// naming each binding's joint (the one-joint default: "a/← −torque, d/→ +torque, …").
    public func summary(names: [String]? = nil) -> String {
        guard let names, names.count == bindings.count else { return Self.summary }
        let keys = zip(bindings, names).enumerated().map { i, p in
            "\(Character(Unicode.Scalar(p.0.decrease)))\(i == 0 ? "/←" : "")−\(Character(Unicode.Scalar(p.0.increase)))\(i == 0 ? "/→" : "")+ \(p.1)"
        }
        return keys.joined(separator: ", ") + ", s/space zero, n next, r redo, q stop, x/Esc e-stop"
    }

    /// One line for status displays and help (the one-joint layout).
    public static let summary = "a/← −torque, d/→ +torque, s/space zero, n next, r redo, q stop, x/Esc e-stop"
}

/// One joint's gamepad axis: action component `component` = `scale` × the axis (after the
/// deadzone), clamped to [-1, 1]; a negative scale inverts the axis.
public struct TeleopAxisBinding: Sendable, Equatable, Hashable {
    public var component: Int
    public var axis: Int
    public var scale: Float
    public init(component: Int, axis: Int, scale: Float = 1) {
        self.component = component
        self.axis = axis
        self.scale = scale
    }
}

/// The gamepad layout of teleop: one axis per driven joint, four buttons give the events.
/// Axis and button numbers are those of the Linux joystick API (`jstest` shows them).
public struct GamepadTeleopMapping: Sendable, Equatable {
    /// The axes of every driven joint (default: axis 0, the left stick's horizontal, drives
    /// action component 0).
    public var bindings = [TeleopAxisBinding(component: 0, axis: 0)]
    /// |axis| below this counts as 0; the rest is rescaled to reach ±1.
    public var deadzone: Float = 0.05
    public var nextButton = 0
    public var redoButton = 1
    public var stopButton = 2
    public var emergencyStopButton = 3
    public init() {}
    public init(bindings: [TeleopAxisBinding]) {
        precondition(!bindings.isEmpty && bindings.count <= maxJoints, "1...\(maxJoints) axis bindings")
        self.bindings = bindings
    }

    /// The first binding's axis.
    public var axis: Int {
        get { bindings[0].axis }
        set { bindings[0].axis = newValue }
    }
    /// Flip the sign of the first binding's axis.
    public var invert: Bool {
        get { bindings[0].scale < 0 }
        set { bindings[0].scale = newValue == (bindings[0].scale < 0) ? bindings[0].scale : -bindings[0].scale }
    }

    /// The first binding's action for a raw axis value in [-1, 1]. Real-time safe.
    @inline(__always)
    public func action(axisValue v: Float) -> Float { action(axisValue: v, scale: bindings[0].scale) }

    /// `scale` × the deadzoned axis value, clamped to [-1, 1]. Real-time safe: does not
    /// allocate, lock or throw.
    @inline(__always)
    public func action(axisValue v: Float, scale: Float) -> Float {
        guard v.isFinite else { return 0 }
        let m = abs(v)
        guard m > deadzone else { return 0 }
        let scaled = min(1, (m - deadzone) / (1 - deadzone))
        let signed = v < 0 ? -scaled : scaled
        return min(1, max(-1, signed * scale))
    }

    /// Applies a one-axis gamepad state (the first binding). Real-time safe.
    @inline(__always)
    public func apply(axisValue: Float, pressed: (Int) -> Bool, to input: inout OperatorInput) {
        input.actions[bindings[0].component] = action(axisValue: axisValue)
        applyButtons(pressed: pressed, to: &input)
    }

    /// Applies a gamepad state: `axis(n)` is axis n's value in [-1, 1], `pressed(n)` is true if
    /// button n went down since the last poll. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func apply(axis: (Int) -> Float, pressed: (Int) -> Bool, to input: inout OperatorInput) {
        for i in 0..<bindings.count { input.actions[bindings[i].component] = action(axisValue: axis(bindings[i].axis), scale: bindings[i].scale) }
        applyButtons(pressed: pressed, to: &input)
    }

    /// Adds the events of the pressed buttons. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func applyButtons(pressed: (Int) -> Bool, to input: inout OperatorInput) {
        if pressed(nextButton) { input.events.insert(.next) }
        if pressed(redoButton) { input.events.insert(.redo) }
        if pressed(stopButton) { input.events.insert(.stop) }
        if pressed(emergencyStopButton) { input.events.insert(.emergencyStop) }
    }
}
