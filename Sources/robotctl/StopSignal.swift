import Foundation
import Glibc
import Synchronization

/// SIGINT and SIGTERM as an orderly stop for `run`, `eval` and `teleop`: the handler only sets
/// a flag (async-signal-safe); the command polls `isSet`, or `watch` turns it into a call on a
/// watcher thread. Both signals are unblocked first (a test runner or service manager may
/// start robotctl with them blocked). `finish` restores the default handlers.
final class StopSignal: @unchecked Sendable {
    nonisolated(unsafe) static var raised: sig_atomic_t = 0
    private let done = Atomic<Bool>(false)

    static func install() -> StopSignal {
        raised = 0
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        signal(SIGINT) { _ in StopSignal.raised = 1 }
        signal(SIGTERM) { _ in StopSignal.raised = 1 }
        return StopSignal()
    }

    /// True once SIGINT or SIGTERM arrived.
    var isSet: Bool { StopSignal.raised != 0 }
    var finished: Bool { done.load(ordering: .acquiring) }

    /// Calls `stop` once on a watcher thread when a signal arrives (polled every 50 ms) before `finish`.
    func watch(_ stop: @escaping @Sendable () -> Void) {
        let watcher = Thread {
            while !self.isSet && !self.finished { usleep(50_000) }
            if self.isSet { stop() }
        }
        watcher.start()
    }

    func finish() {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
