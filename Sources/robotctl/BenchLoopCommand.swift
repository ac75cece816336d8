import ArgumentParser
import Benchmarks
import Control
import Foundation
import SystemSupport

/// `robotctl bench loop`: the control loop's timing, for comparison with cyclictest.
struct BenchLoopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loop",
        abstract: "Run the real control loop at a fixed period and report wake-up latency and tick compute time.",
        discussion: """
            Runs the loop with FixedNN inference (8 → 256 → 256 → 4), the safety filter, \
            recording through the ring and logger thread, and the mock robot, paced by \
            absolute deadlines. Reports wake-up latency (woken minus deadline, what cyclictest \
            measures) p50/p99/p99.9/max, missed deadlines, and per-stage compute times. With \
            --load, a trainer-like thread (batched MLP training, publishing policies) runs on \
            --load-cpu. SCHED_FIFO and mlockall are used when permitted; otherwise a warning \
            says what was not granted.

            Example: robotctl bench loop --json --duration 60 --load
            """)

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(help: "Seconds to run.")
    var duration = 10.0

    @Option(help: "Period in microseconds.")
    var periodMicros = 5000

    @Option(help: "Wake this many microseconds before each deadline to pull the policy weights into the cache, then spin to the deadline (0: off).")
    var prewarmMicros = 100

    @Option(help: "SCHED_FIFO priority (0: normal scheduling).")
    var priority = 80

    @Option(help: "CPU to pin the loop to (default: the last available CPU; -1: no pinning).")
    var cpu: Int32?

    @Flag(help: "Run a trainer-like load on --load-cpu during the measurement.")
    var load = false

    @Option(help: "CPU for the load (-1: no pinning).")
    var loadCPU: Int32 = 0

    @Flag(help: "Run only the trainer-like load for --duration seconds (the load for the cyclictest peer run).")
    var loadOnly = false

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be > 0, got \(duration)") }
        guard periodMicros >= 100 else { throw ValidationError("--period-micros must be at least 100, got \(periodMicros)") }
        guard prewarmMicros >= 0 && prewarmMicros * 2 <= periodMicros else {
            throw ValidationError("--prewarm-micros must be 0...half the period, got \(prewarmMicros)")
        }
        guard (0...99).contains(priority) else { throw ValidationError("--priority must be 0...99, got \(priority)") }
    }

    func run() throws {
        if loadOnly {
            let steps = try LoopBenchmark.runLoadOnly(duration: duration, cpu: loadCPU < 0 ? nil : loadCPU)
            print(json ? "{\"load_training_steps\": \(steps)}" : "trainer-like load: \(steps) training steps in \(duration) s")
            return
        }
        var o = LoopBenchmark.Options()
        o.duration = duration
        o.periodNanos = UInt64(periodMicros) * 1000
        o.prewarmNanos = UInt64(prewarmMicros) * 1000
        let pin = cpu ?? RealtimeOptions.lastCPU
        o.realtime = RealtimeOptions(fifoPriority: priority == 0 ? nil : Int32(priority), cpu: pin < 0 ? nil : pin, lockMemory: priority != 0)
        o.load = load
        o.loadCPU = loadCPU < 0 ? nil : loadCPU
        let r = try LoopBenchmark.run(o)
        if let w = r.realtimeWarning { FileHandle.standardError.write(Data((w + "\n").utf8)) }
        if json {
            let e = JSONEncoder()
            e.keyEncodingStrategy = .convertToSnakeCase
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(r), as: UTF8.self))
            return
        }
        let f = { (v: Double) in String(format: "%.1f", v) }
        print("loop \(r.network), \(f(r.periodMicros)) µs period, prewarm \(f(r.prewarmMicros)) µs, \(r.schedPolicy), cpu \(r.cpu.map(String.init) ?? "any"), load \(r.load ? "on" : "off")")
        print("  \(r.ticks) ticks, \(r.missedDeadlines) missed deadlines, \(r.overruns) overruns; stop: \(r.stopReasons)")
        print("  wake-up latency µs: p50 \(f(r.wakeLatency.p50))  p99 \(f(r.wakeLatency.p99))  p99.9 \(f(r.wakeLatency.p999))  max \(f(r.wakeLatency.max))")
        print("  tick compute µs:    p50 \(f(r.tickCompute.p50))  p99 \(f(r.tickCompute.p99))  p99.9 \(f(r.tickCompute.p999))  max \(f(r.tickCompute.max))")
        print("  stage p99 µs: read \(f(r.read.p99))  infer \(f(r.infer.p99))  write \(f(r.write.p99))  record \(f(r.record.p99))")
        print("  recorded \(r.transitionsRecorded) transitions, dropped \(r.transitionsDropped); policy swaps \(r.policySwaps)")
    }
}
