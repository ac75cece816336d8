import Glibc
import SystemSupport

/// A serial device, pseudo-terminal or pipe driven through its file descriptor: raw mode
/// (termios), chosen baud rate, non-blocking reads with a deadline (ppoll).
///
/// Use it for pseudo-terminals (the emulated robot) which libserialport 0.1.1 cannot open,
/// and wherever a plain fd is wanted. Opening takes the device exclusively (TIOCEXCL and an
/// advisory `flock`), so a second opener gets a clear "port is busy" error.
///
/// Thread contract: one thread at a time; see `ByteTransport` for the real-time calls.
public final class TermiosTransport: ByteTransport {
    public let devicePath: String
    /// The file descriptor, or -1 once closed.
    public private(set) var fileDescriptor: Int32
    private let ownsDescriptor: Bool
    private let isTerminal: Bool

    /// Opens `path` read/write, non-blocking, exclusive, in raw mode at `baudRate`.
    /// Set-up call: throws a `HardwareError` naming the device and the fix.
    public init(path: String, baudRate: Int = 115_200) throws {
        let speed = try TermiosTransport.speed(for: baudRate, device: path)
        let fd = Syscall.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw HardwareError.openingSerialPort(path, errno: errno) }
        guard isatty(fd) == 1 else {
            Syscall.close(fd)
            throw HardwareError(
                .notATerminal, device: path, problem: "not a serial port or terminal",
                fix: "pass a serial device such as /dev/ttyACM0 or the pty path the emulator printed")
        }
        do {
            try TermiosTransport.lockExclusively(fd, path: path)
            try TermiosTransport.makeRaw(fd, speed: speed, path: path)
        } catch {
            Syscall.close(fd)
            throw error
        }
        self.devicePath = path
        self.fileDescriptor = fd
        self.ownsDescriptor = true
        self.isTerminal = true
    }

    /// Wraps an fd that is already open (a pipe, a FIFO, one end of a socket pair). Sets
    /// O_NONBLOCK; puts it in raw mode only if it is a terminal. Closes it on `close()`
    /// only if `takingOwnership`.
    public init(fileDescriptor fd: Int32, name: String, takingOwnership: Bool = true) throws {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw HardwareError(
                .ioFailure, device: name, problem: "cannot make fd \(fd) non-blocking: \(errnoText(errno))",
                fix: "pass an open, readable file descriptor")
        }
        let tty = isatty(fd) == 1
        if tty { try TermiosTransport.makeRaw(fd, speed: speed_t(B115200), path: name) }
        self.devicePath = name
        self.fileDescriptor = fd
        self.ownsDescriptor = takingOwnership
        self.isTerminal = tty
    }

    deinit { close() }

    /// Real-time safe: does not allocate, lock or throw.
    public func read(into buffer: UnsafeMutableRawBufferPointer, deadlineNanos: UInt64) -> TransportResult {
        guard fileDescriptor >= 0 else { return TransportResult(count: 0, status: .disconnected) }
        return FileDescriptorIO.read(fileDescriptor, into: buffer, deadlineNanos: deadlineNanos)
    }

    /// Real-time safe: does not allocate, lock or throw.
    public func write(_ bytes: UnsafeRawBufferPointer, deadlineNanos: UInt64) -> TransportResult {
        guard fileDescriptor >= 0 else { return TransportResult(count: 0, status: .disconnected) }
        return FileDescriptorIO.write(fileDescriptor, bytes, deadlineNanos: deadlineNanos)
    }

    /// Real-time safe: does not allocate, lock or throw.
    public func discardInput() {
        guard fileDescriptor >= 0 else { return }
        if isTerminal {
            _ = tcflush(fileDescriptor, TCIFLUSH)
        } else {
            // Pipes have no input queue to flush: drain what is there.
            var scratch: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
                0, 0, 0, 0, 0, 0, 0, 0
            )
            withUnsafeMutableBytes(of: &scratch) { buf in
                while Glibc.read(fileDescriptor, buf.baseAddress, buf.count) > 0 {}
            }
        }
    }

    public func close() {
        guard fileDescriptor >= 0 else { return }
        if ownsDescriptor { Syscall.close(fileDescriptor) }
        fileDescriptor = -1
    }

    // MARK: Set-up helpers

    /// Takes the device for this process: an advisory `flock` (honoured by other robotctl
    /// instances and most serial tools, root included) and TIOCEXCL (refuses further
    /// `open`s by non-root processes).
    static func lockExclusively(_ fd: Int32, path: String) throws {
        if Syscall.retryingInterrupt({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            throw HardwareError.openingSerialPort(path, errno: errno == EWOULDBLOCK ? EBUSY : errno)
        }
        _ = ioctl(fd, UInt(TIOCEXCL))
    }

    /// Raw 8N1, no flow control. VMIN 1 / VTIME 0 with O_NONBLOCK: an empty read fails with
    /// EAGAIN, and a read of 0 bytes means the other side hung up (with VMIN 0 a tty
    /// returns 0 for "no data", which would be indistinguishable).
    static func makeRaw(_ fd: Int32, speed: speed_t, path: String) throws {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else {
            throw HardwareError(
                .notATerminal, device: path, problem: "cannot read terminal settings: \(errnoText(errno))",
                fix: "pass a serial device or pseudo-terminal")
        }
        cfmakeraw(&t)
        t.c_cflag |= tcflag_t(CLOCAL | CREAD)
        t.c_cflag &= ~(tcflag_t(CRTSCTS) | tcflag_t(CSTOPB))
        t.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        cfsetispeed(&t, speed)
        cfsetospeed(&t, speed)
        guard tcsetattr(fd, TCSANOW, &t) == 0 else {
            throw HardwareError(
                .ioFailure, device: path, problem: "cannot set raw mode: \(errnoText(errno))",
                fix: "check that the device supports the baud rate")
        }
        _ = tcflush(fd, TCIOFLUSH)
    }

    /// The termios speed constant for a baud rate.
    static func speed(for baud: Int, device: String) throws -> speed_t {
        let table: [Int: Int32] = [
            9600: B9600, 19200: B19200, 38400: B38400, 57600: B57600, 115_200: B115200,
            230_400: B230400, 460_800: B460800, 500_000: B500000, 576_000: B576000,
            921_600: B921600, 1_000_000: B1000000, 1_500_000: B1500000, 2_000_000: B2000000,
            3_000_000: B3000000, 4_000_000: B4000000,
        ]
        guard let s = table[baud] else {
            let known = table.keys.sorted().map(String.init).joined(separator: ", ")
            throw HardwareError(
                .invalidArgument, device: device, problem: "unsupported baud rate \(baud)",
                fix: "use one of \(known)")
        }
        return speed_t(s)
    }
}
