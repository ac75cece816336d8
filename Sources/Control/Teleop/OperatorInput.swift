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
    /// The action in [-1, 1] the operator holds (per action component; teleop drives component 0).
    public var action: Float = 0
    /// Events since the previous tick (cleared by the loop before each poll).
    public var events: OperatorEvents = []
    /// True once an input device was lost (unplugged, closed); the loop treats it as an e-stop.
    public var deviceLost = false
    public init() {}
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

/// The keyboard layout of teleop:
///
/// | key | effect |
/// |---|---|
/// | `a`, ← | action − `step` (sticky) |
/// | `d`, → | action + `step` |
/// | `s`, space, ↓ | action 0 |
/// | `n` | next episode (keep this one) / start recording now |
/// | `r` | redo: discard this episode (or the one just finished) |
/// | `q` | stop the session |
/// | `x`, Esc | emergency stop (latched) |
public struct KeyboardTeleopMapping: Sendable, Equatable {
    /// Change of the action per key press (the action is clamped to [-1, 1]).
    public var step: Float
    public init(step: Float = 0.25) { self.step = step }

    /// Applies one key. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func apply(_ key: Key, to input: inout OperatorInput) {
        switch key {
        case .left, .character(UInt8(ascii: "a")), .character(UInt8(ascii: "A")):
            input.action = max(-1, input.action - step)
        case .right, .character(UInt8(ascii: "d")), .character(UInt8(ascii: "D")):
            input.action = min(1, input.action + step)
        case .down, .character(UInt8(ascii: "s")), .character(UInt8(ascii: " ")):
            input.action = 0
        case .character(UInt8(ascii: "n")), .character(UInt8(ascii: "N")): input.events.insert(.next)
        case .character(UInt8(ascii: "r")), .character(UInt8(ascii: "R")): input.events.insert(.redo)
        case .character(UInt8(ascii: "q")), .character(UInt8(ascii: "Q")): input.events.insert(.stop)
        case .escape, .character(UInt8(ascii: "x")), .character(UInt8(ascii: "X")): input.events.insert(.emergencyStop)
        default: break
        }
    }

    /// One line for status displays and help.
    public static let summary = "a/← −torque, d/→ +torque, s/space zero, n next, r redo, q stop, x/Esc e-stop"
}

/// The gamepad layout of teleop: one axis drives the action, four buttons give the events.
/// Button numbers are those of the Linux joystick API (`jstest` shows them).
public struct GamepadTeleopMapping: Sendable, Equatable {
    /// Axis driving the action (0: left stick, horizontal).
    public var axis: Int = 0
    /// |axis| below this counts as 0; the rest is rescaled to reach ±1.
    public var deadzone: Float = 0.05
    /// Flip the axis sign.
    public var invert = false
    public var nextButton = 0
    public var redoButton = 1
    public var stopButton = 2
    public var emergencyStopButton = 3
    public init() {}

    /// The action for a raw axis value in [-1, 1]. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func action(axisValue v: Float) -> Float {
        guard v.isFinite else { return 0 }
        let m = abs(v)
        guard m > deadzone else { return 0 }
        let scaled = min(1, (m - deadzone) / (1 - deadzone))
        let signed = v < 0 ? -scaled : scaled
        return invert ? -signed : signed
    }

    /// Applies a gamepad state: `pressed(n)` is true if button n went down since the last poll.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func apply(axisValue: Float, pressed: (Int) -> Bool, to input: inout OperatorInput) {
        input.action = action(axisValue: axisValue)
        if pressed(nextButton) { input.events.insert(.next) }
        if pressed(redoButton) { input.events.insert(.redo) }
        if pressed(stopButton) { input.events.insert(.stop) }
        if pressed(emergencyStopButton) { input.events.insert(.emergencyStop) }
    }
}
