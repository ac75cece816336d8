import TestSupport
import Testing

@Test("the malloc counter interposes the allocator in the FixedNN test binary")
func mallocCounterActiveInFixedNN() {
    #expect(mallocCounterIsActive())
    let n = allocationsOnThisThread { _ = [Int](repeating: 1, count: 1000) }
    #expect(n >= 1)
}
