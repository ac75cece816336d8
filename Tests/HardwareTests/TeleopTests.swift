import enum Control.Key
import Glibc
import TestSupport
import Testing

@testable import Hardware
import SystemSupport

@Suite("Joystick events from a FIFO")
struct JoystickTests {
    @Test("init, axis and button events are decoded, including events split across writes")
    func fifo() throws {
        let path = "/tmp/robotctl-js-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let reader = try JoystickReader(path: path)
        let writer = Glibc.open(path, O_WRONLY)
        #expect(writer >= 0)
        func send(_ events: [JoystickEvent]) {
            let bytes = events.flatMap(\.bytes)
            _ = bytes.withUnsafeBytes { Glibc.write(writer, $0.baseAddress, $0.count) }
        }
        var state = JoystickState()
        #expect(reader.poll(into: &state) == .events(0))
        send([
            JoystickEvent(timeMillis: 1, value: 0, type: 0x81, number: 0),  // init: button 0 up
            JoystickEvent(timeMillis: 1, value: 1, type: 0x81, number: 3),  // init: button 3 held
            JoystickEvent(timeMillis: 1, value: -32767, type: 0x82, number: 1),  // init: axis 1
        ])
        #expect(reader.poll(into: &state) == .events(3))
        #expect(state.isHeld(3) && !state.wasPressed(3))  // held at start is not a press
        #expect(state.axes[1] == -1)
        // One event in two halves.
        let e = JoystickEvent(timeMillis: 5, value: 16384, type: 0x02, number: 0).bytes
        _ = e.withUnsafeBytes { Glibc.write(writer, $0.baseAddress, 3) }
        #expect(reader.poll(into: &state) == .events(0))
        _ = e.withUnsafeBytes { Glibc.write(writer, $0.baseAddress! + 3, 5) }
        send([JoystickEvent(timeMillis: 6, value: 1, type: 0x01, number: 0)])
        #expect(reader.poll(into: &state) == .events(2))
        #expect(abs(state.axes[0] - 0.5) < 1e-4)
        #expect(state.wasPressed(0) && state.isHeld(0))
        send([
            JoystickEvent(timeMillis: 7, value: 0, type: 0x01, number: 0),
            JoystickEvent(timeMillis: 7, value: 1, type: 0x01, number: 70),
        ])
        #expect(reader.poll(into: &state) == .events(2))
        #expect(!state.isHeld(0) && !state.wasPressed(0) && state.ignoredEventCount == 1)
        Glibc.close(writer)
        #expect(reader.poll(into: &state) == .disconnected)
    }

    @Test("polling allocates nothing")
    func noAllocation() throws {
        var fds: [Int32] = [0, 0]
        #expect(Glibc.pipe(&fds) == 0)
        defer { Glibc.close(fds[1]) }
        let reader = JoystickReader(fileDescriptor: fds[0], name: "pipe", takingOwnership: true)
        let event = JoystickEvent(timeMillis: 1, value: 100, type: 0x02, number: 2).bytes
        var state = JoystickState()
        let n = allocationsOnThisThread {
            for _ in 0..<2_000 {
                _ = event.withUnsafeBytes { Glibc.write(fds[1], $0.baseAddress, 8) }
                _ = reader.poll(into: &state)
            }
        }
        #expect(n == 0)
        #expect(state.eventCount == 2_000)
    }

    @Test("a missing joystick gives one clear line")
    func missing() {
        let e = #expect(throws: HardwareError.self) { _ = try JoystickReader(path: "/dev/input/js7") }
        #expect(
            e?.description
                == "/dev/input/js7: no such joystick; plug in the gamepad and check `ls /dev/input/js*` (module joydev), or use the keyboard"
        )
    }
}

