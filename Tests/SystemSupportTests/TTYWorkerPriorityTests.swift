import Foundation
import Glibc
import SystemSupport
import Testing

/// `TTYWorkerPriority` (issue 13: the pty's flush kworkers starved under load, and the loop's
/// read with them). Where SCHED_FIFO is permitted: every unbound kworker is raised, and put back.
@Suite("Unbound kworkers at SCHED_FIFO while the loop runs", .serialized)
struct TTYWorkerPriorityTests {
    static func kworkers() -> [pid_t] {
        guard let list = try? String(contentsOfFile: "/proc/2/task/2/children", encoding: .utf8) else { return [] }
        return list.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { pid_t($0) }.filter {
            (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.hasPrefix("kworker/u") == true
        }
    }

    @Test("raise then restore: unbound kworkers are SCHED_FIFO at the priority, then SCHED_OTHER again")
    func raiseAndRestore() throws {
        var probe = sched_param(sched_priority: 1)
        let permitted = sched_setscheduler(0, SCHED_FIFO, &probe) == 0
        var other = sched_param(sched_priority: 0)
        _ = sched_setscheduler(0, SCHED_OTHER, &other)
        // Kworkers another robotctl raised already are left alone: look at the normal ones only.
        let normal = Self.kworkers().filter { sched_getscheduler($0) == SCHED_OTHER }
        let workers = TTYWorkerPriority(priority: 57)
        let raised = workers.refresh()
        guard permitted, !normal.isEmpty else {
            #expect(raised == 0 || permitted)
            return
        }
        #expect(raised > 0 && workers.isPermitted)
        for (pid, _) in workers.raised {
            var p = sched_param()
            #expect(sched_getscheduler(pid) == SCHED_FIFO && sched_getparam(pid, &p) == 0 && p.sched_priority == 57, "kworker \(pid)")
        }
        let before = workers.raised
        workers.restore()
        #expect(workers.raised.isEmpty)
        for (pid, nice) in before where (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("kworker/u") == true {
            #expect(sched_getscheduler(pid) == SCHED_OTHER, "kworker \(pid)")
            errno = 0
            #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid)) == nice, "kworker \(pid)")
        }
    }

    @Test("no kthreadd children list: nothing raised, not permitted")
    func missingList() {
        let workers = TTYWorkerPriority(priority: 60, childrenPath: "/nonexistent/children")
        #expect(workers.refresh() == 0)
        #expect(!workers.isPermitted)
    }
}
