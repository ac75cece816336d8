import Glibc

/// An error a user can hit while setting up hardware. Its description is one line that
/// names the device, says what went wrong and what to do.
///
/// Thrown only by set-up calls (open, configure, enumerate); real-time calls return a
/// status instead.
public struct HardwareError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of problem, for code that reacts to it.
    public enum Kind: String, Sendable {
        case noSuchDevice
        case busy
        case permissionDenied
        case noGPIOChip
        case lineBusy
        case noSuchLine
        case protocolMismatch
        case noResponse
        case notATerminal
        case invalidArgument
        case ioFailure
    }

    public var kind: Kind
    /// The device or file, e.g. "/dev/ttyACM0" or "/dev/gpiochip0 line 17".
    public var device: String
    /// What went wrong, e.g. "port is busy".
    public var problem: String
    /// What to do about it.
    public var fix: String
    /// The errno behind it, when there is one.
    public var errno: Int32?

    public init(_ kind: Kind, device: String, problem: String, fix: String, errno: Int32? = nil) {
        self.kind = kind
        self.device = device
        self.problem = problem
        self.fix = fix
        self.errno = errno
    }

    public var description: String { "\(device): \(problem); \(fix)" }
}

extension HardwareError {
    /// Maps an errno from opening a serial device (or pseudo-terminal) to a user-facing error.
    public static func openingSerialPort(_ device: String, errno code: Int32) -> HardwareError {
        switch code {
        case ENOENT, ENODEV, ENXIO:
            return HardwareError(
                .noSuchDevice, device: device, problem: "no such serial port",
                fix: "check the cable and run `robotctl ports` to list the ports that exist",
                errno: code)
        case EBUSY, EWOULDBLOCK:
            return HardwareError(
                .busy, device: device, problem: "port is busy (opened by another program)",
                fix: "close the other program (find it with `fuser \(device)`) and retry",
                errno: code)
        case EACCES, EPERM:
            return HardwareError(
                .permissionDenied, device: device, problem: "permission denied",
                fix: "add your user to the dialout group (`sudo usermod -aG dialout $USER`) and log in again",
                errno: code)
        default:
            return HardwareError(
                .ioFailure, device: device, problem: "cannot open: \(errnoText(code))",
                fix: "check the device with `robotctl ports` and `dmesg`", errno: code)
        }
    }
}

/// `strerror` text for an errno, for messages. Set-up only (allocates).
func errnoText(_ code: Int32) -> String {
    // The XSI strerror_r is what Swift imports: fills the buffer, returns 0 on success.
    var buffer = [CChar](repeating: 0, count: 256)
    let ok = strerror_r(code, &buffer, buffer.count) == 0
    let text =
        ok
        ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "error"
    return "\(text) (errno \(code))"
}
