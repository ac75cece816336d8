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

    /// Metric names, in the order of `value(at:)` (CSV columns, JSON keys).
    public static let names = [
        "losses/critic", "losses/value", "losses/actor", "losses/alpha", "losses/disc_sa", "losses/disc_sas",
        "losses/penalty", "charts/alpha", "charts/sim_weight_mean", "charts/log_pi_mean",
    ]

    /// The value of metric `names[i]`. Real-time safe: does not allocate, lock or throw.
    public func value(at i: Int) -> Float {
        switch i {
        case 0: critic
        case 1: value
        case 2: actor
        case 3: alpha
        case 4: discriminatorSA
        case 5: discriminatorSAS
        case 6: penalty
        case 7: alphaValue
        case 8: simWeightMean
        default: logProbabilityMean
        }
    }

    /// Namespaced names and values (allocates; for files and printing).
    public var named: [(String, Float)] { Self.names.indices.map { (Self.names[$0], value(at: $0)) } }

    /// The first loss that is NaN or infinite, with its name. Does not allocate unless one is.
    public var firstNonFinite: (name: String, value: Float)? {
        for i in 0..<Self.names.count where !value(at: i).isFinite { return (Self.names[i], value(at: i)) }
        return nil
    }
}
