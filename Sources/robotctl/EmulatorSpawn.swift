import Foundation
import Glibc

/// A `robot-emulator` process just spawned: its pid, executable and the temporary file its
/// standard output goes to (`outPath`; standard error in `outPath + ".err"`).
struct SpawnedEmulator {
    let pid: pid_t
    let path: String
    let outPath: String

    /// Spawns the `robot-emulator` beside this executable with `arguments`: standard input
    /// /dev/null, output to a temporary file, its own process group (a Ctrl-C reaches only
    /// robotctl, which stops in order and then the emulator), and a clean signal state — a
    /// blocked or ignored SIGTERM inherited from whoever started robotctl (a test runner, a
    /// service manager) would make the emulator unstoppable. Set-up code.
    static func spawn(arguments: [String]) throws -> SpawnedEmulator {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let path = ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("robot-emulator")
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw UserError("\(path): robot-emulator not found beside robotctl; build it with `swift build -c release --product robot-emulator` (or `make run`)")
        }
        let outPath = NSTemporaryDirectory() + "robotctl-emulator-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, outPath + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&stopSignals, s) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &stopSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw UserError("\(path): cannot start (\(String(cString: strerror(rc)))); check the file") }
        return SpawnedEmulator(pid: pid, path: path, outPath: outPath)
    }

    /// The pseudo-terminal path the emulator printed on its first output line, if printed yet.
    func printedPtyPath() -> String? {
        guard let text = try? String(contentsOfFile: outPath, encoding: .utf8), let nl = text.firstIndex(of: "\n"),
            let slash = text[..<nl].firstIndex(of: "/")
        else { return nil }
        return String(text[slash..<nl])
    }

    /// The first line the emulator wrote to standard error.
    func firstErrorLine() -> String {
        let err = (try? String(contentsOfFile: outPath + ".err", encoding: .utf8)) ?? ""
        return err.split(separator: "\n").first.map(String.init) ?? "no message"
    }
}
