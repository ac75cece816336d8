import Glibc
import Testing
import TestSupport

@testable import Hardware
import SystemSupport

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
}

private func readSome(_ fd: Int32, count: Int) -> [UInt8] {
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: count)
    let end = monotonicNanos() + 1_000_000_000
    while out.count < count && monotonicNanos() < end {
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count - out.count) }
        if n > 0 { out += buf[..<n] }
    }
    return out
}

@Suite("Byte transports over a real pseudo-terminal")
struct TransportTests {
    @Test("the termios transport moves bytes both ways in raw mode")
    func roundTrip() throws {
        let pty = try PseudoTerminal()
        let t = try TermiosTransport(path: pty.slavePath)
        // Raw mode: 0x00, 0x03 (Ctrl-C), \r and 0xFF arrive unchanged.
        let sent: [UInt8] = [0, 3, 13, 10, 0xFF, 0x11, 0x13, 42]
        writeAll(pty.masterFileDescriptor, sent)
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 64)
        while got.count < sent.count {
            let r = buf.withUnsafeMutableBytes {
                t.read(into: $0, deadlineNanos: monotonicNanos() + 500_000_000)
            }
            #expect(r.status == .ok)
            if r.status != .ok { break }
            got += buf[..<r.count]
        }
        #expect(got == sent)
        let reply: [UInt8] = [1, 2, 0, 13, 10, 0xFE]
        let w = reply.withUnsafeBytes { t.write($0, deadlineNanos: monotonicNanos() + 500_000_000) }
        #expect(w == TransportResult(count: reply.count, status: .ok))
        #expect(readSome(pty.masterFileDescriptor, count: reply.count) == reply)
    }

    @Test("a read with nothing to read returns timeout at its deadline")
    func readTimeout() throws {
        let pty = try PseudoTerminal()
        let t = try TermiosTransport(path: pty.slavePath)
        var buf = [UInt8](repeating: 0, count: 8)
        let start = monotonicNanos()
        let r = buf.withUnsafeMutableBytes { t.read(into: $0, deadlineNanos: start + 3_000_000) }
        let elapsed = monotonicNanos() - start
        #expect(r.status == .timeout)
        #expect(elapsed >= 3_000_000 && elapsed < 20_000_000)
    }

    @Test("the other end hanging up is reported as disconnected")
    func hangUp() throws {
        var pty: PseudoTerminal? = try PseudoTerminal()
        let t = try TermiosTransport(path: pty!.slavePath)
        pty = nil
        var buf = [UInt8](repeating: 0, count: 8)
        let r = buf.withUnsafeMutableBytes { t.read(into: $0, deadlineNanos: monotonicNanos() + 100_000_000) }
        #expect(r.status == .disconnected)
    }

    @Test("reads and writes allocate nothing")
    func noAllocation() throws {
        let pty = try PseudoTerminal()
        let t = try TermiosTransport(path: pty.slavePath)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
        defer { out.deallocate() }
        let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { sink.deallocate() }
        out.initializeMemory(as: UInt8.self, repeating: 7)
        let n = allocationsOnThisThread {
            for _ in 0..<2_000 {
                _ = t.write(UnsafeRawBufferPointer(out), deadlineNanos: monotonicNanos() + 10_000_000)
                _ = Glibc.read(pty.masterFileDescriptor, sink.baseAddress, 32)
                _ = Glibc.write(pty.masterFileDescriptor, sink.baseAddress, 32)
                _ = t.read(into: sink, deadlineNanos: monotonicNanos() + 10_000_000)
                t.discardInput()
            }
        }
        #expect(n == 0)
    }

    @Test("a pipe can stand in for a device; discardInput drains it")
    func pipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(Glibc.pipe(&fds) == 0)
        defer { Glibc.close(fds[1]) }
        let t = try TermiosTransport(fileDescriptor: fds[0], name: "pipe")
        writeAll(fds[1], [1, 2, 3])
        t.discardInput()
        var buf = [UInt8](repeating: 0, count: 8)
        let r = buf.withUnsafeMutableBytes { t.read(into: $0, deadlineNanos: monotonicNanos() + 2_000_000) }
        #expect(r.status == .timeout)
    }

    @Test("libserialport's enumeration works and does not list pseudo-terminals")
    func enumeration() throws {
        let pty = try PseudoTerminal()
        let ports = try SerialPorts.list()
        #expect(!ports.contains { $0.path == pty.slavePath || $0.path.hasPrefix("/dev/pts/") })
        for p in ports { #expect(p.path.hasPrefix("/dev/")) }
    }
}

