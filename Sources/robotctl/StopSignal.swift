import Foundation
import Glibc
import Synchronization

/// SIGINT, SIGTERM and SIGHUP as an orderly stop for `run`, `eval`, `teleop` and `calibrate`:
/// the handler only stores the signal's number (async-signal-safe); the command polls
/// `isSet`, or `watch` turns it into a call on a watcher thread, and the run files and the
/// report are written as on any other ending. `kind` says which signal came, for the exit
/// status (`ExitStatus`: SIGHUP is 129 whatever the run; SIGINT and SIGTERM are 0 on an
/// open-ended run). The signals are unblocked first (a test runner or service manager may
/// start robotctl with them blocked). `finish` restores the default handlers.
final class StopSignal: @unchecked Sendable {
    /// Which stop signal arrived.
    enum Kind: Sendable, Equatable {
        case interrupt, terminate, hangup

        init?(signal: Int32) {
            switch signal {
            case SIGINT: self = .interrupt
            case SIGTERM: self = .terminate
            case SIGHUP: self = .hangup
            default: return nil
            }
        }
    }

    /// The signals handled, in one place.
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The number of the first stop signal that arrived (0: none).
    nonisolated(unsafe) static var raised: sig_atomic_t = 0
    private let done = Atomic<Bool>(false)

    static func install() -> StopSignal {
        raised = 0
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for s in signals { sigaddset(&stopSignals, s) }
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        for s in signals {
            // The first signal decides the kind; later ones (a second Ctrl-C) change nothing.
            signal(s) { n in if StopSignal.raised == 0 { StopSignal.raised = n } }
        }
        return StopSignal()
    }

    /// True once SIGINT, SIGTERM or SIGHUP arrived.
    var isSet: Bool { StopSignal.raised != 0 }
    /// The signal that arrived (nil: none).
    var kind: Kind? { Kind(signal: StopSignal.raised) }
    var finished: Bool { done.load(ordering: .acquiring) }

    /// Calls `stop` once on a watcher thread when a signal arrives (polled every 50 ms) before `finish`.
    func watch(_ stop: @escaping @Sendable () -> Void) {
        let watcher = Thread {
            while !self.isSet && !self.finished { usleep(50_000) }
            if self.isSet { stop() }
        }
        watcher.start()
    }

    /// Restores the default handlers. A SIGHUP stays ignored: the terminal is gone, and the
    /// command still has its files to write and its summary to print (into a closed terminal).
    func finish() {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        signal(SIGHUP, kind == .hangup ? SIG_IGN : SIG_DFL)
    }
}
