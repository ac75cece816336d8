import FixedNN

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The simulator's random generator: FixedNN's `SeededRandom` (xoshiro256** seeded through
/// splitmix64; the same stream for the same seed) plus Gaussian samples by Box–Muller. One
/// seed gives one stream; value type, no global state.
///
/// Thread contract: a value type; each thread owns its own. Real-time safe: does not
/// allocate, lock or throw.
public struct SimRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var core: SeededRandom
    var spare: Double = 0
    var hasSpare = false

    /// A stream determined by `seed` alone.
    public init(seed: UInt64) { core = SeededRandom(seed: seed) }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 { core.next() }

    /// Uniform in [0, 1).
    @inlinable public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in [low, high).
    @inlinable public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * unit()
    }

    /// A standard normal sample.
    public mutating func normal() -> Double {
        if hasSpare {
            hasSpare = false
            return spare
        }
        let u1 = 1.0 - unit()  // (0, 1]
        let u2 = unit()
        let r = (-2.0 * log(u1)).squareRoot()
        let phi = 2.0 * Double.pi * u2
        spare = r * sin(phi)
        hasSpare = true
        return r * cos(phi)
    }
}