@Suite("Keyboard through a pseudo-terminal")
struct KeyboardTests {
    @Test("raw mode is entered and restored; keys and arrow sequences are decoded")
    func keys() throws {
        let pty = try PseudoTerminal()
        let fd = Glibc.open(pty.slavePath, O_RDWR | O_NOCTTY)
        #expect(fd >= 0)
        defer { Glibc.close(fd) }
        var before = termios()
        tcgetattr(fd, &before)
        #expect(before.c_lflag & tcflag_t(ICANON) != 0)
        var raw: RawTerminalMode? = try RawTerminalMode(fileDescriptor: fd, name: pty.slavePath)
        var now = termios()
        tcgetattr(fd, &now)
        #expect(now.c_lflag & tcflag_t(ICANON) == 0 && now.c_lflag & tcflag_t(ECHO) == 0)
        #expect(now.c_lflag & tcflag_t(ISIG) != 0)  // Ctrl-C still stops the program
        let reader = KeyboardReader(fileDescriptor: fd)
        let input: [UInt8] = Array("n".utf8) + [0x1B, 0x5B, 0x41, 0x1B, 0x5B, 0x44, 0x0D, 0x20, 0x7F]
        _ = input.withUnsafeBytes { Glibc.write(pty.masterFileDescriptor, $0.baseAddress, $0.count) }
        #expect(reader.waitReadable(timeoutNanos: 500_000_000))
        var keys: [Key] = []
        let end = monotonicNanos() + 500_000_000
        while keys.count < 6 && monotonicNanos() < end {
            if let k = reader.nextKey() { keys.append(k) }
        }
        #expect(keys == [.character(UInt8(ascii: "n")), .up, .left, .enter, .character(0x20), .backspace])
        _ = [UInt8(0x1B)].withUnsafeBytes { Glibc.write(pty.masterFileDescriptor, $0.baseAddress, 1) }
        #expect(reader.waitReadable(timeoutNanos: 500_000_000))
        #expect(reader.nextKey() == .escape)
        raw = nil
        _ = raw
        var after = termios()
        tcgetattr(fd, &after)
        #expect(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag)
    }

    @Test("standard input that is not a terminal gives one clear line")
    func notATerminal() {
        let e = #expect(throws: HardwareError.self) {
            _ = try RawTerminalMode(fileDescriptor: Glibc.open("/dev/null", O_RDONLY), name: "standard input")
        }
        #expect(
            e?.description
                == "standard input: not a terminal, cannot read single keys; run robotctl in an interactive terminal (not through a pipe), or use a gamepad"
        )
    }

    @Test("reading keys allocates nothing")
    func noAllocation() throws {
        let pty = try PseudoTerminal()
        let fd = Glibc.open(pty.slavePath, O_RDWR | O_NOCTTY)
        defer { Glibc.close(fd) }
        let raw = try RawTerminalMode(fileDescriptor: fd, name: pty.slavePath)
        defer { raw.restore() }
        let reader = KeyboardReader(fileDescriptor: fd)
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 3, alignment: 1)
        defer { bytes.deallocate() }
        bytes.copyBytes(from: [0x1B, 0x5B, 0x42])
        var downs = 0
        let n = allocationsOnThisThread {
            for _ in 0..<500 {
                _ = Glibc.write(pty.masterFileDescriptor, bytes.baseAddress, 3)
                let end = monotonicNanos() + 100_000_000
                while monotonicNanos() < end {
                    if reader.nextKey() == .down {
                        downs += 1
                        break
                    }
                }
            }
        }
        #expect(n == 0)
        #expect(downs == 500)
    }
}

@Suite("Terminal restore on a signal")
struct TerminalSignalTests {
    @Test("SIGTERM restores the terminal before the process dies")
    func sigterm() async throws {
        let pty = try PseudoTerminal()
        let fd = Glibc.open(pty.slavePath, O_RDWR | O_NOCTTY)
        #expect(fd >= 0)
        defer { Glibc.close(fd) }
        var before = termios()
        tcgetattr(fd, &before)
        #expect(before.c_lflag & tcflag_t(ICANON) != 0)
        let path = pty.slavePath
        await #expect(processExitsWith: .signal(SIGTERM)) { [path = path as String] in
            let child = Glibc.open(path, O_RDWR | O_NOCTTY)
            let raw = try? RawTerminalMode(fileDescriptor: child, name: path)
            var t = termios()
            tcgetattr(child, &t)
            // Prove raw mode was on, then die by SIGTERM with it still on.
            if raw == nil || t.c_lflag & tcflag_t(ICANON) != 0 { exit(3) }
            kill(getpid(), SIGTERM)
            pause()
        }
        var after = termios()
        tcgetattr(fd, &after)
        #expect(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag)
    }
}
