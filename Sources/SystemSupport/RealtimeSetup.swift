internal import CRealtime
import Glibc

/// What real-time privileges the control thread asks for.
public struct RealtimeOptions: Sendable, Equatable {
    /// SCHED_FIFO priority 1...99, or nil to stay SCHED_OTHER.
    public var fifoPriority: Int32? = 80
    /// CPU to pin the control thread to, or nil for no pinning.
    public var cpu: Int32? = nil
    /// mlockall(MCL_CURRENT | MCL_FUTURE), so the loop never page-faults on swapped-out memory.
    public var lockMemory: Bool = true
    /// Flush denormals to zero on the control thread (MXCSR FTZ/DAZ, FPCR.FZ).
    public var flushDenormals: Bool = true

    public init(fifoPriority: Int32? = 80, cpu: Int32? = nil, lockMemory: Bool = true, flushDenormals: Bool = true) {
        self.fifoPriority = fifoPriority
        self.cpu = cpu
        self.lockMemory = lockMemory
        self.flushDenormals = flushDenormals
    }

    /// No privileges: normal priority, no pinning, no locking (tests).
    public static let none = RealtimeOptions(fifoPriority: nil, cpu: nil, lockMemory: false, flushDenormals: true)

    /// The last CPU the process may use: pinning the loop there leaves CPU 0 to the rest.
    public static var lastCPU: Int32 { Int32(max(0, crt_available_cpus() - 1)) }
}

/// What `RealtimeSetup.apply` got. `warning` is nil when everything asked for was granted.
public struct RealtimeReport: Sendable, Equatable {
    public var memoryLocked = false
    public var fifoPriority: Int32? = nil
    public var cpu: Int32? = nil
    public var denormalsFlushed = false
    /// One message naming what was not granted and how to grant it, or nil.
    public var warning: String? = nil

    /// Nothing granted yet.
    public init() {}
}

/// Applies real-time settings to the calling thread (call it first thing on the control
/// thread). Whatever is not permitted is left out, the loop runs anyway, and the report's
/// `warning` says once what was not granted and how to grant it.
public enum RealtimeSetup {
    public static func apply(_ options: RealtimeOptions) -> RealtimeReport {
        var report = RealtimeReport()
        var missing: [String] = []
        var fixes: [String] = []
        if options.lockMemory {
            let rc = crt_lock_memory()
            if rc == 0 { report.memoryLocked = true } else {
                missing.append("mlockall (\(String(cString: strerror(rc))))")
                fixes.append("raise the memlock limit (`ulimit -l unlimited`, or `memlock unlimited` in /etc/security/limits.conf) or grant CAP_IPC_LOCK")
            }
        }
        if let prio = options.fifoPriority {
            let rc = crt_set_thread_fifo(Int32(prio))
            if rc == 0 { report.fifoPriority = prio } else {
                missing.append("SCHED_FIFO priority \(prio) (\(String(cString: strerror(rc))))")
                fixes.append("run as root, `sudo setcap cap_sys_nice,cap_ipc_lock+ep $(which robotctl)`, or set `rtprio \(prio)` in /etc/security/limits.conf")
            }
        }
        if let cpu = options.cpu {
            let rc = pinCurrentThread(toCPU: cpu)
            if rc == 0 { report.cpu = cpu } else {
                missing.append("CPU affinity to CPU \(cpu) (\(String(cString: strerror(rc))))")
                fixes.append("choose a CPU this process may use (0...\(crt_available_cpus() - 1)), check `taskset -p $$`")
            }
        }
        if options.flushDenormals { report.denormalsFlushed = flushDenormals() }
        if !missing.isEmpty {
            report.warning = "warning: real-time set-up not granted: " + missing.joined(separator: ", ")
                + "; the loop runs anyway with more jitter. To grant it: " + fixes.joined(separator: "; ") + "."
        }
        return report
    }

    /// Pins the calling thread to CPU `cpu`. Returns 0 or an errno value.
    @discardableResult
    public static func pinCurrentThread(toCPU cpu: Int32) -> Int32 { crt_set_thread_affinity(cpu) }

    /// Sets flush-to-zero and denormals-are-zero on the calling thread; true if set (false on
    /// an architecture it does not know).
    @discardableResult
    public static func flushDenormals() -> Bool { crt_flush_denormals() == 1 }

    /// The calling thread's current scheduling policy name and priority, e.g. "SCHED_FIFO 80".
    public static func currentPolicy() -> String {
        var prio: Int32 = 0
        let policy = crt_thread_policy(&prio)
        return (policy == Int32(SCHED_FIFO) ? "SCHED_FIFO" : policy == 0 ? "SCHED_OTHER" : "policy \(policy)") + " \(prio)"
    }
}
