import FixedNN
import Foundation

/// The trainer's random source: xoshiro256** seeded through SplitMix64, so one 64-bit seed
/// determines every draw of a run (batch indices, policy noise, discriminator noise, sim
/// resets). Streams for separate consumers are split off with `fork(_:)`, which is itself
/// deterministic.
///
/// A value type; not shared between threads. Real-time safe: does not allocate, lock or throw.
public struct TrainerRandom: RandomNumberGenerator, Sendable {
    /// The xoshiro256** stream itself (FixedNN's generator: same seeding, same sequence).
    private var core: SeededRandom
    private var spareNormal: Float = 0
    private var hasSpare = false

    /// A generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) { core = SeededRandom(seed: seed) }

    /// A new independent generator for a named consumer, derived from this one's state and `stream`.
    public mutating func fork(_ stream: UInt64) -> TrainerRandom {
        TrainerRandom(seed: next() ^ (stream &* 0xD1B5_4A32_D192_ED03))
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 { core.next() }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection). bound > 0.
    @inline(__always)
    public mutating func index(below bound: Int) -> Int {
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal Float (Box–Muller, the second value of each pair cached).
    @inline(__always)
    public mutating func normal() -> Float {
        if hasSpare {
            hasSpare = false
            return spareNormal
        }
        // u1 in (0, 1] so the log is finite.
        let u1 = Double((next() >> 11) + 1) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let r = (-2 * Foundation.log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spareNormal = Float(r * Foundation.sin(theta))
        hasSpare = true
        return Float(r * Foundation.cos(theta))
    }

    /// Fills `count` floats at `p` with standard normals.
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { p[i] = normal() }
    }
}
