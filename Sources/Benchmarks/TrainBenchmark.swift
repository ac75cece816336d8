import Control
import FixedNN
import Foundation
import H2OTrainer
import SystemSupport

/// Times training steps on synthetic data: the library side of `robotctl bench train`.
///
/// Set-up allocates (agent, buffers, step); the timed loop is `inputs.sample` + `step.run`,
/// which allocate nothing. FLOPs are counted from the shapes of every GEMM the step runs.
public enum TrainBenchmark {
    /// One configuration's result.
    public struct Result: Sendable, Codable {
        public var preset: String
        public var algorithm: String
        public var threads: Int
        public var hiddenSize: Int
        public var batchSize: Int
        public var discriminatorHiddenSize: Int
        /// LayerNorm critics and V (`Hyperparameters.criticLayernorm`).
        public var criticLayernorm: Bool
        /// Number of Q critics (`Hyperparameters.criticEnsemble`).
        public var criticEnsemble: Int
        public var observationSize: Int
        public var actionSize: Int
        public var steps: Int
        /// Median milliseconds per step (sampling included).
        public var medianMilliseconds: Double
        /// Median CPU time of the calling thread per step, milliseconds: equal to the wall time
        /// on an idle machine, and unaffected by waiting for a CPU on a loaded one (for two
        /// threads it would count the calling thread only).
        public var medianThreadCPUMilliseconds: Double
        /// Median CPU time of the whole process per step (both threads of a two-thread step,
        /// spinning included), milliseconds.
        public var medianProcessCPUMilliseconds: Double
        /// 10th and 90th percentiles, milliseconds.
        public var p10Milliseconds: Double
        public var p90Milliseconds: Double
        /// Floating-point operations of one step (GEMMs only).
        public var flopsPerStep: Double
        /// Achieved GFLOP/s at the median.
        public var gflops: Double
        /// Achieved rate ÷ (threads × `peakGflopsPerCore`).
        public var fractionOfPeak: Double
        public var peakGflopsPerCore: Double
    }

    /// Runs `steps` timed steps (after `warmup`) of `algorithm` with hyperparameters `h` and
    /// sizes S, A on random replay data; one sample of the wall clock per step. `cpus` pins the
    /// calling thread to `cpus[0]` (for good: call from a thread of its own) and the worker of a
    /// two-thread step to `cpus[1]`.
    public static func run(
        preset: String, hyperparameters h: Hyperparameters, algorithm: Algorithm = .h2oPlus, observationSize S: Int = 3,
        actionSize A: Int = 1, threads: Int = 1, cpus: [Int32] = [], steps: Int = 200, warmup: Int = 20,
        peakGflopsPerCore: Double = 250
    ) throws(SystemError) -> Result {
        // `cpus`: the calling thread on the first, the worker (two threads) on the second.
        if let first = cpus.first {
            _ = RealtimeSetup.apply(RealtimeOptions(fifoPriority: nil, cpu: first, lockMemory: false, flushDenormals: false))
        }
        var random = TrainerRandom(seed: h.seed)
        let replay = SyntheticReplay(observationSize: S, actionSize: A, using: &random)
        var agent = H2OAgent(observationSize: S, actionSize: A, hyperparameters: h, seed: h.seed)
        var inputs = StepInputs(algorithm: algorithm, observationSize: S, actionSize: A, hyperparameters: h)
        var step = try H2OPlusStep(agent: agent, inputs: inputs, threads: threads, workerCPU: cpus.count > 1 ? cpus[1] : nil)
        for _ in 0..<warmup {
            inputs.sample(real: replay.real, sim: replay.sim, using: &random)
            _ = step.run(&agent, inputs)
        }
        var times = [Double](repeating: 0, count: steps)
        var cpu = [Double](repeating: 0, count: steps)
        var processCPU = [Double](repeating: 0, count: steps)
        for i in 0..<steps {
            let processStart = cpuNanoseconds(CLOCK_PROCESS_CPUTIME_ID)
            let cpuStart = threadCPUNanoseconds()
            let start = DispatchTime.now().uptimeNanoseconds
            inputs.sample(real: replay.real, sim: replay.sim, using: &random)
            _ = step.run(&agent, inputs)
            times[i] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            cpu[i] = Double(threadCPUNanoseconds() - cpuStart) / 1e6
            processCPU[i] = Double(cpuNanoseconds(CLOCK_PROCESS_CPUTIME_ID) - processStart) / 1e6
        }
        times.sort()
        cpu.sort()
        processCPU.sort()
        let median = times[steps / 2]
        let flops = step.flopsPerStep(agent)
        let gflops = flops / (median * 1e-3) / 1e9
        return Result(
            preset: preset, algorithm: algorithm.rawValue, threads: step.threadCount, hiddenSize: h.hiddenSize,
            batchSize: h.batchSize, discriminatorHiddenSize: h.discriminatorHiddenSize, criticLayernorm: h.criticLayernorm,
            criticEnsemble: h.criticEnsemble, observationSize: S, actionSize: A,
            steps: steps, medianMilliseconds: median, medianThreadCPUMilliseconds: cpu[steps / 2],
            medianProcessCPUMilliseconds: processCPU[steps / 2], p10Milliseconds: times[steps / 10],
            p90Milliseconds: times[(steps * 9) / 10], flopsPerStep: flops, gflops: gflops,
            fractionOfPeak: gflops / (Double(step.threadCount) * peakGflopsPerCore), peakGflopsPerCore: peakGflopsPerCore)
    }
}

/// CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID), nanoseconds.
func threadCPUNanoseconds() -> UInt64 { cpuNanoseconds(CLOCK_THREAD_CPUTIME_ID) }

/// CPU time of `clock` (a CPU-time clock id), nanoseconds.
func cpuNanoseconds(_ clock: clockid_t) -> UInt64 {
    var t = timespec()
    clock_gettime(clock, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

extension H2OPlusStep {
    /// FLOPs of the GEMMs of one `run` (forward 2·rows·in·out per layer; backward the same for
    /// the weight gradient and again for each input gradient it propagates), from the logical
    /// layer sizes (the kernels also multiply the zero padding of outputs narrower than 16;
    /// LayerNorm's few per-element operations are not GEMMs and are not counted).
    public func flopsPerStep(_ agent: borrowing H2OAgent) -> Double {
        func macs(_ s: MLPShape) -> Double { Double(s.multiplyAddsPerSample) }
        func firstLayer(_ s: MLPShape) -> Double { Double(s.layerSizes[0] * s.layerSizes[1]) }
        func fwd(_ s: MLPShape, _ rows: Int) -> Double { 2 * Double(rows) * macs(s) }
        func bwd(_ s: MLPShape, _ rows: Int, input: Bool) -> Double {
            2 * Double(rows) * (2 * macs(s) - (input ? 0 : firstLayer(s)))
        }
        let B = rows, Nr = realRows
        let N = Double(agent.criticCount)  // every critic runs the same passes
        var f = 0.0
        let useValue = algorithm == .h2oPlus || algorithm == .iqlReal
        if algorithm == .h2oPlus || algorithm == .h2o {
            f += fwd(agent.discriminatorSA.shape, 2 * discRows) + bwd(agent.discriminatorSA.shape, 2 * discRows, input: false)
            f += fwd(agent.discriminatorSAS.shape, 2 * discRows) + bwd(agent.discriminatorSAS.shape, 2 * discRows, input: false)
            f += fwd(agent.discriminatorSAS.shape, simRows)
            if algorithm == .h2o { f += fwd(agent.discriminatorSAS.shape, simRows * copies) }
        }
        f += fwd(agent.policy.shape, 2 * B)
        f += N * fwd(agent.q1.shape, useValue ? B + Nr : B)
        if useValue { f += fwd(agent.value.shape, Nr + B) + bwd(agent.value.shape, Nr, input: false) }
        if flags.valueFirst { f += fwd(agent.value.shape, Nr + B) }
        f += N * (fwd(agent.q1.shape, B) + bwd(agent.q1.shape, B, input: false))
        if algorithm != .iqlReal {
            // The actor's pass through the critics back-propagates to the action only.
            f += N * (fwd(agent.q1.shape, B) + 2 * Double(B) * macs(agent.q1.shape))
        }
        f += bwd(agent.policy.shape, B, input: false)
        return f
    }
}
