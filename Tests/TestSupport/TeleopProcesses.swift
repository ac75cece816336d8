import Foundation
import Glibc

/// A child process the test talks to while it runs: stdin from a given descriptor (a pty
/// slave, /dev/null), stdout and stderr collected in the background.
///
/// Thread contract: one test thread; the collectors run on Foundation's handler threads.
public final class LiveProcess: @unchecked Sendable {
    public let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    /// Starts `executable`; `stdin` is /dev/null when nil (the descriptor is not closed).
    public init(_ executable: String, _ arguments: [String], stdin: Int32? = nil, currentDirectory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        process.standardInput = stdin.map { FileHandle(fileDescriptor: $0, closeOnDealloc: false) } ?? FileHandle.nullDevice
        o.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock(); self.out.append(d); self.lock.unlock()
        }
        e.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock(); self.err.append(d); self.lock.unlock()
        }
        try process.run()
    }

    public var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    public var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }

    /// Waits until `predicate(stderr)` holds; false after `timeout` seconds or if the process exited.
    public func waitForStderr(timeout: Double, _ predicate: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if predicate(stderr) { return true }
            if !process.isRunning { return predicate(stderr) }
            usleep(20_000)
        }
        return false
    }

    /// Waits for exit (SIGKILL after `timeout`); returns the exit status (-9 if killed here).
    @discardableResult
    public func wait(timeout: Double = 30) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            usleep(100_000)
            return -9
        }
        process.waitUntilExit()
        usleep(100_000)  // let the collectors take the last bytes
        return process.terminationStatus
    }

    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// A FIFO the test writes Linux joystick events (8-byte `js_event`) into.
public final class JoystickFIFO {
    public let path: String
    private let fd: Int32

    /// Creates the FIFO and opens it read-write, so the reader never sees end-of-file while
    /// the test holds it.
    public init(directory: String) throws {
        path = directory + "/js0.fifo"
        guard mkfifo(path, 0o600) == 0 else { throw POSIXError(.EEXIST) }
        fd = open(path, O_RDWR | O_NONBLOCK)
        guard fd >= 0 else { throw POSIXError(.EIO) }
    }

    /// Writes one event: type 1 button, 2 axis (| 0x80 for the initial-state events).
    public func event(type: UInt8, number: UInt8, value: Int16, timeMillis: UInt32 = 0) {
        var b = [UInt8](repeating: 0, count: 8)
        withUnsafeBytes(of: timeMillis.littleEndian) { for i in 0..<4 { b[i] = $0[i] } }
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<2 { b[4 + i] = $0[i] } }
        b[6] = type
        b[7] = number
        _ = b.withUnsafeBytes { write(fd, $0.baseAddress, 8) }
    }

    /// Presses and releases button `n`.
    public func press(_ n: UInt8) {
        event(type: 1, number: n, value: 1)
        event(type: 1, number: n, value: 0)
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
