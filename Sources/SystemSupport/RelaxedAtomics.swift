internal import CRealtime

/// Relaxed atomic load of plain `UInt64` memory (histogram buckets and counters that live in a
/// preallocated raw buffer; Swift's `Atomic` needs its own storage). Real-time safe.
@inline(__always)
public func atomicLoadRelaxed(_ p: UnsafePointer<UInt64>) -> UInt64 { crt_atomic_load_relaxed(p) }

/// Relaxed atomic store to plain `UInt64` memory. Real-time safe.
@inline(__always)
public func atomicStoreRelaxed(_ p: UnsafeMutablePointer<UInt64>, _ value: UInt64) {
    crt_atomic_store_relaxed(p, value)
}
