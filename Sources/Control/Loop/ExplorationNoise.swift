#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Gaussian exploration noise on a policy's actions for a learner on the robot: the std for
/// the episodes that start from now on is set from any thread; the control thread latches it
/// at each episode's start and adds N(0, σ²) per value (SplitMix64 + Box–Muller), clamped to
/// the action range [−1, 1]. The safety layer still checks and filters every command.
///
/// Thread contract: `set` from any thread; `latch`, `isOn` and `add` from the control thread
/// only (real-time safe: no allocation, lock or throw).
public final class ExplorationNoise: @unchecked Sendable {
    private let stdBits = Atomic<UInt32>(0)
    private let pendingSeed = Atomic<UInt64>(0)
    private var episodeStd: Float = 0
    private var state: UInt64 = 0x9E37_79B9_7F4A_7C15

    public init() {}

    /// Sets the std for episodes starting from now (0 or non-finite: none) and, with `seed`,
    /// reseeds the generator at the next episode start. Any thread.
    public func set(std: Float, seed: UInt64? = nil) {
        if let seed { pendingSeed.store(seed | 1, ordering: .relaxed) }
        stdBits.store((std.isFinite && std > 0 ? std : 0).bitPattern, ordering: .releasing)
    }

    /// At an episode's start: takes the std (and a pending seed) for the episode.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    func latch() {
        episodeStd = Float(bitPattern: stdBits.load(ordering: .acquiring))
        let seed = pendingSeed.exchange(0, ordering: .relaxed)
        if seed != 0 { state = seed }
    }

    /// True when the current episode explores.
    @inline(__always)
    var isOn: Bool { episodeStd > 0 }

    /// action += N(0, σ²) per value, clamped to [−1, 1]; a non-finite action stays non-finite
    /// so the NaN guard still sees it. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    func add(to action: UnsafeMutablePointer<Float>, count: Int) {
        for j in 0..<count {
            let a = action[j]
            guard a.isFinite else { continue }
            let u1 = Float(nextBits() >> 40 &+ 1) * 0x1p-24  // (0, 1]
            let u2 = Float(nextBits() >> 40) * 0x1p-24
            let normal = (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
            action[j] = min(max(a + episodeStd * normal, -1), 1)
        }
    }

    @inline(__always)
    private func nextBits() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1334_11EB
        return z ^ (z >> 31)
    }
}
