/// Preallocated activations for single-sample inference (two rows of the widest layer).
///
/// One scratch per thread that runs inference; the network itself may be shared.
/// Allocation: `init` allocates once; inference then never does.
public struct InferenceScratch: ~Copyable, @unchecked Sendable {
    @usableFromInline let ping: FloatBuffer
    @usableFromInline let pong: FloatBuffer
    /// Floats per row; must be at least the network's widest padded layer.
    public let capacity: Int

    /// Scratch large enough for `shape` (or any network no wider).
    public init(shape: MLPShape) { self.init(capacity: shape.maxStride) }

    /// Scratch for networks whose widest padded layer is at most `capacity` floats.
    public init(capacity: Int) {
        self.capacity = MLPShape.stride(capacity)
        ping = FloatBuffer(count: self.capacity)
        pong = FloatBuffer(count: self.capacity)
    }
}
