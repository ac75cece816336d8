import ArgumentParser
import Benchmarks
import FixedNN
import Foundation

/// `robotctl bench inference`: FixedNN single-sample latency and batched training throughput.
struct BenchInferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Measure single-sample inference latency and batched forward/backward time.",
        discussion: """
            Times single-sample inference of an 8→256→256→4 and an 8→64→64→4 tanh network \
            (median and 99th percentile of per-call times, each read with two monotonic clock \
            calls whose cost is reported separately, and the mean of an untimed loop), the change \
            in malloc's bytes in use across all calls, and batched forward + backward + Adam at \
            batch 256. The thread is pinned to one CPU when permitted. Allocation calls per \
            inference are counted by the test suite (malloc interposer), not here.

            Example: robotctl bench inference --json --calls 200000
            """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed single-sample calls per network (at least 100000 for the published figures).")
    var calls = 200_000

    @Option(help: "Repetitions of each batched measurement.")
    var repetitions = 50

    @Option(help: "Batch size of the batched measurement.")
    var batch = 256

    @Option(help: "CPU to pin the benchmark thread to (default: the last one; -1 to not pin).")
    var cpu: Int?

    @Option(
        help: "Also write the benchmark networks' weights as .safetensors into this directory (for peers).")
    var exportWeights: String?

    func validate() throws {
        guard calls >= 1 else { throw ValidationError("--calls must be at least 1") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        if let directory = exportWeights {
            try InferenceBenchmark.exportReferenceNetworks(to: directory)
        }
        let target = cpu ?? max(0, ProcessInfo.processInfo.activeProcessorCount - 1)
        var pinned: Int? = nil
        var pinWarning: String? = nil
        if target >= 0 {
            pinWarning = InferenceBenchmark.pinCurrentThread(to: target)
            if pinWarning == nil { pinned = target }
        }
        var single: [InferenceBenchmark.SingleSampleResult] = []
        for reference in InferenceBenchmark.referenceNetworks {
            let net = reference.make()
            single.append(InferenceBenchmark.singleSample(name: reference.name, network: net, calls: calls))
        }
        let batched = [
            InferenceBenchmark.batched(
                name: "8-256-256-4 tanh",
                shape: MLPShape(layerSizes: [8, 256, 256, 4], hidden: .tanh, output: .tanh),
                batch: batch, repetitions: repetitions),
            InferenceBenchmark.batched(
                name: "4-256-256-1 relu (Q, hidden 256)",
                shape: MLPShape(layerSizes: [4, 256, 256, 1], hidden: .relu),
                batch: batch, repetitions: repetitions),
        ]
        if json {
            let report = Report(cpu: pinned, pinWarning: pinWarning, singleSample: single, batched: batched)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        if let pinWarning { print("warning: \(pinWarning)") }
        print("single-sample inference (\(calls) calls each\(pinned.map { ", pinned to CPU \($0)" } ?? "")):")
        for r in single {
            print(
                String(
                    format:
                        "  %-18@ median %7.0f ns  p99 %7.0f ns  loop mean %7.0f ns  (timer %3.0f ns)  heap delta %d B",
                    r.network as NSString, r.medianNanoseconds, r.p99Nanoseconds, r.loopMeanNanoseconds,
                    r.timerOverheadNanoseconds, r.heapBytesDelta))
        }
        print("batched (batch \(batch), \(repetitions) repetitions, medians):")
        for b in batched {
            print(
                String(
                    format:
                        "  %-32@ forward %8.1f µs  forward+backward %8.1f µs (%5.1f GFLOP/s; fastest %8.1f µs, %5.1f GFLOP/s)  Adam %6.1f µs",
                    b.network as NSString, b.forwardMedianMicroseconds, b.forwardBackwardMedianMicroseconds,
                    b.forwardBackwardGigaflopsPerSecond, b.forwardBackwardMinimumMicroseconds,
                    b.forwardBackwardGigaflopsPerSecondAtMinimum, b.adamMedianMicroseconds))
        }
    }

    struct Report: Codable {
        var cpu: Int?
        var pinWarning: String?
        var singleSample: [InferenceBenchmark.SingleSampleResult]
        var batched: [InferenceBenchmark.BatchedResult]
    }
}
