import H2OTrainer
import Hardware

/// The terminal as a teleop input: keys decoded by `KeyboardReader`, mapped by
/// `KeyboardTeleopMapping`. A closed terminal counts as a lost device (e-stop).
///
/// Thread contract: `poll` on the control thread; real-time safe (one non-blocking read).
final class KeyboardOperator: OperatorInputSource {
    let reader: KeyboardReader
    let mapping: KeyboardTeleopMapping

    init(reader: KeyboardReader, mapping: KeyboardTeleopMapping) {
        self.reader = reader
        self.mapping = mapping
    }

    func poll(into input: inout OperatorInput) {
        while let key = reader.nextKey() { mapping.apply(Self.operatorKey(key), to: &input) }
        if reader.isClosed { input.deviceLost = true }
    }

    @inline(__always)
    static func operatorKey(_ key: Key) -> OperatorKey {
        switch key {
        case .character(let c): .character(c)
        case .left: .left
        case .right: .right
        case .up: .up
        case .down: .down
        case .escape: .escape
        case .enter: .enter
        case .backspace, .tab: .other
        }
    }
}

/// A Linux joystick (or a FIFO of `js_event`s) as a teleop input, mapped by
/// `GamepadTeleopMapping`. An unplugged device counts as lost (e-stop).
///
/// Thread contract: `poll` on the control thread; real-time safe (non-blocking reads).
final class GamepadOperator: OperatorInputSource {
    let reader: JoystickReader
    let mapping: GamepadTeleopMapping
    private var state = JoystickState()

    init(reader: JoystickReader, mapping: GamepadTeleopMapping) {
        self.reader = reader
        self.mapping = mapping
    }

    func poll(into input: inout OperatorInput) {
        switch reader.poll(into: &state) {
        case .disconnected:
            input.deviceLost = true
        case .events(let n):
            guard n > 0 else { return }
            let axis = mapping.axis < JoystickState.maxAxes ? state.axes[mapping.axis] : 0
            let s = state
            mapping.apply(axisValue: axis, pressed: { s.wasPressed($0) }, to: &input)
        }
    }
}
