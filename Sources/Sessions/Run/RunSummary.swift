import Control
import Foundation

/// The summary printed at the end of `run` and stored in run.json. The return change is the
/// mean of the last `window` deterministic episodes minus that of the starting policy's
/// first episodes (up to `window`, before any candidate ran): the figure the README states,
/// measured the same way in every run.
public struct RunSummary {
    public static let window = 5
    public let lines: [String]
    public let json: [String: Any]

    public init(result r: OnRobotResult) {
        let done = r.episodes.filter { !$0.aborted }
        // Exploring episodes (action noise for the learner) measure no policy.
        let exploring = done.filter(\.exploring).count
        let measured = done.filter { !$0.exploring }
        let returns = measured.map(\.episodeReturn)
        let n = Self.window
        // The starting policy (version 1) runs the first episodes, before any candidate.
        let first = measured.prefix { $0.policyVersion == 1 }.prefix(n).map(\.episodeReturn), last = returns.suffix(n)
        func mean(_ a: some Collection<Double>) -> Double { a.isEmpty ? .nan : a.reduce(0, +) / Double(a.count) }
        func spread(_ a: some Collection<Double>) -> Double {
            guard a.count > 1 else { return .nan }
            let m = mean(a)
            return (a.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(a.count - 1)).squareRoot()
        }
        let s = r.statistics
        let jitter = Double(s.periodError.percentile(0.99)) / 1000
        let hz = r.seconds > 0 ? Double(s[.ticks]) / r.seconds : 0
        let safety = r.events.filter { $0.kind == "safety_stop" }.count
        let kept = r.events.filter { $0.kind == "policy_kept" }.count
        let reverted = r.events.filter { $0.kind == "policy_reverted" }.count
        let change = mean(last) - mean(first)
        var lines = [
            String(format: "run: %.0f s (%@), %llu ticks, %.1f Hz, period jitter p99 %.0f µs, %llu missed deadlines", r.seconds, r.endReason, s[.ticks], hz, jitter, s[.missedDeadlines]),
            "episodes: \(done.count) finished (\(exploring) exploring), \(r.episodes.count - done.count) aborted; policy swaps \(r.swaps.count) (candidates kept \(kept), reverted \(reverted)), final policy v\(r.finalPolicyVersion); trainer updates \(r.trainerUpdates)",
            String(format: "return (deterministic episodes): first %d (starting policy) %.1f ± %.1f, last %d %.1f ± %.1f, change %+.1f; best %.1f",
                   first.count, mean(first), spread(first), last.count, mean(last), spread(last), change, returns.max() ?? .nan),
            "records: \(r.recordsWritten) written, \(r.droppedRecords) dropped; safety stops \(safety); real-time: \(r.realtime)",
        ]
        if r.episodes.isEmpty { lines[2] = "return: no episode finished (the reset phase or a short duration)" }
        self.lines = lines
        func num(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
        json = [
            "seconds": r.seconds, "end_reason": r.endReason, "ticks": s[.ticks], "loop_hz": hz, "jitter_p99_us": jitter,
            "missed_deadlines": s[.missedDeadlines], "episodes": done.count, "exploring_episodes": exploring, "aborted_episodes": r.episodes.count - done.count,
            "policy_swaps": r.swaps.count, "candidates_kept": kept, "candidates_reverted": reverted,
            "final_policy_version": r.finalPolicyVersion, "trainer_updates": r.trainerUpdates,
            "return_window": n, "return_first_mean": num(mean(first)), "return_last_mean": num(mean(last)),
            "return_first_std": num(spread(first)), "return_last_std": num(spread(last)), "return_change": num(change),
            "return_best": num(returns.max() ?? .nan),
            "records_written": r.recordsWritten, "records_dropped": r.droppedRecords, "safety_stops": safety,
        ]
    }
}