@Suite("Serial errors a user can hit, one line each")
struct SerialErrorTests {
    @Test("no such port")
    func noSuchPort() {
        for open in [
            { _ = try TermiosTransport(path: "/dev/ttyNOPE7") },
            { _ = try openSerialTransport(path: "/dev/ttyNOPE7") },
            { _ = try SerialPortTransport(path: "/dev/ttyNOPE7") },
        ] as [() throws -> Void] {
            let e = #expect(throws: HardwareError.self) { try open() }
            #expect(e?.kind == .noSuchDevice)
            #expect(
                e?.description
                    == "/dev/ttyNOPE7: no such serial port; check the cable and run `robotctl ports` to list the ports that exist"
            )
        }
    }

    @Test("port busy: a second open of the same device is refused")
    func busy() throws {
        let pty = try PseudoTerminal()
        let first = try TermiosTransport(path: pty.slavePath)
        let e = #expect(throws: HardwareError.self) { _ = try TermiosTransport(path: pty.slavePath) }
        #expect(e?.kind == .busy)
        #expect(
            e?.description
                == "\(pty.slavePath): port is busy (opened by another program); close the other program (find it with `fuser \(pty.slavePath)`) and retry"
        )
        first.close()
        _ = try TermiosTransport(path: pty.slavePath)  // free again once closed
    }

    @Test("permission denied names the group to join")
    func permissionDenied() throws {
        let expected =
            "/dev/ttyACM0: permission denied; add your user to the dialout group (`sudo usermod -aG dialout $USER`) and log in again"
        #expect(HardwareError.openingSerialPort("/dev/ttyACM0", errno: EACCES).description == expected)
        if getuid() != 0 {
            // Provoke it for real where the test is not root (root bypasses permissions).
            let pty = try PseudoTerminal()
            chmod(pty.slavePath, 0)
            let e = #expect(throws: HardwareError.self) { _ = try TermiosTransport(path: pty.slavePath) }
            #expect(e?.kind == .permissionDenied)
        }
    }

    @Test("libserialport refuses pseudo-terminals with a pointer to the termios transport")
    func libserialportPty() throws {
        let pty = try PseudoTerminal()
        let e = #expect(throws: HardwareError.self) { _ = try SerialPortTransport(path: pty.slavePath) }
        #expect(
            e?.description
                == "\(pty.slavePath): libserialport cannot open pseudo-terminals; open it with the termios transport (robotctl does this for /dev/pts/* paths)"
        )
        // The factory picks the termios transport for it.
        #expect(try openSerialTransport(path: pty.slavePath) is TermiosTransport)
    }

    @Test("a file that is not a terminal, and an unsupported baud rate")
    func notATerminal() {
        let e = #expect(throws: HardwareError.self) { _ = try TermiosTransport(path: "/dev/null") }
        #expect(
            e?.description
                == "/dev/null: not a serial port or terminal; pass a serial device such as /dev/ttyACM0 or the pty path the emulator printed"
        )
        let b = #expect(throws: HardwareError.self) {
            _ = try TermiosTransport(path: "/dev/null", baudRate: 12345)
        }
        #expect(
            b?.kind == .invalidArgument
                && b?.description.hasPrefix("/dev/null: unsupported baud rate 12345; use one of 9600, ")
                    == true
        )
    }
}
