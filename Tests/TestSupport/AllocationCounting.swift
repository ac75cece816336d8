import MallocCounter

/// Heap allocations made by the calling thread while `body` runs.
///
/// Uses the `MallocCounter` interposer linked into every test binary. Fails loudly
/// (precondition) if the interposer is not active, so a test can never pass by
/// counting nothing.
public func allocationsOnThisThread(during body: () throws -> Void) rethrows -> UInt64 {
    precondition(mallocCounterIsActive(), "MallocCounter is not interposing malloc")
    let before = malloc_counter_thread_allocations()
    try body()
    return malloc_counter_thread_allocations() &- before
}

/// Allocations made by the calling thread since it started (for threads that count
/// their own allocations and report them back).
public func threadAllocationCount() -> UInt64 { malloc_counter_thread_allocations() }

/// True when the interposer's malloc is the one the process calls.
public func mallocCounterIsActive() -> Bool {
    // Force one allocation through the C allocator so `active` gets set.
    let p = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
    p.deallocate()
    return malloc_counter_is_active() != 0
}
