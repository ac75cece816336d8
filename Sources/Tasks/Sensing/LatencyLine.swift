/// A fixed-capacity delay line of commands: what was pushed `latency` pushes ago comes out.
/// Used by the simulators to model actuation latency in ticks. Value type, never allocates.
public struct LatencyLine: Sendable {
    private var slots = InlineArray<17, Double>(repeating: 0)
    private var head = 0

    public init() {}

    /// Pushes `command` and returns the command pushed `latency` calls ago (0 before that);
    /// `latency` in 0...maxSimLatencyTicks and constant over the line's life.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public mutating func push(_ command: Double, latency: Int) -> Double {
        if latency == 0 { return command }
        slots[head] = command
        let out = head == latency ? 0 : head + 1
        head = out
        return slots[out]
    }
}
