import CRealtime

/// CLOCK_MONOTONIC in nanoseconds. Real-time safe: does not allocate, lock or throw.
@inline(__always)
public func monotonicNanos() -> UInt64 { crt_monotonic_nanos() }
