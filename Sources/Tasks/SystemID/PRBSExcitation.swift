#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pseudo-random binary torque sequence for system identification: ±`amplitude` N·m, each
/// level held for a random number of ticks in `minHoldTicks...maxHoldTicks` (broadband), with
/// a speed guard that turns the torque against the motion above `guardSpeed` so the joint
/// stays in the range where the simulator's model holds (no back-EMF saturation).
///
/// Value type; `torque` is real-time safe: does not allocate, lock or throw.
public struct PRBSExcitation: Sendable {
    public var amplitude: Double
    public var minHoldTicks: Int
    public var maxHoldTicks: Int
    /// |θ̇| above which the torque opposes the motion, rad/s.
    public var guardSpeed: Double
    private var state: UInt64
    private var level = 1.0
    private var remaining = 0

    public init(amplitude: Double, minHoldTicks: Int = 30, maxHoldTicks: Int = 160, guardSpeed: Double = 5, seed: UInt64 = 1) {
        precondition(amplitude > 0 && minHoldTicks > 0 && maxHoldTicks >= minHoldTicks)
        self.amplitude = amplitude
        self.minHoldTicks = minHoldTicks
        self.maxHoldTicks = maxHoldTicks
        self.guardSpeed = guardSpeed
        state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    }

    private mutating func nextRandom() -> UInt64 {
        // splitmix64
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The torque for the next tick given the measured speed. Real-time safe.
    public mutating func torque(velocity: Double) -> Double {
        if remaining <= 0 {
            level = nextRandom() & 1 == 0 ? 1 : -1
            remaining = minHoldTicks + Int(nextRandom() % UInt64(maxHoldTicks - minHoldTicks + 1))
        }
        remaining -= 1
        var u = level * amplitude
        if abs(velocity) > guardSpeed && (u > 0) == (velocity > 0) { u = -u }
        return u
    }
}
