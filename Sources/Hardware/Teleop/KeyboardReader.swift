internal import CHardwareShims
import Control
import Glibc
import SystemSupport

/// Puts a terminal in raw mode (no line buffering, no echo) and restores it on `restore()`,
/// on deinit, and on SIGINT, SIGTERM, SIGHUP and SIGQUIT (signal-safe C handler). Ctrl-C
/// still raises SIGINT. One at a time per process.
///
/// Thread contract: set-up object.
public final class RawTerminalMode {
    public let fileDescriptor: Int32
    private var active = true

    /// Enters raw mode on `fd` (default: standard input). Throws if `fd` is not a terminal.
    public init(fileDescriptor fd: Int32 = STDIN_FILENO, name: String = "standard input") throws {
        guard isatty(fd) == 1 else {
            throw HardwareError(
                .notATerminal, device: name, problem: "not a terminal, cannot read single keys",
                fix: "run robotctl in an interactive terminal (not through a pipe), or use a gamepad")
        }
        let r = hwshim_terminal_save_and_guard(fd)
        guard r == 0 else {
            throw HardwareError(
                .ioFailure, device: name, problem: "cannot read terminal settings: \(errnoText(-r))",
                fix: "run robotctl in an interactive terminal")
        }
        var t = termios()
        tcgetattr(fd, &t)
        t.c_lflag &= ~(tcflag_t(ICANON) | tcflag_t(ECHO) | tcflag_t(IEXTEN))
        t.c_iflag &= ~(tcflag_t(IXON) | tcflag_t(ICRNL))
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1  // a read after poll() returns what is there, never 0 for "none"
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(fd, TCSANOW, &t) == 0 else {
            let e = errno
            _ = hwshim_terminal_restore()
            throw HardwareError(
                .ioFailure, device: name, problem: "cannot enter raw mode: \(errnoText(e))",
                fix: "run robotctl in an interactive terminal")
        }
        fileDescriptor = fd
    }

    /// Restores the saved settings. Safe to call twice.
    public func restore() {
        guard active else { return }
        active = false
        _ = hwshim_terminal_restore()
    }

    deinit { restore() }
}

/// Decodes key presses (bytes and ANSI arrow sequences, as Control's `Key`) from any fd: a
/// raw-mode terminal or a pseudo-terminal in tests. As an `OperatorInputSource` it applies
/// every pending key through `mapping`; a closed terminal counts as a lost device (e-stop).
///
/// Thread contract: one thread (the control thread while a loop polls it); `nextKey` and
/// `poll` are real-time safe: they do not allocate, lock or throw (a preallocated 64-byte
/// buffer).
public final class KeyboardReader: OperatorInputSource {
    /// How keys become operator input when the loop polls this reader.
    public let mapping: KeyboardTeleopMapping
    private let fd: Int32
    private let buffer: UnsafeMutablePointer<UInt8>
    private static let capacity = 64
    private var start = 0
    private var end = 0
    /// True once the fd reported end of file (terminal closed).
    public private(set) var isClosed = false

    /// Reads from `fd`, which is left as it is (no O_NONBLOCK on the shell's terminal):
    /// it reads only after `poll` says there is input. Does not take ownership.
    public init(fileDescriptor: Int32, mapping: KeyboardTeleopMapping = KeyboardTeleopMapping()) {
        fd = fileDescriptor
        self.mapping = mapping
        buffer = .allocate(capacity: KeyboardReader.capacity)
        // Set-up: run the mapping once (a debug build's generic metadata is made here, not in
        // the control thread's first poll); key 0 changes nothing.
        var scratch = OperatorInput()
        mapping.apply(.character(0), to: &scratch)
        mapping.apply(.left, to: &scratch)
    }

    deinit { buffer.deallocate() }

    /// The next pending key, or nil when none is pending. Real-time safe: does not
    /// allocate, lock or throw.
    public func nextKey() -> Key? {
        if end - start < 3 { fill() }
        guard start < end else { return nil }
        let b = buffer[start]
        start += 1
        switch b {
        case 0x1B:
            // ESC [ A..D: arrows. A lone ESC (nothing after it yet) is the Escape key.
            if end - start >= 2 && buffer[start] == UInt8(ascii: "[") {
                let code = buffer[start + 1]
                let arrow: Key? =
                    switch code {
                    case UInt8(ascii: "A"): .up
                    case UInt8(ascii: "B"): .down
                    case UInt8(ascii: "C"): .right
                    case UInt8(ascii: "D"): .left
                    default: nil
                    }
                if let arrow {
                    start += 2
                    return arrow
                }
            }
            return .escape
        case 0x0D, 0x0A: return .enter
        case 0x7F, 0x08: return .backspace
        case 0x09: return .tab
        default: return .character(b)
        }
    }

    /// Applies every pending key to `input`; a closed terminal sets `deviceLost`.
    /// Real-time safe: does not allocate, lock or throw.
    public func poll(into input: inout OperatorInput) {
        while let key = nextKey() { mapping.apply(key, to: &input) }
        if isClosed { input.deviceLost = true }
    }

    /// Waits up to `timeoutNanos` for input. Returns false on timeout. Set-up helper.
    public func waitReadable(timeoutNanos: Int64) -> Bool {
        if start < end { return true }
        return FileDescriptorIO.wait(
            fd, events: Int16(POLLIN), deadlineNanos: monotonicNanos() &+ UInt64(max(0, timeoutNanos))) > 0
    }

    private func fill() {
        if start > 0 {
            let n = end - start
            if n > 0 { buffer.update(from: buffer + start, count: n) }
            start = 0
            end = n
        }
        while end < KeyboardReader.capacity {
            let ready = hwshim_poll_ns(fd, Int16(POLLIN), 0)
            if ready <= 0 { return }
            if ready & Int32(POLLIN) == 0 {
                isClosed = true
                return
            }
            let n = Glibc.read(fd, buffer + end, KeyboardReader.capacity - end)
            if n > 0 {
                end += n
                continue
            }
            if n == 0 { isClosed = true }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EIO { isClosed = true }
            return
        }
    }
}
