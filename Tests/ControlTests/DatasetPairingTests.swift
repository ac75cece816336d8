@testable import Control
import Foundation
import Testing
import TestSupport

/// Records of one episode: observation [tick, 0, 0], action [tick], reward −tick.
private func episodeRecords(_ episode: UInt32, ticks: Range<Int>, last: TransitionFlags = .timeout, dropBefore: [Int: UInt32] = [:],
                            timeBase: UInt64 = 0) -> [Transition] {
    ticks.map { t in
        var flags: TransitionFlags = t == ticks.lowerBound ? .episodeStart : []
        if t == ticks.upperBound - 1 { flags.formUnion(last) }
        return Transition(
            header: TransitionHeader(timestampNanos: timeBase + UInt64(t) * 5_000_000, tick: UInt64(t), episode: episode, flags: flags,
                                     reward: -Float(t), droppedBefore: dropBefore[t] ?? 0),
            observation: [Float(t), 0, 0], action: [Float(t)])
    }
}

/// Every transition of `records` by the one rule, as (observation tick, next observation tick, episode).
private func pairs(_ records: [Transition], decisionTicks: Int = 1, table: EpisodeTable = EpisodeTable()) -> [(Int, Int, UInt32, Bool)] {
    let pairing = TransitionPairing(observationCount: 3, actionCount: 1, decisionTicks: decisionTicks, episodes: table)
    var out: [(Int, Int, UInt32, Bool)] = []
    let emit: (TransitionPairing.Paired) -> Void = { out.append((Int($0.observation[0]), Int($0.nextObservation[0]), $0.episode, $0.terminal)) }
    for r in records {
        r.observation.withUnsafeBufferPointer { o in
            r.action.withUnsafeBufferPointer { a in pairing.add(r.header, observation: o, action: a, emit: emit) }
        }
    }
    pairing.finish(emit: emit)
    return out
}

@Suite("Dataset pairing: one records→transitions rule")
struct DatasetPairingTests {
    @Test("drops never pair across a gap, one tick or ten per decision")
    func dropsNeverPairAcrossAGap() {
        // Ticks 0..<30; records 10 and 11 lost in the ring: record 12 carries droppedBefore 2.
        var records = episodeRecords(0, ticks: 0..<30, dropBefore: [12: 2])
        records.removeAll { $0.header.tick == 10 || $0.header.tick == 11 }
        let one = pairs(records)
        #expect(one.allSatisfy { $0.1 - $0.0 == 1 }, "every pair is of consecutive ticks")
        #expect(!one.contains { $0.0 == 9 } && one.contains { $0.0 == 12 && $0.1 == 13 })
        #expect(one.count == 9 + 17, "0→9 gives 9 pairs, 12→29 gives 17 (the time-out record ends the last one)")
        let ten = pairs(records, decisionTicks: 10)
        #expect(ten.isEmpty, "decision 0 cannot close (tick 10 lost), decision 10 is lost, decision 20 times out")
        // Without the gap the decisions close normally.
        let full = pairs(episodeRecords(0, ticks: 0..<30), decisionTicks: 10)
        #expect(full.map { [$0.0, $0.1] } == [[0, 10], [10, 20]])
    }

