import Control
import Foundation
@testable import H2OTrainer
@testable import Sessions
import Testing
import Tasks

@Suite("On-robot decision rate and the robot reset")
struct OnRobotDecisionTests {
    /// Pushes one episode of `ticks` records (observation [t, 0, 0], action [t/10 rounded down
    /// to the decision], reward −(t+1)) ending with `last` flags.
    static func pushEpisode(_ ring: TransitionRing, episode: UInt32, ticks: Int, decisionTicks: Int, last: TransitionFlags) {
        for t in 0..<ticks {
            var flags: TransitionFlags = t == 0 ? [.episodeStart] : []
            if t == ticks - 1 { flags.formUnion(last) }
            let obs: [Float] = [Float(t), 0, 0]
            let act: [Float] = [Float(t - t % decisionTicks)]
            _ = ring.push(
                TransitionHeader(timestampNanos: UInt64(t) * 5_000_000, tick: UInt64(t), policyVersion: 1, episode: episode, flags: flags,
                                 reward: -Float(t + 1), droppedBefore: 0),
                observation: obs, action: act)
        }
    }

    @Test("with 10 ticks per decision the recorder hands the trainer one transition per decision with the summed rewards")
    func recorderAggregatesDecisions() throws {
        let ring = TransitionRing(capacity: 256, observationCount: 3, actionCount: 1)
        let recorder = RunRecorder(ring: ring, writer: nil, startNanos: 0, feedsTrainer: true, decisionTicks: 10)
        Self.pushEpisode(ring, episode: 0, ticks: 50, decisionTicks: 10, last: .timeout)
        recorder.drainForLoading()
        let p = recorder.takeTransitions()
        // 5 decisions; the time-out's decision (ticks 40–49) has no successor.
        #expect(p.count == 4)
        for i in 0..<p.count {
            #expect(p.observations[3 * i] == Float(10 * i))
            #expect(p.actions[i] == Float(10 * i))
            #expect(p.nextObservations[3 * i] == Float(10 * (i + 1)))
            // −Σ_{t=10i}^{10i+9} (t+1)
            let expected = -Float((10 * i + 1...10 * i + 10).reduce(0, +))
            #expect(p.rewards[i] == expected)
        }
        #expect(p.terminals.allSatisfy { !$0 })
        let e = try #require(recorder.episodes.first)
        #expect(e.ticks == 50 && e.episodeReturn == -Double((1...50).reduce(0, +)))
    }

    @Test("a terminal in the middle of a decision ends that decision's transition with the rewards so far")
    func terminalMidDecision() throws {
        let ring = TransitionRing(capacity: 256, observationCount: 3, actionCount: 1)
        let recorder = RunRecorder(ring: ring, writer: nil, startNanos: 0, feedsTrainer: true, decisionTicks: 10)
        Self.pushEpisode(ring, episode: 0, ticks: 25, decisionTicks: 10, last: .terminal)
        Self.pushEpisode(ring, episode: 1, ticks: 20, decisionTicks: 10, last: .timeout)
        recorder.drainForLoading()
        let p = recorder.takeTransitions()
        // Episode 0: decisions at 0 and 10 close normally, the one at 20 ends terminal at tick 24;
        // episode 1: its decision at 0 closes at 10, the one at 10 times out.
        #expect(p.count == 4)
        #expect(p.terminals == [false, false, true, false])
        #expect(p.observations[6] == 20 && p.nextObservations[6] == 24)
        #expect(p.rewards[2] == -Float((21...25).reduce(0, +)))
        #expect(p.observations[9] == 0 && p.nextObservations[9] == 10, "episode 1 starts its own decisions")
        #expect(recorder.episodes.count == 2)
    }

    @Test("one tick per decision gives one transition per tick, as before")
    func oneTickPerDecision() throws {
        let ring = TransitionRing(capacity: 64, observationCount: 3, actionCount: 1)
        let recorder = RunRecorder(ring: ring, writer: nil, startNanos: 0, feedsTrainer: true)
        Self.pushEpisode(ring, episode: 0, ticks: 6, decisionTicks: 1, last: .timeout)
        recorder.drainForLoading()
        let p = recorder.takeTransitions()
        #expect(p.count == 5)
        #expect(p.rewards == [-1, -2, -3, -4, -5])
    }

    @Test("selection on the robot keeps a candidate only when its mean beats the running policy beyond the noise")
    func selectionVerdicts() {
        let steady = [-600.0, -604, -598, -602]  // spread ≈ 2.6 (Welch standard errors below)
        // Two episodes clearly better: kept. One episode, not yet judged.
        #expect(RobotSelection.judge(trial: [-520, -530], incumbent: steady, margin: 5, trialEpisodes: 2) == .keep)
        #expect(RobotSelection.judge(trial: [-520], incumbent: steady, margin: 5, trialEpisodes: 2) == .continueTrial)
        // Within the margin: reverted after the trial; clearly worse: reverted after one episode.
        #expect(RobotSelection.judge(trial: [-598, -597], incumbent: steady, margin: 5, trialEpisodes: 2) == .revert)
        #expect(RobotSelection.judge(trial: [-700], incumbent: steady, margin: 5, trialEpisodes: 2) == .revert)
        // A noisy running policy (bimodal returns) needs a larger gain: 60 is inside the noise.
        let noisy = [-630.0, -500, -630, -500]
        #expect(RobotSelection.judge(trial: [-505, -515], incumbent: noisy, margin: 5, trialEpisodes: 2) == .revert)
        #expect(RobotSelection.judge(trial: [-400, -410], incumbent: noisy, margin: 5, trialEpisodes: 2) == .keep)
        // A start policy whose returns spread over two modes (a run's baseline of 7 episodes)
        // and a candidate that stays in the better one: kept.
        let run = [-633.0, -622, -494, -511, -526, -557, -619]
        #expect(RobotSelection.judge(trial: [-507, -505], incumbent: run, margin: 5, trialEpisodes: 2) == .keep)
        #expect(RobotSelection.judge(trial: [-507, -505], incumbent: Array(run.prefix(3)), margin: 5, trialEpisodes: 2) == .revert,
                "three baseline episodes are not enough to tell")
        // One trial episode: judged at once.
        #expect(RobotSelection.judge(trial: [-590], incumbent: steady, margin: 5, trialEpisodes: 1) == .keep)
    }
}
