import Tasks
import Foundation

/// The gap benchmark's statistics over seeds: a method's per-seed score (the mean real-plant
/// return of its last evaluation points), 95 % percentile-bootstrap confidence intervals over
/// seeds, and the stated tests for "A beats B" (a one-sided exact or Monte-Carlo permutation
/// test on the per-seed scores, with Welch's t beside it).
///
/// Every random choice comes from a seeded generator, so the same inputs give the same
/// intervals and p-values. Set-up code: allocates; single-threaded.
public enum GapStatistics {
    /// Evaluation points averaged into one seed's score (the "last 5 evaluation points").
    public static let scorePoints = 5
    /// Bootstrap resamples of every interval.
    public static let bootstrapResamples = 10_000
    /// Seed of every bootstrap and Monte-Carlo permutation stream.
    public static let seed: UInt64 = 0x5747_1C5

    /// splitmix64: a small, fixed stream so intervals do not depend on another type's generator.
    struct Stream {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in 0..<n (n ≥ 1), by rejection (no modulo bias).
        mutating func below(_ n: Int) -> Int {
            let bound = UInt64(n)
            let limit = UInt64.max - UInt64.max % bound
            while true {
                let x = next()
                if x < limit { return Int(x % bound) }
            }
        }
    }

    public static func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }

    /// Sample variance (n − 1); 0 for fewer than two values.
    public static func variance(_ v: [Double]) -> Double {
        guard v.count > 1 else { return 0 }
        let m = mean(v)
        return v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)
    }

    /// The score of one method × seed: the mean of `realReturn` over its last `points`
    /// curve points (fewer if the curve is shorter), in the order they were measured.
    public static func seedScores(_ curves: [GapBenchmark.CurvePoint], method: String, points: Int = scorePoints)
        -> [(seed: UInt64, score: Double)]
    {
        var order: [UInt64] = []
        var bySeed: [UInt64: [Double]] = [:]
        for p in curves where p.method == method {
            if bySeed[p.seed] == nil { order.append(p.seed) }
            bySeed[p.seed, default: []].append(p.realReturn)
        }
        return order.map { s in (s, mean(Array(bySeed[s]!.suffix(max(points, 1))))) }
    }

    /// A two-sided percentile interval.
    public struct Interval: Sendable, Codable, Equatable {
        public var lower: Double
        public var upper: Double
        public init(lower: Double, upper: Double) {
            self.lower = lower
            self.upper = upper
        }
        public func contains(_ x: Double) -> Bool { x >= lower && x <= upper }
    }

    /// The `q`-quantile of sorted values, linear between order statistics (type 7).
    static func quantile(sorted v: [Double], _ q: Double) -> Double {
        guard !v.isEmpty else { return .nan }
        let h = Double(v.count - 1) * q
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, v.count - 1)
        return v[lo] + (h - Double(lo)) * (v[hi] - v[lo])
    }

    /// Percentile-bootstrap interval of `statistic` over independent groups: each resample
    /// draws every group's values with replacement (its own size), `resamples` times.
    /// A group of one value is held fixed; NaN statistics are dropped from the quantiles.
    public static func bootstrap(
        _ groups: [[Double]], confidence: Double = 0.95, resamples: Int = bootstrapResamples, seed: UInt64 = seed,
        statistic: ([[Double]]) -> Double
    ) -> Interval {
        guard groups.allSatisfy({ !$0.isEmpty }), resamples >= 1 else { return Interval(lower: .nan, upper: .nan) }
        var stream = Stream(state: seed)
        var draws: [Double] = []
        draws.reserveCapacity(resamples)
        var sample = groups
        for _ in 0..<resamples {
            for g in groups.indices where groups[g].count > 1 {
                for i in groups[g].indices { sample[g][i] = groups[g][stream.below(groups[g].count)] }
            }
            let s = statistic(sample)
            if s.isFinite { draws.append(s) }
        }
        draws.sort()
        let tail = (1 - confidence) / 2
        return Interval(lower: quantile(sorted: draws, tail), upper: quantile(sorted: draws, 1 - tail))
    }

    /// 95 % percentile-bootstrap interval of the mean of `values` over seeds.
    public static func meanInterval(_ values: [Double], resamples: Int = bootstrapResamples, seed: UInt64 = seed) -> Interval {
        bootstrap([values], resamples: resamples, seed: seed) { mean($0[0]) }
    }

    /// Normalised score (R − R_zero)/(R_ceiling − R_zero): 0 is the zero-action policy, 1 the ceiling.
    public static func normalised(_ r: Double, zero: Double, ceiling: Double) -> Double { (r - zero) / (ceiling - zero) }

    /// Fraction of the gap between `baseline` (sim-only SAC) and the ceiling that `r` closes:
    /// (R − R_base)/(R_ceiling − R_base); negative when worse than the baseline.
    public static func gapClosed(_ r: Double, baseline: Double, ceiling: Double) -> Double { (r - baseline) / (ceiling - baseline) }

    /// Welch's unequal-variance t test of mean(a) > mean(b).
    public struct Welch: Sendable, Codable, Equatable {
        public var t: Double
        /// Welch–Satterthwaite degrees of freedom.
        public var degreesOfFreedom: Double
        /// One-sided p-value: P(T ≥ t) under equal means.
        public var pOneSided: Double
    }

    /// Welch's t for "a beats b" (a's mean larger). Needs two values per group; equal
    /// constant groups give t = 0 and p = 0.5, unequal constant groups t = ±∞ and p = 0 or 1.
    public static func welch(_ a: [Double], _ b: [Double]) -> Welch {
        precondition(a.count >= 2 && b.count >= 2, "Welch's t needs two values per group")
        let va = variance(a) / Double(a.count), vb = variance(b) / Double(b.count)
        let d = mean(a) - mean(b)
        let se = (va + vb).squareRoot()
        if se == 0 {
            let t = d == 0 ? 0 : (d > 0 ? Double.infinity : -Double.infinity)
            return Welch(t: t, degreesOfFreedom: Double(a.count + b.count - 2), pOneSided: d == 0 ? 0.5 : (d > 0 ? 0 : 1))
        }
        let t = d / se
        let df = (va + vb) * (va + vb) / (va * va / Double(a.count - 1) + vb * vb / Double(b.count - 1))
        return Welch(t: t, degreesOfFreedom: df, pOneSided: studentUpperTail(t, df))
    }

    /// P(T ≥ t) for Student's t with `df` degrees of freedom.
    public static func studentUpperTail(_ t: Double, _ df: Double) -> Double {
        let x = df / (df + t * t)
        let half = 0.5 * regularizedIncompleteBeta(x, df / 2, 0.5)
        return t >= 0 ? half : 1 - half
    }

    /// I_x(a, b), by the continued fraction (modified Lentz), with the symmetry
    /// I_x(a, b) = 1 − I_{1−x}(b, a) where it converges faster.
    public static func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logBeta + logPowers)
        if x > (a + 1) / (a + b + 2) { return 1 - front * betaFraction(1 - x, b, a) / b }
        return front * betaFraction(x, a, b) / a
    }

    static func betaFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            let evenDenominator: Double = (a + 2 * m - 1) * (a + 2 * m)
            let even: Double = m * (b - m) * x / evenDenominator
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            let oddDenominator: Double = (a + 2 * m) * (a + 2 * m + 1)
            let odd: Double = -(a + m) * (a + b + m) * x / oddDenominator
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return h
    }

    /// A one-sided permutation test of mean(a) > mean(b) on the pooled values.
    public struct Permutation: Sendable, Codable, Equatable {
        /// P(mean difference of a relabelling ≥ the observed one), the observed labelling included.
        public var pOneSided: Double
        /// True when every relabelling was enumerated; false for a seeded Monte-Carlo sample.
        public var exact: Bool
        /// Relabellings counted.
        public var count: Int
    }

    /// Exact when C(n_a + n_b, n_a) ≤ `exactLimit` relabellings, else `samples` seeded random
    /// ones with p = (1 + hits)/(1 + samples).
    public static func permutation(
        _ a: [Double], _ b: [Double], exactLimit: Int = 1_000_000, samples: Int = 100_000, seed: UInt64 = seed
    ) -> Permutation {
        precondition(!a.isEmpty && !b.isEmpty, "the permutation test needs values in both groups")
        let pooled = a + b
        let n = pooled.count, k = a.count
        // mean(A') − mean(B') is increasing in sum(A'), so compare sums (with a tolerance for rounding).
        let observed = a.reduce(0, +)
        let tolerance = 1e-9 * max(1, pooled.map(abs).max()!) * Double(n)
        var combinations = 1.0
        for i in 0..<k { combinations = combinations * Double(n - i) / Double(i + 1) }
        if combinations <= Double(exactLimit) {
            var hits = 0, count = 0
            var index = Array(0..<k)
            while true {
                var s = 0.0
                for i in index { s += pooled[i] }
                if s >= observed - tolerance { hits += 1 }
                count += 1
                // Next k-combination of 0..<n in lexicographic order.
                var i = k - 1
                while i >= 0 && index[i] == n - k + i { i -= 1 }
                if i < 0 { break }
                index[i] += 1
                for j in (i + 1)..<k { index[j] = index[j - 1] + 1 }
            }
            return Permutation(pOneSided: Double(hits) / Double(count), exact: true, count: count)
        }
        var stream = Stream(state: seed)
        var shuffled = pooled
        var hits = 0
        for _ in 0..<samples {
            // Partial Fisher–Yates: the first k positions are a uniform k-subset.
            for i in 0..<k {
                let j = i + stream.below(n - i)
                shuffled.swapAt(i, j)
            }
            var s = 0.0
            for i in 0..<k { s += shuffled[i] }
            if s >= observed - tolerance { hits += 1 }
        }
        return Permutation(pOneSided: Double(1 + hits) / Double(1 + samples), exact: false, count: samples)
    }

    /// "A beats B" with both tests, for reports.
    public struct Comparison: Sendable, Codable, Equatable {
        public var a: String
        public var b: String
        public var meanDifference: Double
        public var permutation: Permutation
        public var welch: Welch?
    }

    /// Compares per-seed scores of `a` against `b` (Welch only with ≥ 2 seeds each).
    public static func compare(_ a: String, _ sa: [Double], _ b: String, _ sb: [Double]) -> Comparison {
        Comparison(
            a: a, b: b, meanDifference: mean(sa) - mean(sb), permutation: permutation(sa, sb),
            welch: sa.count >= 2 && sb.count >= 2 ? welch(sa, sb) : nil)
    }
}
