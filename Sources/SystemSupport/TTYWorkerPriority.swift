import Glibc

/// Gives the kernel's unbound workqueue threads (`kworker/u*`) SCHED_FIFO at a priority below
/// the control loop's, and puts them back as they were.
///
/// Why: a serial port or pseudo-terminal hands received bytes to the reader in a kernel work
/// item (the tty flip buffer's `flush_to_ldisc`) run by an unbound kworker at normal priority,
/// and `read`/`poll` on the tty wait for that work item when no byte is there yet
/// (`n_tty_read` → `tty_buffer_flush_work`). With every CPU busy at normal priority (a
/// compiler, `stress-ng --cpu 2`) the kworker waits its turn for tens to hundreds of
/// milliseconds, and the SCHED_FIFO control loop waits with it: a priority inversion that no
/// priority of the loop or of the robot's firmware fixes. Measured on this 2-core machine
/// under `stress-ng --cpu 8`: 21 link-failure stops in 60 s and a 272 ms `read`; with the
/// kworkers at SCHED_FIFO 60, 0 stops and 0 missed deadlines (BENCHMARKS.md, "Reliability
/// under load").
///
/// New kworkers appear when the pool needs them, so `refresh` is called periodically (the
/// loop's supervising thread does so every 250 ms); it reads kthreadd's children once
/// (`/proc/2/task/2/children`) and each new thread's name. Not permitted (no CAP_SYS_NICE) or
/// no such file: it does nothing and `isPermitted` turns false after the first refusal.
///
/// Thread contract: set-up object, one thread (never the control thread: it reads /proc).
public final class TTYWorkerPriority {
    /// The SCHED_FIFO priority given.
    public let priority: Int32
    /// False once the kernel refused (EPERM) or there is no kthreadd children list.
    public private(set) var isPermitted = true
    /// The threads raised so far, with the nice value each had (restored by `restore`).
    public private(set) var raised: [pid_t: Int32] = [:]
    /// Kernel threads looked at and left alone (not an unbound kworker).
    private var ignored = Set<pid_t>()
    private let childrenPath: String

    public init(priority: Int32, childrenPath: String = "/proc/2/task/2/children") {
        self.priority = max(1, min(99, priority))
        self.childrenPath = childrenPath
    }

    /// Raises the unbound kworkers not raised yet; returns how many are raised now. Threads
    /// already under a real-time policy (raised by someone else) are left as they are.
    @discardableResult
    public func refresh() -> Int {
        guard isPermitted else { return raised.count }
        guard let list = Self.read(childrenPath) else {
            isPermitted = false
            return 0
        }
        var alive = Set<pid_t>()
        for field in list.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let pid = pid_t(field) else { continue }
            alive.insert(pid)
            if raised[pid] != nil || ignored.contains(pid) { continue }
            guard let comm = Self.read("/proc/\(pid)/comm"), comm.hasPrefix("kworker/u") else {
                ignored.insert(pid)
                continue
            }
            let policy = sched_getscheduler(pid)
            guard policy == SCHED_OTHER else {
                ignored.insert(pid)
                continue
            }
            errno = 0
            let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid))
            var param = sched_param(sched_priority: priority)
            if sched_setscheduler(pid, SCHED_FIFO, &param) == 0 {
                raised[pid] = nice
            } else if errno == EPERM {
                isPermitted = false
                break
            } else {
                ignored.insert(pid)  // gone meanwhile
            }
        }
        // Threads that exited: forget them (a pid may be reused by another thread later).
        raised = raised.filter { alive.contains($0.key) }
        ignored.formIntersection(alive)
        return raised.count
    }

    /// Puts every raised thread back to SCHED_OTHER with its nice value, if it is still an
    /// unbound kworker under SCHED_FIFO at `priority` (another robotctl may hold it too).
    public func restore() {
        for (pid, nice) in raised {
            guard let comm = Self.read("/proc/\(pid)/comm"), comm.hasPrefix("kworker/u") else { continue }
            var current = sched_param()
            guard sched_getscheduler(pid) == SCHED_FIFO, sched_getparam(pid, &current) == 0,
                  current.sched_priority == priority else { continue }
            var param = sched_param(sched_priority: 0)
            _ = sched_setscheduler(pid, SCHED_OTHER, &param)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid), nice)
        }
        raised = [:]
        ignored = []
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buf[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
