import Control
import Synchronization
import SystemSupport
import Testing
import TestSupport

@Suite("Real-time set-up")
struct RealtimeSetupTests {
    @Test("what is not granted is named once in a warning with how to grant it, and the thread carries on")
    func warningNamesWhatFailed() throws {
        let warning = Mutex<String?>(nil)
        let denormalsFlushed = Atomic<Bool>(false)
        let t = try NativeThread(name: "rt-setup") {
            let r = RealtimeSetup.apply(RealtimeOptions(fifoPriority: nil, cpu: 4000, lockMemory: false, flushDenormals: true))
            warning.withLock { $0 = r.warning }
            denormalsFlushed.store(r.denormalsFlushed, ordering: .relaxed)
        }
        t.join()
        let w = try #require(warning.withLock { $0 })
        #expect(w.hasPrefix("warning: real-time set-up not granted: CPU affinity to CPU 4000"))
        #expect(w.contains("taskset"))
        let flushed = denormalsFlushed.load(ordering: .relaxed)
        #expect(flushed)
    }

    @Test("nothing requested, nothing to warn about")
    func noWarning() throws {
        let warning = Mutex<String?>("unset")
        let t = try NativeThread(name: "rt-setup") {
            let r = RealtimeSetup.apply(.none)
            warning.withLock { $0 = r.warning }
        }
        t.join()
        #expect(warning.withLock { $0 } == nil)
    }

    @Test("flush-to-zero turns denormal results into zero on the control thread")
    func flushToZero() throws {
        let result = Atomic<UInt32>(1)
        let t = try NativeThread(name: "ftz") {
            _ = RealtimeSetup.apply(.none)
            let tiny = Float.leastNormalMagnitude
            let product = tiny * opaque(0.5)  // would be a denormal without FTZ
            result.store(product.bitPattern, ordering: .relaxed)
        }
        t.join()
        let bits = result.load(ordering: .relaxed)
        #expect(bits == 0)
    }
}

@inline(never) private func opaque(_ x: Float) -> Float { x }
