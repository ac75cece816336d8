import Glibc

/// Thin syscall helpers in the swift-nio style: retry `EINTR`, report errno.
enum Syscall {
    /// Calls `body` until it does not fail with EINTR. Returns its result; on -1, `errno`
    /// holds the cause. Does not allocate.
    @inline(__always)
    static func retryingInterrupt<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    /// `open(2)` retrying EINTR; returns fd or -1 with errno set.
    static func open(_ path: String, _ flags: Int32) -> Int32 {
        retryingInterrupt { Glibc.open(path, flags) }
    }

    /// `close(2)`; EINTR is not retried (Linux has already closed the fd).
    static func close(_ fd: Int32) { _ = Glibc.close(fd) }
}

/// The monotonic clock (CLOCK_MONOTONIC), nanoseconds, for Hardware's own deadlines (Control
/// exports the same clock publicly as `monotonicNanos()`). Real-time safe: does not allocate,
/// lock or throw (vDSO call).
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Sleeps until the monotonic clock reaches `deadlineNanos` (clock_nanosleep with
/// TIMER_ABSTIME, retrying EINTR). Real-time safe: does not allocate, lock or throw.
public func sleepUntil(monotonicNanos deadlineNanos: UInt64) {
    var ts = timespec(tv_sec: Int(deadlineNanos / 1_000_000_000), tv_nsec: Int(deadlineNanos % 1_000_000_000))
    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
}
