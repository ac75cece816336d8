import Control
import Glibc
import Synchronization
import SystemSupport
import Testing
import TestSupport

@Suite("Policy slot ThreadSanitized")
struct PolicySlotThreadSanitizedTests {
    @Test("with a publisher much faster than the loop, every tick's weights are exactly one published version, and a publish takes effect by the next tick")
    func fastPublisher() throws {
        let n = 256
        let initial = PatternPolicy(parameterCount: n)
        versionPattern(1, into: initial.parameters)
        let slot = try PolicySlot(initial: initial)
        let done = Atomic<Bool>(false)
        let publishes = Atomic<Int>(0)
        let wrongVersions = Atomic<Int>(0)
        let publisher = try NativeThread(name: "publisher") {
            let candidate = PatternPolicy(parameterCount: n)
            var v: UInt64 = 2
            while !done.load(ordering: .relaxed) {
                versionPattern(v, into: candidate.parameters)
                let p = try? slot.publish(candidate)
                if p?.version != v { wrongVersions.add(1, ordering: .relaxed) }
                v += 1
                publishes.add(1, ordering: .relaxed)
            }
        }
        let ticks = 150
        var torn = 0, checksumMismatch = 0, late = 0, regressions = 0
        var last: UInt64 = 0
        var versionsSeen = Set<UInt64>()
        for _ in 0..<ticks {
            let publishedBefore = slot.latestPublishedVersion
            let (policy, version, _) = slot.acquire()
            let params = UnsafeBufferPointer(policy.parameters)
            if versionOfPattern(params) != version { torn += 1 }
            if parameterChecksum(params) != slot.currentChecksum { checksumMismatch += 1 }
            if version < publishedBefore { late += 1 }
            if version < last { regressions += 1 }
            last = version
            versionsSeen.insert(version)
            // The loop's tick period: at least three publishes happen between two ticks (the
            // publisher is several times faster than the loop, however slow the build is).
            let target = publishes.load(ordering: .relaxed) + 3
            while publishes.load(ordering: .relaxed) < target { usleep(50) }
        }
        done.store(true, ordering: .relaxed)
        publisher.join()
        #expect(torn == 0)
        #expect(checksumMismatch == 0)
        #expect(late == 0, "a publish that returned before a tick began is used by that tick")
        #expect(regressions == 0)
        #expect(wrongVersions.load(ordering: .relaxed) == 0)
        #expect(publishes.load(ordering: .relaxed) >= 3 * ticks, "the publisher outpaced the loop")
        #expect(versionsSeen.count == ticks, "every tick saw a newer version")
    }
}

@Suite("Policy slot")
struct PolicySlotTests {
    @Test("a candidate with non-finite weights or another shape is rejected and never reaches the loop")
    func rejection() throws {
        let initial = LinearTestPolicy(observationSize: 2, actionSize: 1, fill: 0.5)
        let slot = try PolicySlot(initial: initial)
        let bad = LinearTestPolicy(observationSize: 2, actionSize: 1, fill: 0.25)
        bad.parameters[1] = .nan
        #expect(throws: PolicyRejection.nonFinite(index: 1)) { try slot.publish(bad) }
        bad.parameters[1] = .infinity
        #expect(throws: PolicyRejection.nonFinite(index: 1)) { try slot.publish(bad) }
        let wrongShape = LinearTestPolicy(observationSize: 3, actionSize: 1)
        #expect(throws: PolicyRejection.self) { try slot.publish(wrongShape) }
        let (front, version, swapped) = slot.acquire()
        #expect(version == 1 && !swapped)
        #expect(Array(front.parameters) == [0.5, 0.5, 0.5])
        #expect(throws: PolicyRejection.self) { _ = try PolicySlot(initial: bad) }
        let good = LinearTestPolicy(observationSize: 2, actionSize: 1, fill: 0.25)
        let p = try slot.publish(good)
        #expect(p.version == 2)
        let (now, v2, swapped2) = slot.acquire()
        #expect(v2 == 2 && swapped2 && Array(now.parameters) == [0.25, 0.25, 0.25])
    }

    @Test("acquiring allocates nothing")
    func acquireAllocatesNothing() throws {
        let slot = try PolicySlot(initial: LinearTestPolicy(observationSize: 2, actionSize: 1, fill: 0.5))
        let good = LinearTestPolicy(observationSize: 2, actionSize: 1, fill: 0.25)
        try slot.publish(good)
        var action: Float = 0
        let obs: [Float] = [1, 2]
        let n = allocationsOnThisThread {
            for _ in 0..<1000 {
                let (p, _, _) = slot.acquire()
                obs.withUnsafeBufferPointer { p.act(observation: $0.baseAddress!, action: &action) }
            }
        }
        #expect(n == 0)
    }
}

@Suite("Transition ring ThreadSanitized")
struct TransitionRingThreadSanitizedTests {
    @Test("single producer, single consumer: every transition arrives intact and in order, or is counted as dropped")
    func spsc() throws {
        let ring = TransitionRing(capacity: 64, observationCount: 3, actionCount: 2)
        let total: UInt64 = 50_000
        let producer = try NativeThread(name: "producer") {
            var obs: [Float] = [0, 0, 0]
            var act: [Float] = [0, 0]
            for t in 0..<total {
                obs[0] = Float(t); obs[1] = -Float(t); obs[2] = Float(t) * 0.5
                act[0] = Float(t % 7); act[1] = 1
                ring.push(TransitionHeader(timestampNanos: t * 10, tick: t, reward: Float(t)), observation: obs, action: act)
                if t % 1000 == 0 { usleep(100) }
            }
        }
        var received: UInt64 = 0, accountedFor: UInt64 = 0, bad = 0
        var expectedTick: UInt64 = 0
        while accountedFor < total {
            let got = ring.pop { p in
                let t = TransitionLayout.decode(p.baseAddress!, observationCount: 3, actionCount: 2)
                let tick = t.header.tick
                if tick != expectedTick + UInt64(t.header.droppedBefore) { bad += 1 }
                let f = Float(tick)
                if t.observation != [f, -f, f * 0.5] || t.action != [Float(tick % 7), 1] || t.header.reward != f
                    || t.header.timestampNanos != tick * 10 { bad += 1 }
                expectedTick = tick + 1
                accountedFor = tick + 1
                received += 1
            }
            if !got {
                if ring.droppedTotal + received == total { break }
                usleep(50)
            }
        }
        producer.join()
        while ring.pop({ _ in received += 1 }) {}
        #expect(bad == 0)
        #expect(received + ring.droppedTotal == total)
        #expect(received > 1000)
    }
}

@Suite("Transition ring")
struct TransitionRingTests {
    @Test("pushing into a full ring drops and counts instead of blocking, without allocating")
    func fullRing() {
        let ring = TransitionRing(capacity: 4, observationCount: 1, actionCount: 1)
        var o: Float = 1, a: Float = 2
        let n = allocationsOnThisThread {
            for t in 0..<10 { ring.push(TransitionHeader(tick: UInt64(t)), observation: &o, action: &a) }
        }
        #expect(n == 0)
        #expect(ring.droppedTotal == 6 && ring.count == 4)
        _ = ring.pop { _ in }
        ring.push(TransitionHeader(tick: 10), observation: &o, action: &a)
        var last = TransitionHeader()
        while ring.pop({ last = TransitionLayout.decodeHeader($0.baseAddress!) }) {}
        #expect(last.tick == 10 && last.droppedBefore == 6)
    }
}
