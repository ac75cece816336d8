/// The reference firmware's velocity estimate (firmware-proto/PROTOCOL.md, section 5), so
/// that the directly stepped real plant reports velocities as the emulated robot does. At
/// each internal tick: raw = (x[k] − x[k−W])·10⁶ / (t[k] − t[k−W]) counts/s (truncated; W
/// shrinks to the ticks available after a restart), then a first-order low-pass in fixed
/// point with 4 fractional bits, `v16 += round((16·raw − v16) / 2^shift)`, reported as
/// `round(v16 / 16)` counts/s; rounding is to nearest, halves away from zero.
///
/// Value type. Real-time safe: does not allocate, lock or throw.
public struct FirmwareVelocityFilter: Sendable {
    /// Low-pass shift, 0...8 (2 = α 1/4, the firmware's default).
    public let shift: Int
    /// Differentiation window W in ticks, 1...15 (4, the firmware's default).
    public let window: Int
    private var v16: Int64 = 0
    private var history = InlineArray<16, Int32>(repeating: 0)
    private var slot = 0
    private var filled = 0

    public init(shift: Int = 2, window: Int = 4, counts: Int32 = 0) {
        precondition((0...8).contains(shift), "velocity filter shift must be 0...8")
        precondition((1...15).contains(window), "velocity window must be 1...15 ticks")
        self.shift = shift
        self.window = window
        reset(counts: counts)
    }

    /// Restarts at rest with `counts` as the first sample.
    public mutating func reset(counts: Int32) {
        v16 = 0
        slot = 1
        filled = 1
        history[0] = counts
    }

    /// Feeds the encoder reading of one internal tick (ticks `dtMicros` µs apart); returns
    /// the reported velocity, counts/s.
    @inline(__always)
    public mutating func update(counts: Int32, dtMicros: Int64) -> Int32 {
        let back = min(filled, window)
        if back > 0 {
            let old = history[(slot + 16 - back) % 16]
            let delta = Int64(counts &- old)  // wrap-safe difference
            let raw = delta * 1_000_000 / (dtMicros * Int64(back))
            v16 += Self.roundedShift(16 * raw - v16, shift)
        }
        history[slot] = counts
        slot = (slot + 1) % 16
        filled = min(filled + 1, 16)
        return countsPerSecond
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
