@testable import Hardware

/// Wraps a transport and flips one random bit in a fraction of the bytes it reads, keeping
/// both the clean and the corrupted stream so a test can check afterwards that no damaged
/// frame was accepted. Buffers are reserved up front so reads do not allocate in the loop.
final class CorruptingTransport: ByteTransport {
    let inner: any ByteTransport
    let probability: Double
    private var rng: SplitMix64
    private(set) var clean: [UInt8] = []
    private(set) var corrupted: [UInt8] = []
    private(set) var flippedBytes = 0
    var devicePath: String { inner.devicePath }

    init(_ inner: any ByteTransport, probability: Double, seed: UInt64, capacity: Int = 1 << 20) {
        self.inner = inner
        self.probability = probability
        rng = SplitMix64(state: seed)
        clean.reserveCapacity(capacity)
        corrupted.reserveCapacity(capacity)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, deadlineNanos: UInt64) -> TransportResult {
        let r = inner.read(into: buffer, deadlineNanos: deadlineNanos)
        guard r.status == .ok else { return r }
        let threshold = UInt64(probability * Double(UInt64.max))
        for i in 0..<r.count {
            clean.append(buffer[i])
            if rng.next() < threshold {
                buffer[i] ^= UInt8(1) << UInt8(rng.next() % 8)
                flippedBytes += 1
            }
            corrupted.append(buffer[i])
        }
        return r
    }

    func write(_ bytes: UnsafeRawBufferPointer, deadlineNanos: UInt64) -> TransportResult {
        inner.write(bytes, deadlineNanos: deadlineNanos)
    }
    func discardInput() { inner.discardInput() }
    func close() { inner.close() }
}
