internal import CHardwareShims
internal import CSerialPort
import Glibc
import SystemSupport

/// A real serial port (USB CDC-ACM, FTDI, on-board UART) opened and configured through
/// libserialport: 8N1, no flow control, the given baud rate, taken exclusively.
///
/// libserialport 0.1.1 cannot open pseudo-terminals (it looks the port up under
/// /sys/class/tty): use `TermiosTransport` for those, or `openSerialTransport(path:)`, which
/// picks the right one.
///
/// Thread contract: one thread at a time; see `ByteTransport` for the real-time calls.
public final class SerialPortTransport: ByteTransport {
    public let devicePath: String
    private var port: OpaquePointer?
    private var fd: Int32 = -1

    /// Opens `path` through libserialport. Set-up call: throws a `HardwareError` naming the
    /// port and the fix.
    public init(path: String, baudRate: Int = 115_200) throws {
        devicePath = path
        var p: OpaquePointer?
        if sp_get_port_by_name(path, &p) != SP_OK || p == nil {
            let code = sp_last_error_code()
            if PseudoTerminalPath.isPseudoTerminal(path) {
                throw HardwareError(
                    .invalidArgument, device: path,
                    problem: "libserialport cannot open pseudo-terminals",
                    fix: "open it with the termios transport (robotctl does this for /dev/pts/* paths)")
            }
            throw HardwareError.openingSerialPort(path, errno: code == 0 ? ENOENT : code)
        }
        port = p
        do {
            try check(sp_open(p, SP_MODE_READ_WRITE), "open")
            try check(sp_set_baudrate(p, Int32(baudRate)), "set baud rate \(baudRate)")
            try check(sp_set_bits(p, 8), "set 8 data bits")
            try check(sp_set_parity(p, SP_PARITY_NONE), "set no parity")
            try check(sp_set_stopbits(p, 1), "set 1 stop bit")
            try check(sp_set_flowcontrol(p, SP_FLOWCONTROL_NONE), "disable flow control")
            var handle: Int32 = -1
            try check(sp_get_port_handle(p, &handle), "get the port's file descriptor")
            fd = handle
            try TermiosTransport.lockExclusively(handle, path: path)
            _ = sp_flush(p, SP_BUF_BOTH)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    private func check(_ r: sp_return, _ what: String) throws {
        guard r != SP_OK else { return }
        let code = sp_last_error_code()
        if r == SP_ERR_FAIL && what == "open" {
            throw HardwareError.openingSerialPort(devicePath, errno: code)
        }
        throw HardwareError(
            .ioFailure, device: devicePath,
            problem:
                "libserialport could not \(what): \(r == SP_ERR_FAIL ? errnoText(code) : "error \(r.rawValue)")",
            fix: "check the port with `robotctl ports` and the baud rate the firmware uses")
    }

    /// Real-time safe: does not allocate, lock or throw.
    public func read(into buffer: UnsafeMutableRawBufferPointer, deadlineNanos: UInt64) -> TransportResult {
        guard let port, let base = buffer.baseAddress else {
            return TransportResult(count: 0, status: port == nil ? .disconnected : .ok)
        }
        while true {
            let n = sp_nonblocking_read(port, base, buffer.count).rawValue
            if n > 0 { return TransportResult(count: Int(n), status: .ok) }
            if n < 0 { return FileDescriptorIO.failure(sp_last_error_code()) }
            // 0: nothing yet, or end of file, which poll reports as a hang-up.
            if monotonicNanos() >= deadlineNanos { return TransportResult(count: 0, status: .timeout) }
            let revents = FileDescriptorIO.wait(fd, events: Int16(POLLIN), deadlineNanos: deadlineNanos)
            if revents == 0 { return TransportResult(count: 0, status: .timeout) }
            if revents < 0 { return FileDescriptorIO.failure(-revents) }
            if revents & Int32(POLLHUP | POLLERR | POLLNVAL) != 0 || revents & Int32(POLLIN) == 0 {
                return TransportResult(count: 0, status: .disconnected)
            }
        }
    }

    /// Real-time safe: does not allocate, lock or throw.
    public func write(_ bytes: UnsafeRawBufferPointer, deadlineNanos: UInt64) -> TransportResult {
        guard let port, let base = bytes.baseAddress else {
            return TransportResult(count: 0, status: port == nil ? .disconnected : .ok)
        }
        var done = 0
        while done < bytes.count {
            let n = sp_nonblocking_write(port, base + done, bytes.count - done).rawValue
            if n < 0 {
                var r = FileDescriptorIO.failure(sp_last_error_code())
                r.count = done
                return r
            }
            done += Int(n)
            if done == bytes.count { break }
            let revents = FileDescriptorIO.wait(fd, events: Int16(POLLOUT), deadlineNanos: deadlineNanos)
            if revents == 0 { return TransportResult(count: done, status: .timeout) }
            if revents < 0 || revents & Int32(POLLOUT) == 0 {
                return TransportResult(count: done, status: .disconnected)
            }
        }
        return TransportResult(count: done, status: .ok)
    }

    /// Real-time safe: does not allocate, lock or throw.
    public func discardInput() {
        if let port { _ = sp_flush(port, SP_BUF_INPUT) }
    }

    public func close() {
        guard let p = port else { return }
        _ = sp_close(p)
        sp_free_port(p)
        port = nil
        fd = -1
    }
}

/// Recognises pseudo-terminal paths (which libserialport cannot open).
public enum PseudoTerminalPath {
    /// True for /dev/pts/N, /dev/ptmx and symlinks to them.
    public static func isPseudoTerminal(_ path: String) -> Bool {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let real =
            realpath(path, &resolved) != nil
            ? String(decoding: resolved.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : path
        return real.hasPrefix("/dev/pts/") || real == "/dev/ptmx"
    }
}

/// Opens a byte transport for `path`: the termios transport for pseudo-terminals (the
/// emulated robot), libserialport for real serial ports. Set-up call.
public func openSerialTransport(path: String, baudRate: Int = 115_200) throws -> any ByteTransport {
    if PseudoTerminalPath.isPseudoTerminal(path) {
        return try TermiosTransport(path: path, baudRate: baudRate)
    }
    if access(path, F_OK) != 0 {
        throw HardwareError.openingSerialPort(path, errno: ENOENT)
    }
    return try SerialPortTransport(path: path, baudRate: baudRate)
}
