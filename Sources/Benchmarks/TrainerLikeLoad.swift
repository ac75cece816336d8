import Control
import FixedNN
import Synchronization
import SystemSupport

/// A busy background load shaped like the on-board trainer: batched MLP forward, MSE, backward
/// and Adam (FixedNN kernels, `hidden`-wide, batch `batch`) in a tight loop on its own thread,
/// optionally pinned to one CPU, publishing a perturbed policy into a slot every
/// `publishInterval` like the trainer does. For timing benchmarks of the control loop.
///
/// Thread contract: `start`/`stop` from the owning thread.
public final class TrainerLikeLoad: @unchecked Sendable {
    public let cpu: Int32?
    public let hidden: Int
    public let batch: Int
    private let running = Atomic<Bool>(false)
    private let steps = Atomic<UInt64>(0)
    private let publishes = Atomic<UInt64>(0)
    private var thread: NativeThread?
    private let publish: (@Sendable () -> Void)?
    private let publishIntervalNanos: UInt64

    /// `publish` is called from the load thread every `publishInterval` seconds.
    public init(cpu: Int32?, hidden: Int = 256, batch: Int = 256, publishInterval: Double = 0.05,
                publish: (@Sendable () -> Void)? = nil) {
        self.cpu = cpu
        self.hidden = hidden
        self.batch = batch
        self.publish = publish
        publishIntervalNanos = UInt64(publishInterval * 1e9)
    }

    /// Training steps done so far (any thread).
    public var stepCount: UInt64 { steps.load(ordering: .relaxed) }
    /// Policies published so far (any thread).
    public var publishCount: UInt64 { publishes.load(ordering: .relaxed) }

    public func start() throws(SystemError) {
        precondition(thread == nil)
        running.store(true, ordering: .releasing)
        thread = try NativeThread(name: "trainer-load") { [self] in self.body() }
    }

    /// Stops the thread and returns the number of training steps it ran.
    @discardableResult
    public func stop() -> UInt64 {
        running.store(false, ordering: .releasing)
        thread?.join()
        thread = nil
        return stepCount
    }

    private func body() {
        if let cpu { RealtimeSetup.pinCurrentThread(toCPU: cpu) }
        RealtimeSetup.flushDenormals()
        var net = MLP(shape: MLPShape(layerSizes: [8, hidden, hidden, 2], hidden: .relu), lastLayer: .uniformFanIn, seed: 7)
        var ws = MLPWorkspace(shape: net.shape, maxBatch: batch)
        var grad = net.makeGradient()
        var adam = Adam(parameterCount: net.shape.parameterCount)
        let target = UnsafeMutablePointer<Float>.allocate(capacity: batch)
        defer { target.deallocate() }
        var rng = SeededRandom(seed: 11)
        for r in 0..<batch {
            for c in 0..<8 { ws.input[r * ws.inputStride + c] = rng.nextGaussian() }
            target[r] = rng.nextGaussian()
        }
        var lastPublish = monotonicNanos()
        while running.load(ordering: .relaxed) {
            ws.forward(net, batch: batch)
            _ = Loss.meanSquaredError(
                predictions: ws.output, predictionStride: ws.outputStride, targets: target, count: batch,
                gradient: ws.outputGradient, gradientStride: ws.outputStride)
            ws.backward(net, batch: batch, accumulatingInto: &grad, inputGradient: false)
            adam.step(&net.parameters, gradient: grad)
            grad.fill(0)
            steps.add(1, ordering: .relaxed)
            if let publish, monotonicNanos() - lastPublish >= publishIntervalNanos {
                publish()
                publishes.add(1, ordering: .relaxed)
                lastPublish = monotonicNanos()
            }
        }
    }
}
