import Control
import Glibc
import SystemSupport

/// The latest state of a joystick, updated in place by `JoystickReader.poll`.
public struct JoystickState: Sendable {
    /// The most axes and buttons tracked.
    public static let maxAxes = 16
    public static let maxButtons = 64
    /// Axis positions scaled to -1...1.
    public var axes = InlineArray<16, Float>(repeating: 0)
    /// Bit n set while button n is held.
    public var buttonsHeld: UInt64 = 0
    /// Bit n set if button n went down during the last `poll`.
    public var buttonsPressed: UInt64 = 0
    /// Events consumed since the reader was created.
    public var eventCount = 0
    /// Events whose axis/button number was beyond the tracked range (ignored).
    public var ignoredEventCount = 0

    public init() {}

    /// True while button `n` is held.
    public func isHeld(_ n: Int) -> Bool { n < 64 && buttonsHeld & (1 << UInt64(n)) != 0 }
    /// True if button `n` went down in the last poll.
    public func wasPressed(_ n: Int) -> Bool { n < 64 && buttonsPressed & (1 << UInt64(n)) != 0 }

    /// Applies one event. Real-time safe: does not allocate, lock or throw.
    public mutating func apply(_ e: JoystickEvent) {
        eventCount &+= 1
        let n = Int(e.number)
        if e.isAxis {
            guard n < JoystickState.maxAxes else { ignoredEventCount &+= 1; return }
            axes[n] = max(-1, Float(e.value) / 32767)
        } else if e.isButton {
            guard n < JoystickState.maxButtons else { ignoredEventCount &+= 1; return }
            let bit: UInt64 = 1 << UInt64(n)
            if e.value != 0 {
                if buttonsHeld & bit == 0 && !e.isInitialState { buttonsPressed |= bit }
                buttonsHeld |= bit
            } else {
                buttonsHeld &= ~bit
            }
        } else {
            ignoredEventCount &+= 1
        }
    }
}

/// Reads Linux joystick events (/dev/input/jsN) from any file descriptor: the device, a FIFO
/// or a pipe (tests). Events split across reads are reassembled.
///
/// As an `OperatorInputSource` it drives the operator input through `mapping`; an unplugged
/// device (or a closed FIFO) counts as lost (e-stop).
///
/// Thread contract: one thread (the control thread while a loop polls it); both `poll`s are
/// real-time safe: they do not allocate, lock or throw (one preallocated 256-byte buffer).
public final class JoystickReader: OperatorInputSource {
    public let devicePath: String
    /// How the axis and buttons become operator input when the loop polls this reader.
    public let mapping: GamepadTeleopMapping
    private var operatorState = JoystickState()
    private var fd: Int32
    private let ownsDescriptor: Bool
    private let buffer: UnsafeMutableRawPointer
    private static let capacity = 32 * JoystickEvent.byteCount
    private var partial = 0

    /// Opens a joystick device (non-blocking). Set-up call; throws a one-line error naming
    /// the device and the fix.
    public convenience init(path: String, mapping: GamepadTeleopMapping = GamepadTeleopMapping()) throws {
        let fd = Syscall.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw JoystickReader.openError(path, errno: errno) }
        self.init(fileDescriptor: fd, name: path, takingOwnership: true, mapping: mapping)
    }

    /// Reads from an open fd (made non-blocking). Closes it on deinit if `takingOwnership`.
    public init(fileDescriptor: Int32, name: String, takingOwnership: Bool, mapping: GamepadTeleopMapping = GamepadTeleopMapping()) {
        fd = fileDescriptor
        self.mapping = mapping
        devicePath = name
        ownsDescriptor = takingOwnership
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: JoystickReader.capacity, alignment: 8)
        // Set-up: run the mapping once, so that what it needs on first use (a debug build's
        // generic metadata) is made here and not in the control thread's first poll.
        var scratch = OperatorInput()
        apply(operatorState, to: &scratch)
    }

    deinit {
        if ownsDescriptor && fd >= 0 { Syscall.close(fd) }
        buffer.deallocate()
    }

    /// What a poll found.
    public enum PollStatus: Sendable, Equatable {
        /// `n` events were applied (0 when nothing was pending).
        case events(Int)
        /// The device was unplugged or the writer closed the FIFO.
        case disconnected
    }

    /// Applies every pending event to `state` without blocking; clears and refills
    /// `state.buttonsPressed`. Real-time safe: does not allocate, lock or throw.
    public func poll(into state: inout JoystickState) -> PollStatus {
        state.buttonsPressed = 0
        var applied = 0
        while true {
            let n = Glibc.read(fd, buffer + partial, JoystickReader.capacity - partial)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return .events(applied) }
                return .disconnected
            }
            if n == 0 { return applied > 0 ? .events(applied) : .disconnected }
            let total = partial + n
            let whole = total / JoystickEvent.byteCount * JoystickEvent.byteCount
            var offset = 0
            while offset < whole {
                state.apply(JoystickEvent(bytes: buffer + offset))
                applied += 1
                offset += JoystickEvent.byteCount
            }
            partial = total - whole
            if partial > 0 { buffer.copyMemory(from: buffer + whole, byteCount: partial) }
        }
    }

    /// Applies pending events to `input` through `mapping` (the axis sets the action once any
    /// event arrived; pressed buttons add events); an unplugged device sets `deviceLost`.
    /// Real-time safe: does not allocate, lock or throw.
    public func poll(into input: inout OperatorInput) {
        switch poll(into: &operatorState) {
        case .disconnected:
            input.deviceLost = true
        case .events(let n):
            guard n > 0 else { return }
            apply(operatorState, to: &input)
        }
    }

    /// Every binding's axis into its action component, pressed buttons into events.
    /// Real-time safe: does not allocate, lock or throw.
    private func apply(_ s: JoystickState, to input: inout OperatorInput) {
        for i in 0..<mapping.bindings.count {
            let b = mapping.bindings[i]
            let v = b.axis >= 0 && b.axis < JoystickState.maxAxes ? s.axes[b.axis] : 0
            input.actions[b.component] = mapping.action(axisValue: v, scale: b.scale)
        }
        mapping.applyButtons(pressed: { s.wasPressed($0) }, to: &input)
    }

    /// Waits up to `timeoutNanos` for the device to become readable. Returns false on
    /// timeout. Set-up helper (used by command-line tools between polls).
    public func waitReadable(timeoutNanos: Int64) -> Bool {
        FileDescriptorIO.wait(
            fd, events: Int16(POLLIN), deadlineNanos: monotonicNanos() &+ UInt64(max(0, timeoutNanos))) > 0
    }

    static func openError(_ path: String, errno code: Int32) -> HardwareError {
        switch code {
        case ENOENT, ENODEV, ENXIO:
            return HardwareError(
                .noSuchDevice, device: path, problem: "no such joystick",
                fix: "plug in the gamepad and check `ls /dev/input/js*` (module joydev), or use the keyboard",
                errno: code)
        case EACCES, EPERM:
            return HardwareError(
                .permissionDenied, device: path, problem: "permission denied",
                fix: "add your user to the input group (`sudo usermod -aG input $USER`) and log in again",
                errno: code)
        default:
            return HardwareError(
                .ioFailure, device: path, problem: "cannot open joystick: \(errnoText(code))",
                fix: "check the device with `ls -l /dev/input/js*`", errno: code)
        }
    }
}
