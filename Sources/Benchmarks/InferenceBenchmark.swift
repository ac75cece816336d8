internal import CFixedNN
import FixedNN
import Foundation

/// Measures FixedNN's single-sample latency and batched training throughput; the library side
/// of `robotctl bench inference` (the command only parses and prints).
///
/// Set-up and measurement code: allocates between measurements, never inside a timed loop.
public enum InferenceBenchmark {
    /// Latency statistics of one network's single-sample inference.
    public struct SingleSampleResult: Sendable, Codable, Equatable {
        /// `"8-256-256-4 tanh"`.
        public var network: String
        /// Timed calls.
        public var calls: Int
        /// Median of per-call times, each read with two `clock_gettime(CLOCK_MONOTONIC)` calls
        /// (their own cost, ``timerOverheadNanoseconds``, is included, not subtracted).
        public var medianNanoseconds: Double
        /// 99th percentile of per-call times (timer cost included).
        public var p99Nanoseconds: Double
        /// Mean per call of an untimed loop of `calls` calls (total time / calls; no timer cost).
        public var loopMeanNanoseconds: Double
        /// Median cost of an empty timed region (two clock reads).
        public var timerOverheadNanoseconds: Double
        /// Change of malloc's bytes in use (glibc mallinfo2 `uordblks + hblkhd`) across all the
        /// calls. 0 means nothing was leaked; it does not count alloc/free pairs — the
        /// malloc-call count (0) is measured by FixedNNTests with the interposer.
        public var heapBytesDelta: Int
        /// Multiply-adds per call ×2.
        public var flopsPerCall: Int
    }

    /// Time of batched forward + backward passes (+ an Adam step) at one batch size.
    public struct BatchedResult: Sendable, Codable, Equatable {
        public var network: String
        public var batch: Int
        /// Median time of `forward` then `backward` (with input gradient), microseconds.
        public var forwardBackwardMedianMicroseconds: Double
        /// Fastest `forward` + `backward`, microseconds: on a machine shared with other work
        /// (where a multi-millisecond measurement is often preempted) this is the figure of the
        /// kernels themselves.
        public var forwardBackwardMinimumMicroseconds: Double
        /// `forwardBackwardFlops / fastest time`.
        public var forwardBackwardGigaflopsPerSecondAtMinimum: Double
        /// Median time of `forward` alone, microseconds.
        public var forwardMedianMicroseconds: Double
        /// Median time of one Adam step over all parameters, microseconds.
        public var adamMedianMicroseconds: Double
        /// FLOPs of forward + backward (2 per multiply-add: forward, weight gradient, input gradient).
        public var forwardBackwardFlops: Int
        /// `forwardBackwardFlops / median time`.
        public var forwardBackwardGigaflopsPerSecond: Double
        public var repetitions: Int
    }

    /// A network the benchmark and its peers run with identical weights.
    public struct ReferenceNetwork: Sendable {
        /// `"8-256-256-4 tanh"`.
        public var name: String
        public var shape: MLPShape
        public var seed: UInt64
        /// The network, PyTorch-style initialised from `seed`. Allocates.
        public func make() -> MLP { MLP(shape: shape, lastLayer: .uniformFanIn, seed: seed) }
        /// File name used by ``exportReferenceNetworks(to:)``.
        public var fileName: String { "inference-\(shape.layerSizes[1]).safetensors" }
    }

    /// The two networks compared with peers: 8→256→256→4 and 8→64→64→4, tanh everywhere.
    public static let referenceNetworks: [ReferenceNetwork] = [
        ReferenceNetwork(
            name: "8-256-256-4 tanh",
            shape: MLPShape(layerSizes: [8, 256, 256, 4], hidden: .tanh, output: .tanh), seed: 256),
        ReferenceNetwork(
            name: "8-64-64-4 tanh",
            shape: MLPShape(layerSizes: [8, 64, 64, 4], hidden: .tanh, output: .tanh), seed: 64),
    ]

