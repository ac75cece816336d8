import Control
import FixedNN
import H2OTrainer

/// Policy selection on the robot. A candidate is published when an episode has just ended
/// and runs up to `trialEpisodes` whole deterministic episodes; `judge` then keeps it (it
/// becomes the running policy) or publishes the running policy's parameters again. The
/// running policy's recent deterministic returns (up to `window` episodes) are the baseline:
/// a candidate is kept only if its mean beats the baseline mean by more than the margin and
/// by twice the standard error of the difference (Welch: both sides' sample spreads), and a
/// clearly worse first episode ends a trial early. After every `exploreEveryTrials` trials
/// the running policy runs one episode itself — with exploration noise when `explorationStd`
/// > 0, otherwise deterministic, refreshing its baseline. The robot time a bad candidate costs
/// stays one episode; a lucky episode alone does not replace the running policy.
///
/// Thread contract: the session's supervising thread only.
struct RobotSelection {
    var incumbentParameters: [Float]
    var incumbentVersion: UInt64 = 1
    /// Returns of the running policy's recent episodes (newest last).
    var incumbentReturns: [Double] = []
    var trial: (version: UInt64, candidate: PolicyCandidate, returns: [Double])?
    var seenEpisodes = 0
    var kept = 0
    var reverted = 0
    /// The next episode is the running policy's own (set when every `exploreEveryTrials`-th trial ends).
    var exploreNext = false
    var trialsSinceExploring = 0
    let margin: Double
    let trialEpisodes: Int
    let explorationStd: Float
    let exploreEveryTrials: Int
    let window = 8
    /// Deterministic episodes of the running policy before the first trial (its baseline).
    let baselineEpisodes = 5

    init(parameters: [Float], margin: Double, trialEpisodes: Int, explorationStd: Float, exploreEveryTrials: Int) {
        self.exploreEveryTrials = max(1, exploreEveryTrials)
        incumbentParameters = parameters
        self.margin = margin
        self.trialEpisodes = max(1, trialEpisodes)
        self.explorationStd = explorationStd
    }

    enum Verdict: Equatable { case keep, revert, continueTrial }

    /// The decision after the trial's episodes so far. `incumbent` non-empty.
    static func judge(trial: [Double], incumbent: [Double], margin: Double, trialEpisodes: Int) -> Verdict {
        func mean(_ a: [Double]) -> Double { a.reduce(0, +) / Double(a.count) }
        // Sample variance (0 with one episode).
        func variance(_ a: [Double]) -> Double {
            guard a.count > 1 else { return 0 }
            let m = mean(a)
            return a.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(a.count - 1)
        }
        let base = mean(incumbent)
        let standardError = (variance(incumbent) / Double(incumbent.count) + variance(trial) / Double(trial.count)).squareRoot()
        let threshold = max(margin, 2 * standardError)
        let gain = mean(trial) - base
        if trial.count >= trialEpisodes { return gain > threshold ? .keep : .revert }
        return gain < -threshold ? .revert : .continueTrial
    }

    /// Called by the supervising thread every few ms. When an episode has ended it judges a
    /// trial, then chooses the next episode: after every `exploreEveryTrials`-th trial, one
    /// episode of the running policy (with exploration noise when `explorationStd` > 0); otherwise the newest candidate on
    /// trial (once the running policy has its baseline); in `finalPhase`, only the running
    /// policy, deterministic.
    mutating func step<T, L>(session: RunSession<T, L>, now: UInt64, finalPhase: Bool) {
        let episodes = session.recorder.episodes
        guard episodes.count > seenEpisodes else { return }
        let fresh = episodes[seenEpisodes...]
        seenEpisodes = episodes.count
        let ticks = session.loop.statistics.value(.ticks)
        let log = session.log
        for e in fresh where !e.aborted && !e.exploring {
            if var t = trial, e.policyVersion == t.version {
                t.returns.append(e.episodeReturn)
                trial = t
                let baseline = incumbentReturns.reduce(0, +) / Double(max(1, incumbentReturns.count))
                let trialMean = t.returns.reduce(0, +) / Double(t.returns.count)
                let returns = t.returns.map { String(format: "%.1f", $0) }.joined(separator: ", ")
                switch Self.judge(trial: t.returns, incumbent: incumbentReturns, margin: margin, trialEpisodes: trialEpisodes) {
                case .continueTrial:
                    continue
                case .keep:
                    log.event("policy_kept", String(format: "v%llu returned %@ (mean %.1f) on the robot, above the running v%llu's %.1f over %d episodes", t.version, returns, trialMean, incumbentVersion, baseline, incumbentReturns.count), tick: ticks, at: now)
                    incumbentParameters = t.candidate.parameters
                    incumbentVersion = t.version
                    incumbentReturns = t.returns
                    kept += 1
                case .revert:
                    reverted += 1
                    let back = incumbentParameters.withUnsafeBufferPointer { session.publisher.publish($0, source: "restore v\(incumbentVersion)") }
                    if case .success(let v) = back {
                        log.event("policy_reverted", String(format: "v%llu returned %@ (mean %.1f) on the robot, not clearly above the running v%llu's %.1f over %d episodes; v%llu restored as v%llu", t.version, returns, trialMean, incumbentVersion, baseline, incumbentReturns.count, incumbentVersion, v), tick: ticks, at: now)
                        log.swap(PolicySwap(seconds: log.seconds(at: now), tick: ticks, version: v, trainerUpdates: t.candidate.trainerUpdates, validationReturn: .nan))
                        incumbentVersion = v
                    }
                }
                trial = nil
                trialsSinceExploring += 1
                if trialsSinceExploring >= exploreEveryTrials {
                    exploreNext = true
                    trialsSinceExploring = 0
                }
            } else if trial == nil && e.policyVersion == incumbentVersion {
                incumbentReturns.append(e.episodeReturn)
                if incumbentReturns.count > window { incumbentReturns.removeFirst() }
            }
        }
        // An episode just ended: choose the next one (the loop latches the noise at its start).
        guard trial == nil else { return }
        if exploreNext && !finalPhase {
            exploreNext = false
            session.loop.setExplorationNoise(std: explorationStd)
            return
        }
        session.loop.setExplorationNoise(std: 0)
        if !finalPhase, incumbentReturns.count >= baselineEpisodes, let c = session.publisher.takeCandidate() {
            let result = c.parameters.withUnsafeBufferPointer { session.publisher.publish($0, source: "trial") }
            switch result {
            case .success(let v):
                trial = (v, c, [])
                session.publisher.recordValidation(version: v, value: c.validationReturn)
                log.swap(PolicySwap(seconds: log.seconds(at: now), tick: ticks, version: v, trainerUpdates: c.trainerUpdates, validationReturn: c.validationReturn))
            case .failure(let rejection):
                log.event("policy_rejected", rejection.description, tick: ticks, at: now)
            }
        }
    }
}

extension PolicySlot {
    /// The front policy's parameters before the loop has started (set-up only).
    func acquireForSetup() -> UnsafeMutableBufferPointer<Float> { acquire().policy.parameters }
}
