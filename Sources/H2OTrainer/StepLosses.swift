/// The scalars one training step reports (metric names in `metricNames`).
public struct StepLosses: Sendable, Equatable {
    /// L_sa, the (s,a) discriminator's cross-entropy (0 when the algorithm has none).
    public var discriminatorSA: Float = 0
    /// L_sas, the (s,a,s') discriminator's cross-entropy.
    public var discriminatorSAS: Float = 0
    /// L_π (IQL: the advantage-weighted negative log-likelihood).
    public var actor: Float = 0
    /// L_α.
    public var alpha: Float = 0
    /// L_Q summed over both critics (H2O: penalty included).
    public var critic: Float = 0
    /// L_V (expectile regression on real data).
    public var value: Float = 0
    /// H2O: the CQL-style penalty summed over both critics (β included).
    public var penalty: Float = 0
    /// α used in this step (before its update).
    public var alphaValue: Float = 0
    /// Mean clipped sim weight w_c over the sim rows (1 when there are none).
    public var simWeightMean: Float = 1
    /// Mean log π(ã|s) over the batch.
    public var logProbabilityMean: Float = 0

    public init() {}

    /// Namespaced names and values, in a fixed order (CSV columns, JSON keys).
    public var named: [(String, Float)] {
        [
            ("losses/critic", critic), ("losses/value", value), ("losses/actor", actor),
            ("losses/alpha", alpha), ("losses/disc_sa", discriminatorSA), ("losses/disc_sas", discriminatorSAS),
            ("losses/penalty", penalty), ("charts/alpha", alphaValue), ("charts/sim_weight_mean", simWeightMean),
            ("charts/log_pi_mean", logProbabilityMean),
        ]
    }

    /// The first loss that is NaN or infinite, with its name.
    public var firstNonFinite: (name: String, value: Float)? {
        named.first { !$0.1.isFinite }.map { ($0.0, $0.1) }
    }
}
