import Foundation
import Testing

@testable import Benchmarks
import H2OTrainer
import Tasks

@Suite("Gap benchmark statistics")
struct GapStatisticsTests {
    private func point(_ method: String, _ seed: UInt64, _ updates: Int, _ r: Double) -> GapBenchmark.CurvePoint {
        GapBenchmark.CurvePoint(
            method: method, seed: seed, updates: updates, simSteps: 0, realReturn: r, simReturn: 0, seconds: 0)
    }

    @Test("a seed's score is the mean of its last five evaluation points, per seed in run order")
    func seedScores() {
        var curves: [GapBenchmark.CurvePoint] = []
        for (k, r) in [-2000.0, -900, -800, -700, -600, -500, -400].enumerated() { curves.append(point("a", 7, k * 10, r)) }
        curves += [point("a", 3, 0, -100), point("a", 3, 10, -300), point("b", 7, 0, 5)]
        let s = GapStatistics.seedScores(curves, method: "a")
        #expect(s.map(\.seed) == [7, 3])
        // (−800 − 700 − 600 − 500 − 400)/5 = −600: the first two points are dropped.
        #expect(s[0].score == -600)
        // A shorter curve averages what it has.
        #expect(s[1].score == -200)
        #expect(GapStatistics.seedScores(curves, method: "a", points: 1)[0].score == -400)
    }

    @Test("Welch's t, its degrees of freedom and one-sided p match scipy.stats.ttest_ind(equal_var=False)")
    func welch() {
        // scipy 1.17: ttest_ind(a, b, equal_var=False, alternative='greater').
        let w = GapStatistics.welch([-500, -520, -480, -510, -505], [-700, -650, -800, -690, -720])
        #expect(abs(w.t - 8.147668284867958) < 1e-9)
        #expect(abs(w.degreesOfFreedom - 4.570360909081312) < 1e-9)
        #expect(abs(w.pOneSided - 0.0003432628763320634) < 1e-9)
        let w2 = GapStatistics.welch([1, 2, 3, 4], [1.5, 2.5, 2, 3, 1])
        #expect(abs(w2.t - 0.6793662204867574) < 1e-9)
        #expect(abs(w2.degreesOfFreedom - 4.749414519906323) < 1e-9)
        #expect(abs(w2.pOneSided - 0.2642958492643865) < 1e-9)
        // Student t upper tails: scipy.stats.t.sf.
        #expect(abs(GapStatistics.studentUpperTail(2.0, 3.5) - 0.06306926128795672) < 1e-10)
        #expect(abs(GapStatistics.studentUpperTail(-1.0, 7) - 0.8246916685898963) < 1e-10)
        #expect(abs(GapStatistics.studentUpperTail(0.5, 30) - 0.3103615024425636) < 1e-10)
        // Constant groups.
        #expect(GapStatistics.welch([1, 1], [1, 1]).pOneSided == 0.5)
        #expect(GapStatistics.welch([2, 2], [1, 1]).pOneSided == 0)
    }

    @Test("the permutation test enumerates every relabelling when few, by hand and against a brute-force count")
    func permutationExact() {
        // a = {3, 4}, b = {1, 2}: of the C(4,2) = 6 pairs only {3, 4} sums to ≥ 7, so p = 1/6.
        let p = GapStatistics.permutation([3, 4], [1, 2])
        #expect(p.exact && p.count == 6 && abs(p.pOneSided - 1.0 / 6) < 1e-15)
        // Reversed: every pair sums to ≥ 3, p = 1.
        #expect(GapStatistics.permutation([1, 2], [3, 4]).pOneSided == 1)
        // Ties count as at least as extreme: {1,1} vs {1,1} gives p = 1.
        #expect(GapStatistics.permutation([1, 1], [1, 1]).pOneSided == 1)
        // 37 of the C(9,4) = 126 four-subsets of the pool reach sum(a) (itertools count).
        let q = GapStatistics.permutation([1, 2, 3, 4], [1.5, 2.5, 2, 3, 1])
        #expect(q.exact && q.count == 126 && abs(q.pOneSided - 37.0 / 126) < 1e-15)
    }

    @Test("the Monte-Carlo permutation test is seeded, deterministic and near the exact p")
    func permutationMonteCarlo() {
        let a: [Double] = [1, 2, 3, 4], b: [Double] = [1.5, 2.5, 2, 3, 1]
        let mc = GapStatistics.permutation(a, b, exactLimit: 10, samples: 20_000)
        #expect(!mc.exact && mc.count == 20_000)
        #expect(abs(mc.pOneSided - 37.0 / 126) < 0.02)
        #expect(mc == GapStatistics.permutation(a, b, exactLimit: 10, samples: 20_000))
        #expect(mc != GapStatistics.permutation(a, b, exactLimit: 10, samples: 20_000, seed: 99))
    }

    @Test("bootstrap intervals: deterministic, exact on two values, fixed for one, and cover a normal mean about 95 % of the time")
    func bootstrap() {
        // Two values x < y: resampled means are x, (x+y)/2 or y with probabilities 1/4, 1/2, 1/4,
        // so the 2.5 % and 97.5 % quantiles are x and y.
        let two = GapStatistics.meanInterval([-10, 30])
        #expect(two.lower == -10 && two.upper == 30)
        let one = GapStatistics.meanInterval([5])
        #expect(one.lower == 5 && one.upper == 5)
        let v: [Double] = [-612, -540, -701, -498, -655, -580, -530]
        #expect(GapStatistics.meanInterval(v) == GapStatistics.meanInterval(v))
        let ci = GapStatistics.meanInterval(v)
        #expect(ci.lower < GapStatistics.mean(v) && GapStatistics.mean(v) < ci.upper)
        #expect(ci.lower > v.min()! && ci.upper < v.max()!)
        // Independent groups: a fixed single-value group stays fixed.
        let diff = GapStatistics.bootstrap([v, [-600]]) { GapStatistics.mean($0[0]) - $0[1][0] }
        #expect(abs(diff.lower - (ci.lower + 600)) < 1e-9 && abs(diff.upper - (ci.upper + 600)) < 1e-9)

        // Coverage: 400 samples of 20 draws of N(3, 2²); the percentile interval should
        // contain 3 in about 95 % of them (slightly fewer for n = 20).
        var random = SimRandom(seed: 42)
        var covered = 0
        let trials = 400
        for k in 0..<trials {
            let sample = (0..<20).map { _ in 3 + 2 * random.normal() }
            if GapStatistics.meanInterval(sample, resamples: 2000, seed: UInt64(k)).contains(3) { covered += 1 }
        }
        let coverage = Double(covered) / Double(trials)
        #expect(coverage > 0.88 && coverage < 0.985, "coverage \(coverage)")
    }

    @Test("normalised score and fraction of the gap closed")
    func normalisation() {
        #expect(GapStatistics.normalised(-1950, zero: -1950, ceiling: -450) == 0)
        #expect(GapStatistics.normalised(-450, zero: -1950, ceiling: -450) == 1)
        #expect(GapStatistics.normalised(-1200, zero: -1950, ceiling: -450) == 0.5)
        #expect(GapStatistics.gapClosed(-700, baseline: -900, ceiling: -500) == 0.5)
        #expect(GapStatistics.gapClosed(-1000, baseline: -900, ceiling: -500) == -0.25)
    }
}
