internal import CRealtime

/// CLOCK_MONOTONIC in nanoseconds. Real-time safe: does not allocate, lock or throw.
@inline(__always)
public func monotonicNanos() -> UInt64 { crt_monotonic_nanos() }

/// Sleeps until the monotonic clock reaches `deadlineNanos` (clock_nanosleep with
/// TIMER_ABSTIME, retrying EINTR). Real-time safe: does not allocate, lock or throw.
/// Returns 0 or the errno value clock_nanosleep gave.
@inline(__always)
@discardableResult
public func sleepUntil(monotonicNanos deadlineNanos: UInt64) -> Int32 { crt_sleep_until(deadlineNanos) }
