// What each figure of a report is, in words: the summary values of run.json and the
// trainer's namespaced metrics (CleanRL style: losses/…, charts/…, buffers/…) get a human
// title, a unit and one sentence. Unknown keys fall back to their raw name.

import Foundation

/// A summary value's label, unit and meaning.
public struct SummaryEntry: Sendable {
    public var key: String
    public var label: String
    public var unit: String
    public var meaning: String
    /// A key whose value is shown as "± spread" after this one.
    public var spreadKey: String?
}

/// run.json summary keys in reading order (as `robotctl run` writes them).
public let summaryCatalog: [SummaryEntry] = [
    SummaryEntry(key: "return_first_mean", label: "Return of the starting policy", unit: "",
                 meaning: "mean ± std of the undiscounted return of its first deterministic episodes on the robot (before any candidate ran)",
                 spreadKey: "return_first_std"),
    SummaryEntry(key: "return_last_mean", label: "Return at the end", unit: "",
                 meaning: "mean ± std of the last deterministic episodes (the window below); higher is better", spreadKey: "return_last_std"),
    SummaryEntry(key: "return_change", label: "Change", unit: "", meaning: "return at the end minus that of the starting policy: what fine-tuning on the robot gained"),
    SummaryEntry(key: "return_best", label: "Best episode", unit: "", meaning: "the highest return of one deterministic episode"),
    SummaryEntry(key: "ceiling", label: "Ceiling", unit: "", meaning: "the best return this task allows on this robot (the dashed line of the headline chart)"),
    SummaryEntry(key: "return_window", label: "Episodes per mean", unit: "episodes", meaning: "how many episodes each of the two means above averages"),
    SummaryEntry(key: "episodes", label: "Episodes finished", unit: "", meaning: "episodes that ran to their time limit"),
    SummaryEntry(key: "exploring_episodes", label: "Exploring episodes", unit: "", meaning: "of those, episodes with action noise for the learner (they measure no policy and are drawn apart)"),
    SummaryEntry(key: "aborted_episodes", label: "Aborted episodes", unit: "", meaning: "episodes cut short by a safety stop"),
    SummaryEntry(key: "policy_swaps", label: "Policy swaps", unit: "", meaning: "policies the trainer published into the loop while the robot ran"),
    SummaryEntry(key: "candidates_kept", label: "Candidates kept", unit: "", meaning: "published policies that beat the running one on the robot and stayed"),
    SummaryEntry(key: "candidates_reverted", label: "Candidates reverted", unit: "", meaning: "published policies that did worse on the robot and were replaced by the previous one"),
    SummaryEntry(key: "final_policy_version", label: "Final policy version", unit: "", meaning: "the version running at the end (saved as policy.safetensors)"),
    SummaryEntry(key: "trainer_updates", label: "Trainer updates", unit: "", meaning: "H2O+ gradient updates the trainer thread made during the run"),
    SummaryEntry(key: "seconds", label: "Duration", unit: "s", meaning: "time the control loop ran"),
    SummaryEntry(key: "loop_hz", label: "Loop rate", unit: "Hz", meaning: "ticks per second actually run (the target is the control rate)"),
    SummaryEntry(key: "jitter_p99_us", label: "Period jitter (p99)", unit: "µs", meaning: "99th percentile of the difference between a tick's period and the nominal one"),
    SummaryEntry(key: "missed_deadlines", label: "Missed deadlines", unit: "ticks", meaning: "ticks whose deadline passed before the loop woke (the loop skips ahead instead of bursting)"),
    SummaryEntry(key: "ticks", label: "Ticks", unit: "", meaning: "control-loop iterations"),
    SummaryEntry(key: "records_written", label: "Records written", unit: "", meaning: "ticks recorded to the dataset (one per tick)"),
    SummaryEntry(key: "records_dropped", label: "Records dropped", unit: "", meaning: "ticks the logger could not keep up with (the recorder ring was full)"),
    SummaryEntry(key: "safety_stops", label: "Safety stops", unit: "", meaning: "times the safety layer stopped the robot (limits, watchdog, e-stop)"),
]

/// A trainer metric's title, y-axis label and meaning.
public struct MetricEntry: Sendable {
    public var title: String
    public var unit: String
    public var meaning: String
}

/// Trainer metrics by their namespaced key.
public let metricCatalog: [String: MetricEntry] = [
    "losses/critic": MetricEntry(title: "Critic loss", unit: "loss (squared TD error)", meaning: "how far the two Q networks are from their targets, summed over both"),
    "losses/value": MetricEntry(title: "Value loss", unit: "loss (expectile)", meaning: "the state-value network V fitted to real data only (H2O+'s anchor)"),
    "losses/actor": MetricEntry(title: "Actor loss", unit: "loss", meaning: "the policy's objective, α·log π − Q (lower: the policy finds higher-valued actions)"),
    "losses/alpha": MetricEntry(title: "Temperature loss", unit: "loss", meaning: "drives the policy's entropy towards its target"),
    "losses/disc_sa": MetricEntry(title: "Discriminator loss, (s, a)", unit: "cross-entropy", meaning: "the real-vs-simulator classifier on state and action; near ln 4 ≈ 1.39 when it cannot tell them apart"),
    "losses/disc_sas": MetricEntry(title: "Discriminator loss, (s, a, s′)", unit: "cross-entropy", meaning: "the real-vs-simulator classifier on transitions: the dynamics gap it sees"),
    "losses/penalty": MetricEntry(title: "Conservatism penalty", unit: "loss", meaning: "H2O's CQL-style penalty on simulator Q values (0 for H2O+)"),
    "charts/alpha": MetricEntry(title: "Entropy temperature α", unit: "α", meaning: "weight of the entropy bonus; falls as the policy settles"),
    "charts/sim_weight_mean": MetricEntry(title: "Weight of simulator data", unit: "mean weight", meaning: "mean importance weight the discriminators give simulator transitions (1: as plausible as real)"),
    "charts/log_pi_mean": MetricEntry(title: "Policy log-probability", unit: "mean log π", meaning: "mean log-probability of the policy's sampled actions (higher: less random)"),
    "charts/eval_return": MetricEntry(title: "Evaluation return", unit: "return", meaning: "the deterministic policy's return on the emulated plant, every few epochs"),
    "charts/updates_per_s": MetricEntry(title: "Trainer speed", unit: "updates/s", meaning: "gradient updates per second"),
    "charts/sim_episode_return": MetricEntry(title: "Return in the onboard simulator", unit: "return", meaning: "episodes the trainer collects in its simulator with the current stochastic policy"),
    "buffers/real": MetricEntry(title: "Real transitions in replay", unit: "transitions", meaning: "robot transitions the learner samples from"),
    "buffers/sim": MetricEntry(title: "Simulator transitions in replay", unit: "transitions", meaning: "simulator transitions the learner samples from"),
]

/// The namespace groups of trainer metrics, in the order the report shows them.
public let metricGroups: [(prefix: String, title: String)] = [
    ("charts", "Charts (charts/…)"), ("losses", "Losses (losses/…)"), ("buffers", "Replay buffers (buffers/…)"),
]

/// The catalog entry for `name`, or one made from the raw key.
public func metricEntry(_ name: String) -> MetricEntry {
    metricCatalog[name] ?? MetricEntry(title: name, unit: "value", meaning: "")
}
