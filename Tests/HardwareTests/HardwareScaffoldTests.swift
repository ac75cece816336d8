import Testing
import TestSupport

@Test("the malloc counter interposes the allocator in the Hardware test binary")
func mallocCounterActiveInHardware() {
    #expect(mallocCounterIsActive())
    let n = allocationsOnThisThread { _ = [Int](repeating: 1, count: 1000) }
    #expect(n >= 1)
}