    @Test("discarded episodes never give a transition, in any consumer of the rule")
    func discardedEpisodesSkipped() throws {
        let dir = makeTemporaryDirectory("discard")
        defer { removeTemporaryDirectory(dir) }
        let records = episodeRecords(0, ticks: 0..<20) + episodeRecords(1, ticks: 20..<50) + episodeRecords(2, ticks: 50..<60, last: .terminal)
        let w = try DatasetWriter(directory: dir, schema: testSchema())
        for r in records { try w.append(r) }
        try w.close()
        let writer = try EpisodeTableWriter(directory: dir)
        try writer.append(EpisodeEntry(episode: 1, status: .discarded, reason: "redo", firstTimestampNanos: 20 * 5_000_000,
                                       lastTimestampNanos: 49 * 5_000_000, firstTick: 20, lastTick: 49, records: 30))
        let reader = try DatasetReader(directory: dir)
        let loaded = try reader.episodeTable()
        var episodes: [UInt32] = []
        let pairing = reader.forEachTransition(episodes: loaded) { episodes.append($0.episode) }
        #expect(!episodes.contains(1) && pairing.discardedRecords == 30)
        // 19 from episode 0 (its time-out record has no successor), 10 from episode 2 (9 pairs + the terminal).
        #expect(episodes.count == 19 + 10)
        let kept = try reader.keptD4RLArrays()
        #expect(kept.count == 29 && !kept.observations.contains(25))
        #expect(reader.d4rlArrays().count == 29 + 29, "without the table the redo episode is ordinary data")
        #expect(D4RLArrays(records, observationSize: 3, actionSize: 1, episodes: loaded) == kept)
    }

    @Test("the rule is the documented D4RL pairing: terminal self-transition, time-out cut, abort, new episode")
    func documentedRule() {
        let records = episodeRecords(0, ticks: 0..<4, last: .terminal) + episodeRecords(1, ticks: 4..<8, last: .aborted)
            + episodeRecords(2, ticks: 8..<11, last: [])  // ends with the data
        let p = pairs(records)
        #expect(p.map { [$0.0, $0.1] } == [[0, 1], [1, 2], [2, 3], [3, 3], [4, 5], [5, 6], [6, 7], [8, 9], [9, 10]])
        #expect(p.map(\.3) == [false, false, false, true, false, false, false, false, false])
        let arrays = D4RLArrays(records, observationSize: 3, actionSize: 1)
        #expect(arrays.timeouts == [false, false, false, false, false, false, true, false, true])
    }

    @Test("a logger sink pairing live records agrees with the rule applied to the dataset it wrote, ring drops included")
    func liveAndOfflineAgree() throws {
        let dir = makeTemporaryDirectory("live")
        defer { removeTemporaryDirectory(dir) }
        final class Collect: TransitionSink {
            let pairing = TransitionPairing(observationCount: 3, actionCount: 1)
            var arrays = D4RLArrays(observationSize: 3, actionSize: 1)
            func record(_ h: TransitionHeader, observation: UnsafeBufferPointer<Float>, action: UnsafeBufferPointer<Float>) {
                pairing.add(h, observation: observation, action: action) { arrays.append($0) }
            }
            func drained() {}
        }
        let sink = Collect()
        let ring = TransitionRing(capacity: 8, observationCount: 3, actionCount: 1)
        let logger = TransitionLogger(ring: ring, writer: try DatasetWriter(directory: dir, schema: testSchema()), sink: sink)
        // Push in bursts larger than the ring, draining between them: every burst overflows.
        for burst in 0..<10 {
            for r in episodeRecords(UInt32(burst / 5), ticks: (burst * 13)..<(burst * 13 + 13), last: burst % 5 == 4 ? .timeout : []) {
                var h = r.header
                if burst % 5 != 0 && r.header.tick == UInt64(burst * 13) { h.flags.remove(.episodeStart) }
                ring.push(h, observation: r.observation, action: r.action)
            }
            logger.drain()
        }
        #expect(ring.droppedTotal > 0)
        try logger.writer!.close()
        sink.pairing.finish { sink.arrays.append($0) }
        let offline = try DatasetReader(directory: dir).keptD4RLArrays()
        #expect(sink.arrays == offline)
        // No transition spans a gap: next observation is always one tick on, or the terminal's own.
        let steps = zip(offline.observations.enumerated().filter { $0.offset % 3 == 0 }, offline.nextObservations.enumerated().filter { $0.offset % 3 == 0 })
        #expect(steps.allSatisfy { $1.element - $0.element == 1 })
    }
}
