import Control
import FixedNN
import Foundation
import SystemSupport

/// `robotctl bench loop`: the real control loop (FixedNN inference, safety filter, recording to
/// a dataset through the ring and logger thread, the mock robot with an integrator plant) at a
/// fixed period, optionally beside a trainer-like load, measured by the loop's own histograms.
public enum LoopBenchmark {
    public struct Options: Sendable {
        public var duration: Double = 10
        public var periodNanos: UInt64 = 5_000_000
        public var realtime = RealtimeOptions(fifoPriority: 80, cpu: RealtimeOptions.lastCPU, lockMemory: true)
        /// Run a trainer-like load on `loadCPU` during the measurement.
        public var load = false
        public var loadCPU: Int32? = 0
        /// Policy network hidden width (8 → hidden → hidden → 4, the reference MLP at 256).
        public var hidden = 256
        /// Cache warming before each deadline (`LoopConfiguration.prewarmNanos`); 0: off.
        public var prewarmNanos: UInt64 = 100_000
        /// Where to record; nil: a temporary directory removed afterwards.
        public var datasetDirectory: String? = nil
        public init() {}
    }

    /// Percentiles of one histogram, microseconds.
    public struct Percentiles: Codable, Sendable, Equatable {
        public var p50: Double, p99: Double, p999: Double, max: Double, mean: Double
        init(_ h: HistogramSnapshot) {
            let us = { (v: UInt64) in Double(v) / 1000 }
            p50 = us(h.percentile(0.5))
            p99 = us(h.percentile(0.99))
            p999 = us(h.percentile(0.999))
            max = us(h.max)
            mean = h.mean / 1000
        }
    }

    public struct Result: Codable, Sendable {
        public var durationSeconds: Double
        public var periodMicros: Double
        public var prewarmMicros: Double
        public var load: Bool
        public var loadTrainingSteps: UInt64
        public var policyPublishes: UInt64
        public var policySwaps: UInt64
        public var network: String
        public var schedPolicy: String
        public var memoryLocked: Bool
        public var cpu: Int32?
        public var realtimeWarning: String?
        public var ticks: UInt64
        public var missedDeadlines: UInt64
        public var overruns: UInt64
        public var wakeLatency: Percentiles
        public var periodError: Percentiles
        public var tickCompute: Percentiles
        public var read: Percentiles
        public var infer: Percentiles
        public var write: Percentiles
        public var record: Percentiles
        public var transitionsRecorded: UInt64
        public var transitionsDropped: UInt64
        public var stopReasons: String
    }

    /// Runs the benchmark. Set-up errors throw with a one-line message.
    public static func run(_ o: Options) throws -> Result {
        let jointCount = 4
        let task = RegulationTask(jointCount: jointCount, controlPeriod: Double(o.periodNanos) * 1e-9, episodeTicks: 1000)
        let robot = MockRobot(jointCount: jointCount, plant: .integrator(inertia: 0.05, damping: 0.1, dt: Float(task.controlPeriod)))
        try robot.configure(RobotConfiguration(mode: .torque, setpointLimit: Array(repeating: 1, count: jointCount)))
        let shape = MLPShape(layerSizes: [task.observationSize, o.hidden, o.hidden, task.actionSize], hidden: .tanh)
        let policy = DeterministicPolicy(PolicyFile(network: MLP(shape: shape, lastLayer: .xavierUniform(gain: 0.01), seed: 1), head: .tanh))
        let slot = try PolicySlot(initial: policy)
        var limits = SafetyLimits(joints: Array(
            repeating: JointLimits(positionMin: -3.1, positionMax: 3.1, velocityMax: 20, effortMax: 1, rateMax: 1000), count: jointCount))
        limits.commandTimeout = 0.5
        limits.stopDuration = 0.05
        let ring = TransitionRing(capacity: 4096, observationCount: task.observationSize, actionCount: task.actionSize)
        let ticks = UInt64(o.duration * 1e9 / Double(o.periodNanos))
        let loop = try ControlLoop(
            robot: robot, task: task, slot: slot, limits: limits, mode: .torque, ring: ring,
            configuration: LoopConfiguration(pacing: .deadlines(periodNanos: o.periodNanos), maxTicks: ticks, resetBetweenEpisodes: false,
                                             prewarmNanos: o.prewarmNanos))

        let temporary = o.datasetDirectory == nil
        let dir = o.datasetDirectory ?? NSTemporaryDirectory() + "/robotctl-bench-loop-\(getpid())"
        defer { if temporary { try? FileManager.default.removeItem(atPath: dir) } }
        let schema = DatasetSchema(
            robotID: robot.info.robotID, task: task.name, controlRateHz: 1e9 / Double(o.periodNanos),
            observation: task.observationChannels, action: task.actionChannels, rewardDefinition: task.rewardDefinition,
            source: "sim")
        let logger = TransitionLogger(ring: ring, writer: try DatasetWriter(directory: dir, schema: schema))
        try logger.start()

        var trainer: TrainerLikeLoad? = nil
        if o.load {
            let candidate = policy.makeReplica()
            let box = UncheckedBox(candidate)
            let t = TrainerLikeLoad(cpu: o.loadCPU, hidden: 256, batch: 256) {
                let p = box.value.parameters
                for i in stride(from: 0, to: p.count, by: 31) { p[i] *= 0.999 }
                _ = try? slot.publish(box.value)
            }
            try t.start()
            trainer = t
        }

        final class Outcome: @unchecked Sendable {
            var result: Swift.Result<LoopResult, ControlLoopError>? = nil
            var report = RealtimeReport()
            var policyName = ""
        }
        let outcome = Outcome()
        let realtime = o.realtime
        let control = try NativeThread(name: "robotctl-loop") {
            outcome.report = RealtimeSetup.apply(realtime)
            outcome.policyName = RealtimeSetup.currentPolicy()
            outcome.result = Swift.Result { () throws(ControlLoopError) -> LoopResult in try loop.run() }
        }
        control.join()
        let steps = trainer?.stop() ?? 0
        let writeError = logger.stop()
        if let writeError { throw writeError }
        let run = try outcome.result!.get()
        let s = loop.statistics.snapshot()
        return Result(
            durationSeconds: o.duration, periodMicros: Double(o.periodNanos) / 1000,
            prewarmMicros: Double(o.prewarmNanos) / 1000, load: o.load, loadTrainingSteps: steps,
            policyPublishes: trainer?.publishCount ?? 0, policySwaps: s[.policySwaps], network: shape.description,
            schedPolicy: outcome.policyName, memoryLocked: outcome.report.memoryLocked, cpu: outcome.report.cpu,
            realtimeWarning: outcome.report.warning, ticks: s[.ticks], missedDeadlines: s[.missedDeadlines],
            overruns: s[.overruns], wakeLatency: Percentiles(s.wakeLatency), periodError: Percentiles(s.periodError),
            tickCompute: Percentiles(s.total), read: Percentiles(s.read), infer: Percentiles(s.infer),
            write: Percentiles(s.write), record: Percentiles(s.record), transitionsRecorded: logger.written,
            transitionsDropped: ring.droppedTotal, stopReasons: run.reasons.description)
    }

    /// Runs only the trainer-like load on `cpu` for `duration` seconds (the peer measurement's
    /// load, identical to the one `run` uses); returns the training steps done.
    public static func runLoadOnly(duration: Double, cpu: Int32?) throws -> UInt64 {
        let t = TrainerLikeLoad(cpu: cpu)
        try t.start()
        Thread.sleep(forTimeInterval: duration)
        return t.stop()
    }
}

/// Hands a non-Sendable reference to exactly one other thread (the load thread owns it after).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
