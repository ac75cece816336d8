/// An owned, 64-byte-aligned, zero-initialised array of `Float` with a fixed count.
///
/// The storage behind parameters, gradients, Adam moments, workspaces and inference scratch.
/// `~Copyable`, so it has exactly one owner and is freed exactly once; kernels read and write it
/// through `baseAddress` without exclusivity checks or copy-on-write (performance-notes.md,
/// trap 3).
///
/// Thread safety: a value is used by one thread at a time; moving it to another thread is safe
/// (hence `@unchecked Sendable`: the pointer is uniquely owned).
/// Allocation: `init` allocates once; every other member is real-time safe.
public struct FloatBuffer: ~Copyable, @unchecked Sendable {
    /// Number of floats.
    public let count: Int
    /// The first float; valid while this buffer is alive. 64-byte aligned.
    public let baseAddress: UnsafeMutablePointer<Float>

    /// Allocates `count` floats (at least one is reserved so `baseAddress` is never dangling),
    /// all zero. Allocates; not real-time safe.
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: Swift.max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        baseAddress = raw.initializeMemory(as: Float.self, repeating: 0, count: Swift.max(count, 1))
    }

    /// Allocates a buffer holding `values`. Allocates; not real-time safe.
    public init(_ values: [Float]) {
        self.init(count: values.count)
        for (i, v) in values.enumerated() { baseAddress[i] = v }
    }

    deinit { baseAddress.deallocate() }

    /// Element `index` (bounds-checked).
    public subscript(index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "FloatBuffer index out of range")
            return baseAddress[index]
        }
        set {
            precondition(index >= 0 && index < count, "FloatBuffer index out of range")
            baseAddress[index] = newValue
        }
    }

    /// A copy of the contents as an array (allocates; for tests and files).
    public var array: [Float] { Array(UnsafeBufferPointer(start: baseAddress, count: count)) }

    /// Sets every element to `value`. Real-time safe: does not allocate, lock or throw.
    public mutating func fill(_ value: Float) {
        baseAddress.update(repeating: value, count: count)
    }

    /// Copies `other` (same count) into this buffer. Real-time safe: does not allocate, lock or throw.
    public mutating func copy(from other: borrowing FloatBuffer) {
        precondition(other.count == count, "FloatBuffer.copy: counts differ")
        baseAddress.update(from: other.baseAddress, count: count)
    }

    /// Polyak averaging `self ← (1 − rate)·self + rate·other` (same count).
    /// Real-time safe: does not allocate, lock or throw.
    public mutating func polyakUpdate(toward other: borrowing FloatBuffer, rate: Float) {
        precondition(other.count == count, "FloatBuffer.polyakUpdate: counts differ")
        let keep = 1 - rate
        let d = baseAddress
        let s = other.baseAddress
        var i = 0
        while i + 16 <= count {
            let a = SIMD16<Float>.load(d + i) * keep
            a.addingProduct(SIMD16<Float>.load(s + i), rate).store(d + i)
            i += 16
        }
        while i < count {
            d[i] = keep * d[i] + rate * s[i]
            i += 1
        }
    }

    /// `self += scale·other` (same count), e.g. summing the gradients of two half-batches
    /// computed on two threads. Real-time safe: does not allocate, lock or throw.
    public mutating func add(_ other: borrowing FloatBuffer, scaledBy scale: Float = 1) {
        precondition(other.count == count, "FloatBuffer.add: counts differ")
        let d = baseAddress
        let s = other.baseAddress
        var i = 0
        while i + 16 <= count {
            SIMD16<Float>.load(d + i).addingProduct(SIMD16<Float>.load(s + i), scale).store(d + i)
            i += 16
        }
        while i < count {
            d[i] += scale * s[i]
            i += 1
        }
    }

    /// `self *= factor`. Real-time safe: does not allocate, lock or throw.
    public mutating func scale(by factor: Float) {
        let d = baseAddress
        var i = 0
        while i + 16 <= count {
            (SIMD16<Float>.load(d + i) * factor).store(d + i)
            i += 16
        }
        while i < count {
            d[i] *= factor
            i += 1
        }
    }

    /// Read access to the contents as a buffer pointer (valid only inside `body`).
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeBufferPointer(start: baseAddress, count: count))
    }

    /// Write access to the contents as a buffer pointer (valid only inside `body`).
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableBufferPointer(start: baseAddress, count: count))
    }

    /// True when every element is finite (no NaN or infinity).
    public var allFinite: Bool {
        for i in 0..<count where !baseAddress[i].isFinite { return false }
        return true
    }
}
