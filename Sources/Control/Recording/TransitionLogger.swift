import Glibc
import Synchronization
import SystemSupport

/// Where the logger thread hands each record after writing it (for example the run's pairing
/// of records into transitions for the trainer).
///
/// Thread contract: both methods are called on the logger thread only.
public protocol TransitionSink: AnyObject {
    /// One record, in ring order. The buffers are valid only during the call.
    func record(_ header: TransitionHeader, observation: UnsafeBufferPointer<Float>, action: UnsafeBufferPointer<Float>)
    /// Called after each batch of records drained from the ring (a place to publish them).
    func drained()
}

/// The one logger thread: drains the transition ring into a `DatasetWriter` (if any), which
/// fsyncs at its bounded interval, and hands every record to a `TransitionSink` (if any).
/// Every transition the loop could not push (ring full) is counted by the ring and marked in
/// the next record (`droppedBefore`).
///
/// A write error (disk full, I/O error) is kept as `failure` and reported to the control loop
/// through the ring's atomic flag (`markConsumerFailed`), which latches a safety stop at the
/// next tick: the robot never moves unrecorded. The sink keeps receiving records.
///
/// Thread contract: `start`/`stop` from the owning (set-up) thread; the writer and the sink
/// are used only by the logger thread between them; counters and `failure` from any thread
/// (`failure` takes a lock: never read it on the control thread).
public final class TransitionLogger: @unchecked Sendable {
    public let ring: TransitionRing
    public let writer: DatasetWriter?
    public let sink: (any TransitionSink)?
    /// How long the logger sleeps when the ring is empty, seconds.
    public let pollInterval: Double
    private let running = Atomic<Bool>(false)
    private let writtenCount = Atomic<UInt64>(0)
    private let drainedCount = Atomic<UInt64>(0)
    private let durableCount = Atomic<UInt64>(0)
    private let firstFailure = Mutex<DatasetError?>(nil)
    private var failed = false
    private var thread: NativeThread?
    private let observation: UnsafeMutableBufferPointer<Float>
    private let action: UnsafeMutableBufferPointer<Float>

    public init(ring: TransitionRing, writer: DatasetWriter?, sink: (any TransitionSink)? = nil, pollInterval: Double = 0.002) {
        if let writer {
            precondition(ring.observationCount == writer.schema.observationCount && ring.actionCount == writer.schema.actionCount,
                         "ring and dataset schema disagree on vector sizes")
        }
        self.ring = ring
        self.writer = writer
        self.sink = sink
        self.pollInterval = pollInterval
        observation = .allocate(capacity: ring.observationCount)
        action = .allocate(capacity: ring.actionCount)
    }

    deinit {
        observation.deallocate()
        action.deallocate()
    }

    /// Records written to the dataset so far (any thread).
    public var written: UInt64 { writtenCount.load(ordering: .relaxed) }

    /// Records taken from the ring so far, written or not (any thread).
    public var drainedRecords: UInt64 { drainedCount.load(ordering: .relaxed) }

    /// Records known to be on disk (fsync returned after they were written), any thread.
    public var durable: UInt64 { durableCount.load(ordering: .acquiring) }

    /// The first write error, if any (any thread but the control thread: takes a lock).
    public var failure: DatasetError? { firstFailure.withLock { $0 } }

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
            drain()
            if !keepGoing { break }
            if !failed, let writer {
                do { try writer.syncIfDue() } catch { fail(.system(error)) }
                durableCount.store(UInt64(writer.recordsDurable), ordering: .releasing)
            }
            sleepUntil(monotonicNanos: monotonicNanos() + sleepNanos)
        }
    }

    private func fail(_ e: DatasetError) {
        guard !failed else { return }
        failed = true
        ring.markConsumerFailed()
        var error = e
        if case .system(var s) = e, s.fix.isEmpty {
            s.fix = s.errno == ENOSPC || s.errno == EDQUOT
                ? "the disk is full: free space or record onto another disk" : "check the disk and its file system"
            error = .system(s)
        }
        firstFailure.withLock { $0 = error }
    }

    /// Drains the ring on the calling thread: the logger thread, or a tool when the thread is
    /// not running.
    public func drain() {
        var n: UInt64 = 0
        var w: UInt64 = 0
        let S = ring.observationCount, A = ring.actionCount
        while ring.pop({ payload in
            if !failed, let writer {
                do throws(DatasetError) {
                    try writer.appendPayload(payload)
                    w += 1
                } catch { fail(error) }
            }
            if let sink {
                let p = payload.baseAddress!
                for i in 0..<S { observation[i] = TransitionLayout.decodeFloat(p, index: i) }
                for i in 0..<A { action[i] = TransitionLayout.decodeFloat(p, index: S + i) }
                sink.record(TransitionLayout.decodeHeader(p), observation: UnsafeBufferPointer(observation),
                            action: UnsafeBufferPointer(action))
            }
        }) { n += 1 }
        if n > 0 {
            drainedCount.add(n, ordering: .relaxed)
            if w > 0 { writtenCount.add(w, ordering: .relaxed) }
            sink?.drained()
        }
    }

    /// Stops the thread after draining the ring, closes (fsyncs) the dataset and returns the
    /// first write error, if any.
    @discardableResult
    public func stop() -> DatasetError? {
        guard let thread else { return failure }
        running.store(false, ordering: .releasing)
        thread.join()
        self.thread = nil
        if !failed, let writer {
            do { try writer.close() } catch { fail(.system(error)) }
            durableCount.store(UInt64(writer.recordsDurable), ordering: .releasing)
        } else if let writer {
            try? writer.close()  // releases the file and the dataset lock; the first error stands
        }
        return failure
    }
}
