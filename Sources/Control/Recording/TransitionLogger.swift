import CRealtime
import Synchronization

/// The logger thread: drains the transition ring into a `DatasetWriter`, which fsyncs at its
/// bounded interval. Every transition the loop could not push (ring full) is counted by the
/// ring and marked in the next record (`droppedBefore`).
///
/// Thread contract: `start`/`stop` from the owning (set-up) thread; the writer is used only by
/// the logger thread between them; counters readable from any thread.
public final class TransitionLogger: @unchecked Sendable {
    public let ring: TransitionRing
    public let writer: DatasetWriter
    /// How long the logger sleeps when the ring is empty, seconds.
    public let pollInterval: Double
    private let running = Atomic<Bool>(false)
    private let writtenCount = Atomic<UInt64>(0)
    private let durableCount = Atomic<UInt64>(0)
    private var thread: NativeThread?
    private var failure: DatasetError?

    public init(ring: TransitionRing, writer: DatasetWriter, pollInterval: Double = 0.002) {
        precondition(ring.observationCount == writer.schema.observationCount && ring.actionCount == writer.schema.actionCount,
                     "ring and dataset schema disagree on vector sizes")
        self.ring = ring
        self.writer = writer
        self.pollInterval = pollInterval
    }

    /// Records written to the dataset so far (any thread).
    public var written: UInt64 { writtenCount.load(ordering: .relaxed) }

    /// Records known to be on disk (fsync returned after they were written), any thread.
    public var durable: UInt64 { durableCount.load(ordering: .acquiring) }

    /// Starts the logger thread.
    public func start() throws(SystemError) {
        precondition(thread == nil, "logger already started")
        running.store(true, ordering: .releasing)
        thread = try NativeThread(name: "robotctl-logger") { [self] in self.drainUntilStopped() }
    }

    private func drainUntilStopped() {
        let sleepNanos = UInt64(pollInterval * 1e9)
        while true {
            let keepGoing = running.load(ordering: .acquiring)
            if failure == nil { drain() } else { while ring.pop({ _ in }) {} }
            if !keepGoing { break }
            if failure == nil {
                do { try writer.syncIfDue() } catch { failure = .system(error) }
                durableCount.store(UInt64(writer.recordsDurable), ordering: .releasing)
            }
            _ = crt_sleep_until(crt_monotonic_nanos() + sleepNanos)
        }
    }

    private func drain() {
        var n: UInt64 = 0
        do {
            while try ring.pop({ payload in try writer.appendPayload(payload) }) { n += 1 }
        } catch let e as DatasetError {
            failure = e
        } catch {
            failure = .vectorSize("\(error)")
        }
        if n > 0 { writtenCount.add(n, ordering: .relaxed) }
    }

    /// Stops the thread after draining the ring, closes (fsyncs) the dataset and returns the
    /// first write error, if any.
    @discardableResult
    public func stop() -> DatasetError? {
        guard let thread else { return failure }
        running.store(false, ordering: .releasing)
        thread.join()
        self.thread = nil
        if failure == nil {
            do { try writer.close() } catch { failure = .system(error) }
            durableCount.store(UInt64(writer.recordsDurable), ordering: .releasing)
        }
        return failure
    }
}
