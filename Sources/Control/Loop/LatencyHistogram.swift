import SystemSupport

/// A fixed-bucket histogram of durations in nanoseconds, about 3 % resolution from 32 ns to
/// 68 s (32 linear sub-buckets per power of two), preallocated at init.
///
/// Thread contract: single writer (`record`, the control thread); any number of readers
/// (`snapshot`, any thread) without locks: each bucket is read and written with relaxed
/// atomic operations, so a snapshot taken while the writer runs is a consistent-enough view
/// (each bucket exact, buckets possibly from consecutive ticks). `reset` only while no
/// writer runs.
public final class LatencyHistogram: @unchecked Sendable {
    public static let bucketCount = 1024
    static let subBits: UInt64 = 5
    static let sub: UInt64 = 32
    // Layout: buckets[0..<1024], then count, sum, max, min.
    private let cells: UnsafeMutablePointer<UInt64>
    private static let countCell = bucketCount
    private static let sumCell = bucketCount + 1
    private static let maxCell = bucketCount + 2
    private static let minCell = bucketCount + 3

    public init() {
        cells = .allocate(capacity: Self.bucketCount + 4)
        cells.initialize(repeating: 0, count: Self.bucketCount + 4)
        cells[Self.minCell] = .max
    }

    deinit { cells.deallocate() }

    /// The bucket a value falls in.
    @inline(__always)
    static func bucket(_ v: UInt64) -> Int {
        if v < sub { return Int(v) }
        let e = UInt64(63 - v.leadingZeroBitCount)
        let index = (e - subBits + 1) * sub + ((v >> (e - subBits)) & (sub - 1))
        return Int(min(index, UInt64(bucketCount - 1)))
    }

    /// Smallest value that falls in bucket `i`, and the bucket's width.
    static func bounds(_ i: Int) -> (lower: UInt64, width: UInt64) {
        if i < Int(sub) { return (UInt64(i), 1) }
        let e = UInt64(i) / sub - 1 + subBits
        let s = UInt64(i) % sub
        return ((sub + s) << (e - subBits), 1 << (e - subBits))
    }

    /// Adds one value. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func record(_ nanos: UInt64) {
        let b = cells + Self.bucket(nanos)
        atomicStoreRelaxed(b, atomicLoadRelaxed(b) &+ 1)
        let c = cells + Self.countCell
        atomicStoreRelaxed(c, atomicLoadRelaxed(c) &+ 1)
        let s = cells + Self.sumCell
        atomicStoreRelaxed(s, atomicLoadRelaxed(s) &+ nanos)
        if nanos > atomicLoadRelaxed(cells + Self.maxCell) { atomicStoreRelaxed(cells + Self.maxCell, nanos) }
        if nanos < atomicLoadRelaxed(cells + Self.minCell) { atomicStoreRelaxed(cells + Self.minCell, nanos) }
    }

    /// Clears every bucket. Only while no thread calls `record`.
    public func reset() {
        for i in 0..<(Self.bucketCount + 4) { atomicStoreRelaxed(cells + i, 0) }
        atomicStoreRelaxed(cells + Self.minCell, .max)
    }

    /// A copy of the counts, from any thread (allocates).
    public func snapshot() -> HistogramSnapshot {
        var buckets = [UInt64](repeating: 0, count: Self.bucketCount)
        for i in 0..<Self.bucketCount { buckets[i] = atomicLoadRelaxed(cells + i) }
        let minimum = atomicLoadRelaxed(cells + Self.minCell)
        return HistogramSnapshot(
            buckets: buckets, count: buckets.reduce(0, +),
            sum: atomicLoadRelaxed(cells + Self.sumCell),
            max: atomicLoadRelaxed(cells + Self.maxCell),
            min: minimum == .max ? 0 : minimum)
    }
}

/// A point-in-time copy of a `LatencyHistogram`, with percentiles.
public struct HistogramSnapshot: Sendable, Equatable {
    public var buckets: [UInt64]
    public var count: UInt64
    public var sum: UInt64
    public var max: UInt64
    public var min: UInt64

    /// Mean in nanoseconds (0 when empty).
    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }

    /// The `q`-quantile (0...1) in nanoseconds: the midpoint of the bucket holding it, never
    /// above the exact maximum nor below the exact minimum (0 when empty).
    public func percentile(_ q: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, UInt64((q * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (i, n) in buckets.enumerated() where n > 0 {
            seen += n
            if seen >= rank {
                let (lower, width) = LatencyHistogram.bounds(i)
                return Swift.min(Swift.max(lower + width / 2, min), max)
            }
        }
        return max
    }
}