    /// Writes each reference network to `<directory>/<fileName>` (tensors `net.<i>.weight` /
    /// `.bias`, metadata `layer_sizes`, `activations`) so peers can run the same weights.
    public static func exportReferenceNetworks(to directory: String) throws(SafeTensorsError) {
        for reference in referenceNetworks {
            let net = reference.make()
            var file = SafeTensors()
            file.insert(net, prefix: "net")
            file.metadata["layer_sizes"] =
                "[" + net.shape.layerSizes.map(String.init).joined(separator: ",") + "]"
            file.metadata["activations"] =
                "[" + net.shape.activations.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]"
            try file.write(path: "\(directory)/\(reference.fileName)")
        }
    }

    /// Monotonic time in nanoseconds.
    @inline(__always)
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
        Double(sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1)))])
    }

    /// Times `calls` single-sample inferences of `network` (after a warm-up), inputs varying
    /// slightly per call so nothing can be hoisted.
    public static func singleSample(name: String, network: borrowing MLP, calls: Int) -> SingleSampleResult {
        precondition(calls >= 1, "InferenceBenchmark: calls must be ≥ 1")
        var scratch = InferenceScratch(shape: network.shape)
        let n = network.shape.inputSize
        let input = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: network.shape.outputSize)
        defer { input.deallocate(); output.deallocate() }
        for i in 0..<n { input[i] = Float(i) * 0.1 - 0.3 }
        var times = [UInt64](repeating: 0, count: calls)
        var overhead = [UInt64](repeating: 0, count: min(calls, 100_000))
        var sink: Float = 0
        for k in 0..<min(calls, 20_000) {  // warm-up: caches, branch predictors, CPU clock
            input[k % n] += 1e-6
            network.infer(input, into: output, scratch: &scratch)
            sink += output[0]
        }
        let heapBefore = cfixednn_heap_bytes_in_use()
        times.withUnsafeMutableBufferPointer { t in
            for k in 0..<calls {
                input[k % n] += 1e-6
                let start = now()
                network.infer(input, into: output, scratch: &scratch)
                let end = now()
                sink += output[0]
                t[k] = end &- start
            }
        }
        let loopStart = now()
        for k in 0..<calls {
            input[k % n] -= 1e-6
            network.infer(input, into: output, scratch: &scratch)
            sink += output[0]
        }
        let loopNanoseconds = now() &- loopStart
        let heapAfter = cfixednn_heap_bytes_in_use()
        for k in 0..<overhead.count {
            let start = now()
            let end = now()
            overhead[k] = end &- start
        }
        times.sort()
        overhead.sort()
        precondition(sink.isFinite, "InferenceBenchmark: non-finite output")
        return SingleSampleResult(
            network: name, calls: calls, medianNanoseconds: percentile(times, 0.5),
            p99Nanoseconds: percentile(times, 0.99),
            loopMeanNanoseconds: Double(loopNanoseconds) / Double(calls),
            timerOverheadNanoseconds: percentile(overhead, 0.5),
            heapBytesDelta: Int(heapAfter) - Int(heapBefore),
            flopsPerCall: 2 * network.shape.multiplyAddsPerSample)
    }

    /// Times batched forward, forward + backward and Adam on `shape` at `batch` rows.
    public static func batched(name: String, shape: MLPShape, batch: Int, repetitions: Int) -> BatchedResult {
        var net = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 7)
        var ws = MLPWorkspace(shape: shape, maxBatch: batch)
        var grad = net.makeGradient()
        var adam = Adam(parameterCount: shape.parameterCount)
        var rng = SeededRandom(seed: 3)
        for k in 0..<(batch * ws.inputStride) { ws.input[k] = rng.nextFloat(in: -1, 1) }
        for k in 0..<(batch * ws.outputStride) { ws.outputGradient[k] = rng.nextFloat(in: -1, 1) * 1e-3 }
        var fb = [UInt64](repeating: 0, count: repetitions)
        var f = [UInt64](repeating: 0, count: repetitions)
        var a = [UInt64](repeating: 0, count: repetitions)
        for _ in 0..<3 {
            ws.forward(net, batch: batch)
            ws.backward(net, batch: batch, accumulatingInto: &grad)
        }
        for r in 0..<repetitions {
            var t0 = now()
            ws.forward(net, batch: batch)
            f[r] = now() &- t0
            t0 = now()
            ws.forward(net, batch: batch)
            ws.backward(net, batch: batch, accumulatingInto: &grad)
            fb[r] = now() &- t0
            grad.withUnsafeMutableBufferPointer { g in for k in 0..<g.count { g[k] *= 1e-3 } }
            t0 = now()
            adam.step(&net.parameters, gradient: grad)
            a[r] = now() &- t0
        }
        fb.sort()
        f.sort()
        a.sort()
        let macs = batch * shape.multiplyAddsPerSample
        // Forward, weight gradient and input gradient: three GEMMs of the same size.
        let flops = 2 * macs * 3
        let median = percentile(fb, 0.5)
        return BatchedResult(
            network: name, batch: batch, forwardBackwardMedianMicroseconds: median / 1000,
            forwardBackwardMinimumMicroseconds: Double(fb[0]) / 1000,
            forwardBackwardGigaflopsPerSecondAtMinimum: Double(flops) / Double(fb[0]),
            forwardMedianMicroseconds: percentile(f, 0.5) / 1000,
            adamMedianMicroseconds: percentile(a, 0.5) / 1000,
            forwardBackwardFlops: flops, forwardBackwardGigaflopsPerSecond: Double(flops) / median,
            repetitions: repetitions)
    }

    /// Pins the calling thread to `cpu`; returns nil or a one-line reason it could not.
    public static func pinCurrentThread(to cpu: Int) -> String? {
        let err = cfixednn_pin_thread_to_cpu(Int32(cpu))
        return err == 0
            ? nil : "cannot pin the benchmark thread to CPU \(cpu): \(String(cString: strerror(err)))"
    }
}
