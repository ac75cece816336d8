#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The simulator's random generator: xoshiro256** seeded through splitmix64, plus Gaussian
/// samples by Box–Muller. One seed gives one stream; value type, no global state.
///
/// Thread contract: a value type; each thread owns its own. Real-time safe: does not
/// allocate, lock or throw.
public struct SimRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64
    var spare: Double = 0
    var hasSpare = false

    /// A stream determined by `seed` alone.
    public init(seed: UInt64) {
        var x = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&x)
        s1 = splitmix(&x)
        s2 = splitmix(&x)
        s3 = splitmix(&x)
    }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 {
        let result = Self.rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotate(s3, 45)
        return result
    }

    @inlinable static func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

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
