import Glibc
import SystemSupport

/// A running `robot-emulator` (or any program following its start-up contract: the first
/// stdout line ends with the pseudo-terminal path, e.g. "robot-emulator: pty /dev/pts/4").
/// Its stdout and stderr go to temporary files; `terminate()` (or deinit) stops it within a
/// bounded time. It runs in its own process group, so a Ctrl-C at the terminal reaches only
/// the program that started it, which stops in order and then the emulator (which also exits
/// by itself when its parent dies). The one emulator launcher of robotctl, its benchmarks and
/// the tests.
///
/// Thread contract: set-up object, one thread.
public final class EmulatorProcess {
    public let executable: String
    public let processID: pid_t
    /// The pseudo-terminal to open as the serial port.
    public let ptyPath: String
    private let stdoutPath: String
    private let stderrPath: String
    private var exited = false

    /// The `robot-emulator` next to the running executable (robotctl or the test bundle:
    /// both live in .build/<config>/). Throws a one-line error naming where it looked.
    public static func locateBesideExecutable(named name: String = "robot-emulator") throws -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let exe = n > 0 ? String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(
            separator: "/")
        let path = dir + "/" + name
        guard access(path, X_OK) == 0 else {
            throw HardwareError(
                .noSuchDevice, device: path,
                problem: "\(name) not found next to \(exe.isEmpty ? "this program" : exe)",
                fix: "build it with `swift build --product \(name)` (same configuration, e.g. -c release)")
        }
        return path
    }

    /// True if the emulator runs under SCHED_FIFO (asked for and permitted).
    public private(set) var isRealtime = false

    /// Starts `executable` with `arguments` and waits up to `timeoutNanos` for its pty line.
    /// With `realtimePriority`, the emulator runs under SCHED_FIFO at that priority when the
    /// system permits it (it stands in for a microcontroller, which a loaded Linux box must
    /// not starve), else at normal priority. Standard input is /dev/null; the signal mask is
    /// empty and SIGTERM, SIGINT, SIGHUP and SIGPIPE have their default actions (a blocked or
    /// ignored SIGTERM inherited from a test runner or service manager would make it
    /// unstoppable).
    public init(
        executable: String, arguments: [String] = [], realtimePriority: Int32? = nil,
        timeoutNanos: UInt64 = 5_000_000_000
    ) throws {
        self.executable = executable
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        stdoutPath = "/tmp/robotctl-emulator-\(tag).out"
        stderrPath = "/tmp/robotctl-emulator-\(tag).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        // The calling thread may block signals (Swift's thread pool does): give the child an
        // empty mask and default handlers, or it would never see SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)
        var pid: pid_t = 0
        var r: Int32 = EPERM
        if let priority = realtimePriority {
            var param = sched_param(sched_priority: priority)
            posix_spawnattr_setschedpolicy(&attributes, SCHED_FIFO)
            posix_spawnattr_setschedparam(&attributes, &param)
            posix_spawnattr_setflags(&attributes, Int16(flags | POSIX_SPAWN_SETSCHEDULER))
            r = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
            isRealtime = r == 0
        }
        if r == EPERM || realtimePriority == nil {
            flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setflags(&attributes, Int16(flags))
            r = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        }
        guard r == 0 else {
            throw HardwareError(
                .noSuchDevice, device: executable, problem: "cannot start: \(errnoText(r))",
                fix: "build it with `swift build --product robot-emulator`")
        }
        processID = pid
        let deadline = monotonicNanos() + timeoutNanos
        var line: String?
        while monotonicNanos() < deadline {
            if let text = EmulatorProcess.readFile(stdoutPath), let nl = text.firstIndex(of: "\n") {
                line = String(text[..<nl])
                break
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                break
            }
            usleep(2_000)
        }
        guard let line, let slash = line.firstIndex(of: "/") else {
            let err =
                EmulatorProcess.readFile(stderrPath)?.split(separator: "\n").first.map(String.init) ?? ""
            if !exited {
                kill(pid, SIGKILL)
                _ = waitpid(pid, nil, 0)
                exited = true
            }
            unlink(stdoutPath)
            unlink(stderrPath)
            throw HardwareError(
                .noResponse, device: executable,
                problem: "did not print its pty path\(err.isEmpty ? "" : " (stderr: \(err))")",
                fix: "run it by hand to see why; check its options")
        }
        ptyPath = String(line[slash...])
    }

    deinit { terminate() }

    /// True when the last `terminate` had to SIGKILL the process (it ignored SIGTERM).
    public private(set) var wasKilled = false

    /// Sends SIGTERM, waits up to `graceNanos` for the exit (then SIGKILL and a wait that
    /// cannot hang: a killed child always exits), removes the temporary files and returns
    /// what it wrote to stderr (e.g. --stats). Safe to call twice.
    @discardableResult
    public func terminate(graceNanos: UInt64 = 2_000_000_000) -> String {
        if !exited {
            kill(processID, SIGTERM)
            var status: Int32 = 0
            let deadline = monotonicNanos() &+ graceNanos
            var gone = false
            while true {
                let r = waitpid(processID, &status, WNOHANG)
                if r == processID || (r < 0 && errno != EINTR) {
                    gone = true
                    break
                }
                if monotonicNanos() >= deadline { break }
                usleep(5_000)
            }
            if !gone {
                wasKilled = true
                kill(processID, SIGKILL)
                while waitpid(processID, &status, 0) < 0 && errno == EINTR {}
            }
            exited = true
        }
        let err = EmulatorProcess.readFile(stderrPath) ?? ""
        unlink(stdoutPath)
        unlink(stderrPath)
        return err
    }

    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buf[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
