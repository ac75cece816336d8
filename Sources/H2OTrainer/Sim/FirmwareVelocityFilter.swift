/// The reference firmware's velocity estimate (firmware-proto/PROTOCOL.md, section 5), so
/// that the directly stepped real plant reports velocities as the emulated robot does:
/// per internal tick raw = Δcounts·10⁶/dt_us (truncated), a first-order low-pass in fixed
/// point with 4 fractional bits, `v16 += round((16·raw − v16) / 2^shift)`, reported as
/// `round(v16 / 16)` counts/s; rounding is to nearest, halves away from zero.
///
/// Value type. Real-time safe: does not allocate, lock or throw.
public struct FirmwareVelocityFilter: Sendable {
    /// Filter shift, 0...8 (2 = α 1/4, the firmware's default).
    public let shift: Int
    private var v16: Int64 = 0
    private var lastCounts: Int32 = 0

    public init(shift: Int = 2, counts: Int32 = 0) {
        precondition((0...8).contains(shift), "velocity filter shift must be 0...8")
        self.shift = shift
        self.lastCounts = counts
    }

    /// Restarts at rest at `counts`.
    public mutating func reset(counts: Int32) {
        v16 = 0
        lastCounts = counts
    }

    /// Feeds the encoder reading of one internal tick of `dtMicros` µs; returns counts/s.
    @inline(__always)
    public mutating func update(counts: Int32, dtMicros: Int64) -> Int32 {
        let delta = Int64(counts &- lastCounts)  // wrap-safe difference
        lastCounts = counts
        let raw = delta * 1_000_000 / dtMicros
        v16 += Self.roundedShift(16 * raw - v16, shift)
        return Int32(clamping: Self.roundedShift(v16, 4))
    }

    /// The current estimate, counts/s.
    public var countsPerSecond: Int32 { Int32(clamping: Self.roundedShift(v16, 4)) }

    /// x / 2^s rounded to nearest, halves away from zero.
    @inline(__always)
    static func roundedShift(_ x: Int64, _ s: Int) -> Int64 {
        if s == 0 { return x }
        let half = Int64(1) << (s - 1)
        return x >= 0 ? (x + half) >> s : -((-x + half) >> s)
    }
}
