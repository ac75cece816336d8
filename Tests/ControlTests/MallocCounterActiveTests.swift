import Testing
import TestSupport

@Test("the malloc counter interposes the allocator in the Control test binary")
func mallocCounterActiveInControl() {
    #expect(mallocCounterIsActive())
    let n = allocationsOnThisThread { _ = [Int](repeating: 1, count: 1000) }
    #expect(n >= 1)
}
