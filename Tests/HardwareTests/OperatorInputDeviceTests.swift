import Control
import Foundation
import Glibc
import TestSupport
import Testing

@testable import Hardware

/// The keyboard and joystick readers are Control's `OperatorInputSource` directly: what the
/// teleop loop's `OperatorSource` polls every tick.
@Suite("Keyboard and joystick readers as operator inputs")
struct OperatorInputDeviceTests {
    @Test("keys become the operator's action and events through the keyboard mapping; a closed terminal is a lost device")
    func keyboardAsOperatorInput() throws {
        let pty = try PseudoTerminal()
        let fd = Glibc.open(pty.slavePath, O_RDWR | O_NOCTTY)
        let raw = try RawTerminalMode(fileDescriptor: fd, name: pty.slavePath)
        defer { raw.restore() }
        let reader = KeyboardReader(fileDescriptor: fd, mapping: KeyboardTeleopMapping(step: 0.25))
        let source: any OperatorInputSource = reader
        let keys = Array("ddan".utf8) + [0x1B, 0x5B, 0x43]  // d d a n →
        _ = keys.withUnsafeBytes { Glibc.write(pty.masterFileDescriptor, $0.baseAddress, $0.count) }
        var input = OperatorInput()
        let deadline = Date().addingTimeInterval(2)
        while !(input.events.contains(.next) && input.action == 0.5) && Date() < deadline {
            source.poll(into: &input)
            usleep(1_000)
        }
        #expect(input.action == 0.5, "0.25 + 0.25 − 0.25 + 0.25")
        #expect(input.events == .next && !input.deviceLost)
        Glibc.close(fd)
        input.events = []
        source.poll(into: &input)
        #expect(input.deviceLost)
    }

    @Test("joystick events drive the action through the gamepad mapping, buttons give events, allocation-free; a closed FIFO is a lost device")
    func joystickAsOperatorInput() throws {
        var fds: [Int32] = [0, 0]
        #expect(Glibc.pipe(&fds) == 0)
        var mapping = GamepadTeleopMapping()
        mapping.axis = 1
        let reader = JoystickReader(fileDescriptor: fds[0], name: "pipe", takingOwnership: true, mapping: mapping)
        let axis = JoystickEvent(timeMillis: 1, value: -16384, type: 0x02, number: 1).bytes
        let redo = JoystickEvent(timeMillis: 2, value: 1, type: 0x01, number: 1).bytes
        let release = JoystickEvent(timeMillis: 3, value: 0, type: 0x01, number: 1).bytes
        var input = OperatorInput()
        let n = allocationsOnThisThread {
            for _ in 0..<500 {
                _ = axis.withUnsafeBytes { Glibc.write(fds[1], $0.baseAddress, 8) }
                _ = redo.withUnsafeBytes { Glibc.write(fds[1], $0.baseAddress, 8) }
                _ = release.withUnsafeBytes { Glibc.write(fds[1], $0.baseAddress, 8) }
                input.events = []
                reader.poll(into: &input)
            }
        }
        #expect(n == 0)
        #expect(input.action == mapping.action(axisValue: -16384.0 / 32767))
        #expect(input.events == .redo && !input.deviceLost)
        Glibc.close(fds[1])
        reader.poll(into: &input)
        #expect(input.deviceLost)
    }
}
