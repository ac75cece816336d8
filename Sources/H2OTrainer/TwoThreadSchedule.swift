import Control
import FixedNN
import Foundation
import Synchronization
import SystemSupport

// The two-thread schedule of `H2OPlusStep`: the same functions as one thread, split so that
// a persistent worker runs steps 1–2 (discriminators, sim weights) and Q2's (s, a) forward pass
// while the calling thread runs the shared forward passes, V, the targets, Q1's (and Q3…'s)
// forward pass, the actor and α; then Q2's backward pass there beside Q1's here. Results are bit-identical
// to one thread: every function computes the same values in the same order, only on another
// thread, under the owner's floating-point environment.

extension H2OPlusStep {
    /// `run` on two threads. Real-time safe: does not allocate, lock or throw.
    mutating func runOnTwoThreads(_ agent: inout H2OAgent, _ inputs: borrowing StepInputs, mode: UpdateMode) -> StepLosses {
        guard let worker else { preconditionFailure("runOnTwoThreads without a worker") }
        var losses = StepLosses()
        let stage = discriminators, c2 = criticTwo
        stage.pointee.loadRows(inputs)
        loadCriticRows(inputs)
        withUnsafeMutablePointer(to: &agent) { a in
            // Worker: steps 1–2 (writes only the stage and the agent's discriminators and their
            // optimisers) and Q2's forward pass. Here: everything that does not need w_c (reads
            // the policy, critics, targets, V, logα, m and c; writes only this step's buffers).
            c2.pointee.pendingAgent = a
            worker.post(CriticTwoStage.phaseOneJob, context: UnsafeMutableRawPointer(c2))
            forwardPrelude(a.pointee, inputs)
            valueLoss(a.pointee, into: &losses)
            mixedTargets(a.pointee, inputs, mode: mode)
            q1.forward(a.pointee.q1, batch: rows)
            extraCriticsForward(a.pointee)
            actorLoss(a.pointee, inputs, into: &losses, mode: mode)
            temperatureLoss(a.pointee, into: &losses, mode: mode)
            worker.wait()
            criticLoss(a.pointee, inputs, into: &losses)
            worker.post(CriticTwoStage.backwardJob, context: UnsafeMutableRawPointer(c2))
            criticBackward(a.pointee)
            worker.wait()
            c2.pointee.pendingAgent = nil
        }
        (losses.discriminatorSA, losses.discriminatorSAS, losses.simWeightMean) = stage.pointee.results
        applyUpdates(&agent, mode: mode)
        return losses
    }
}

/// The buffers of steps 1–2 of H2O+ (their math: `H2OPlusStep.swift`): the discriminators'
/// workspaces, gradients and logits, the RL batch's sim rows and their weights w_c.
///
/// One heap-homed value that ``H2OPlusStep`` points to, so a ``StepWorker`` can run steps 1–2
/// while the calling thread runs the other forward passes: the two share no written memory
/// (steps 1–2 write the agent's D_sa and D_sas parameters and their Adam state and nothing
/// else of the agent).
///
/// Thread contract: one thread at a time. Allocation: `init` allocates; nothing else does.
struct DiscriminatorStage: ~Copyable {
    let S: Int, A: Int
    let realRows: Int, simRows: Int, discRows: Int
    let discNoise: Float, weightMin: Float, weightMax: Float

    var discSA: MLPWorkspace
    var discSAS: MLPWorkspace
    var gradSA: FloatBuffer
    var gradSAS: FloatBuffer
    var logitsSA: FloatBuffer
    var logitsSAS: FloatBuffer
    var gLogitsSA: FloatBuffer
    var gLogitsSAS: FloatBuffer
    /// w_c of the last step's sim rows.
    var simWeights: FloatBuffer
    /// The RL batch's sim rows (s, a, s'), `simRows × discSAS.inputStride`.
    var simRowInputs: FloatBuffer

    /// Steps 1–2's results (L_sa, L_sas, mean w_c) when the worker ran them
    /// (``CriticTwoStage/phaseOneJob(_:)``); read by the owner after `wait`.
    var results: (Float, Float, Float) = (0, 0, 1)

    /// Buffers for `discriminatorRows` real + as many sim rows, and for `simRows` (× H2O's
    /// `noisyCopies`) rows of sim weights. Allocates.
    init(
        shapes: (MLPShape, MLPShape), observationSize: Int, actionSize: Int, realRows: Int, simRows: Int,
        discriminatorRows discRows: Int, noisyCopies copies: Int, hyperparameters h: Hyperparameters
    ) {
        S = observationSize
        A = actionSize
        self.realRows = realRows
        self.simRows = simRows
        self.discRows = discRows
        discNoise = Float(h.discriminatorNoiseStd)
        weightMin = Float(h.simWeightMin)
        weightMax = Float(h.simWeightMax)
        discSA = MLPWorkspace(shape: shapes.0, maxBatch: Swift.max(1, 2 * discRows))
        discSAS = MLPWorkspace(
            shape: shapes.1, maxBatch: Swift.max(Swift.max(1, 2 * discRows), Swift.max(simRows * copies, simRows)))
        gradSA = FloatBuffer(count: shapes.0.parameterCount)
        gradSAS = FloatBuffer(count: shapes.1.parameterCount)
        logitsSA = FloatBuffer(count: 4 * discRows)
        logitsSAS = FloatBuffer(count: 4 * discRows)
        gLogitsSA = FloatBuffer(count: 4 * discRows)
        gLogitsSAS = FloatBuffer(count: 4 * discRows)
        simWeights = FloatBuffer(count: simRows)
        simRowInputs = FloatBuffer(count: Swift.max(1, simRows) * discSAS.inputStride)
    }

    /// Writes this step's rows: the noisy discriminator batch and the RL batch's sim rows.
    mutating func loadRows(_ inputs: borrowing StepInputs) {
        loadDiscriminatorRows(inputs)
        loadSimRows(inputs)
    }

    /// Writes this step's noisy discriminator rows (s, a, s') + σ·ε into the workspaces' inputs:
    /// rows 0..<n real, n..<2n sim.
    mutating func loadDiscriminatorRows(_ inputs: borrowing StepInputs) {
        let n = discRows
        let width = 2 * S + A
        let inSA = discSA.input, strideSA = discSA.inputStride
        let inSAS = discSAS.input, strideSAS = discSAS.inputStride
        // Rows 0..<n real, n..<2n sim: (s, a, s') + σ·ε.
        for part in 0..<2 {
            let batchObs = part == 0 ? inputs.discriminatorReal.observations : inputs.discriminatorSim.observations
            let batchAct = part == 0 ? inputs.discriminatorReal.actions : inputs.discriminatorSim.actions
            let batchNext = part == 0 ? inputs.discriminatorReal.nextObservations : inputs.discriminatorSim.nextObservations
            let noise = part == 0 ? inputs.discriminatorRealNoise.baseAddress : inputs.discriminatorSimNoise.baseAddress
            for i in 0..<n {
                let r = part * n + i
                let e = noise + i * width
                let x = inSAS + r * strideSAS
                for j in 0..<S { x[j] = batchObs[i * S + j] + discNoise * e[j] }
                for j in 0..<A { x[S + j] = batchAct[i * A + j] + discNoise * e[S + j] }
                for j in 0..<S { x[S + A + j] = batchNext[i * S + j] + discNoise * e[S + A + j] }
                (inSA + r * strideSA).update(from: x, count: S + A)
            }
        }
    }

    /// Copies the RL batch's sim rows (s, a, s') into `simRowInputs`.
    mutating func loadSimRows(_ inputs: borrowing StepInputs) {
        let x = simRowInputs.baseAddress, stride = discSAS.inputStride
        for i in 0..<simRows {
            let r = realRows + i
            let row = x + i * stride
            (row).update(from: inputs.rl.observations + r * S, count: S)
            (row + S).update(from: inputs.rl.actions + r * A, count: A)
            (row + S + A).update(from: inputs.rl.nextObservations + r * S, count: S)
        }
    }
}

/// Q2's pass on the RL batch (s, a) — its workspace and parameter gradient — heap-homed so the
/// worker of a two-thread ``H2OPlusStep`` can run Q2's forward pass beside the learner's forward
/// passes and Q2's backward pass beside Q1's, on memory the calling thread does not touch.
///
/// Thread contract: one thread at a time. Allocation: `init` allocates; nothing else does.
struct CriticTwoStage: ~Copyable {
    /// Q2 on (s, a): inputs written by the owner before the handoff.
    var workspace: MLPWorkspace
    /// ∇_{Q2} L_Q of the last step.
    var gradient: FloatBuffer
    /// RL batch rows.
    let rows: Int
    /// The discriminators' stage the phase-one job also runs.
    let discriminators: UnsafeMutablePointer<DiscriminatorStage>
    /// The agent of the step in progress (set by the owner before `post`).
    var pendingAgent: UnsafeMutablePointer<H2OAgent>?

    /// Buffers for `rows` rows of `shape` (the critic's). Allocates.
    init(shape: MLPShape, rows: Int, discriminators: UnsafeMutablePointer<DiscriminatorStage>) {
        workspace = MLPWorkspace(shape: shape, maxBatch: rows)
        gradient = FloatBuffer(count: shape.parameterCount)
        self.rows = rows
        self.discriminators = discriminators
    }

    /// The worker's part of phase one: steps 1–2 on the loaded rows and Q2's forward pass on
    /// the loaded (s, a) rows.
    static func phaseOneJob(_ raw: UnsafeMutableRawPointer) {
        let stage = raw.assumingMemoryBound(to: CriticTwoStage.self)
        let agent = stage.pointee.pendingAgent!
        let discriminators = stage.pointee.discriminators
        let (lSA, lSAS) = discriminators.pointee.update(agent)
        discriminators.pointee.results = (lSA, lSAS, discriminators.pointee.computeSimWeights(agent.pointee))
        stage.pointee.workspace.forward(agent.pointee.q2, batch: stage.pointee.rows)
    }

    /// The worker's part of phase two: Q2's backward pass into `gradient` (the output gradient
    /// was written by the owner before the handoff).
    static func backwardJob(_ raw: UnsafeMutableRawPointer) {
        let stage = raw.assumingMemoryBound(to: CriticTwoStage.self)
        stage.pointee.backward(stage.pointee.pendingAgent!.pointee)
    }

    /// ∇_{Q2} L_Q into `gradient` (cleared first) from the output gradient in the workspace.
    /// Real-time safe: does not allocate, lock or throw.
    mutating func backward(_ agent: borrowing H2OAgent) {
        gradient.fill(0)
        workspace.backward(agent.q2, batch: rows, accumulatingInto: &gradient, inputGradient: false)
    }
}

/// A persistent second thread for the two-thread training step: started once, then handed one
/// job at a time (`post`, then `wait`) without allocating or locking on the way.
///
/// Handoff: generation counters in `Atomic`s. Each side spins on the other's counter for a few
/// microseconds, then parks on a semaphore; a parked flag written before the final re-check
/// (sequentially consistent on both sides) guarantees that a wake-up is never lost. A job is a
/// plain function and a context pointer, so posting one allocates nothing.
///
/// Floating point: each job runs under the owner's floating-point environment at `post`
/// (`fegetenv`/`fesetenv`: rounding, and flush-to-zero/denormals-are-zero in MXCSR or FPCR), so
/// a split step computes exactly what the owner alone would.
/// Memory contract: everything the owner wrote before `post` is visible to the job, and
/// everything the job wrote is visible to the owner after `wait` returns (release/acquire on
/// the counters). Between the two, owner and job must touch disjoint memory.
/// Thread contract: `post`, `wait` and `shutdown` from one owner thread; `post` only when the
/// previous job has been waited for. Allocation: `init` allocates (the thread); nothing else does.
public final class StepWorker: @unchecked Sendable {
    /// A job: runs on the worker thread with the context pointer given to `post`.
    public typealias Job = (UnsafeMutableRawPointer) -> Void

    private let posted = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let workerParked = Atomic<Bool>(false)
    private let ownerParked = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let wakeWorker = DispatchSemaphore(value: 0)
    private let wakeOwner = DispatchSemaphore(value: 0)
    /// Written by the owner before `posted` is released; read by the worker after acquiring it.
    private var job: Job = { _ in }
    private var context: UnsafeMutableRawPointer?
    private var environment = fenv_t()
    private var generation = 0
    private var thread: NativeThread?

    /// Polls of the other side's counter before parking (a few microseconds).
    static let spinLimit = 20_000

    /// Starts the worker thread (named `name`, pinned to `cpu` when given), which parks until
    /// the first `post`. Allocates.
    public init(name: String = "h2o-step-worker", cpu: Int32? = nil) throws(SystemError) {
        thread = try NativeThread(name: name) { [self] in
            if let cpu {
                _ = RealtimeSetup.apply(RealtimeOptions(fifoPriority: nil, cpu: cpu, lockMemory: false, flushDenormals: false))
            }
            workerLoop()
        }
    }

    /// Hands `job(context)` to the worker. Real-time safe: does not allocate, lock or throw.
    public func post(_ job: @escaping Job, context: UnsafeMutableRawPointer) {
        self.job = job
        self.context = context
        fegetenv(&environment)
        generation += 1
        posted.store(generation, ordering: .sequentiallyConsistent)
        if workerParked.load(ordering: .sequentiallyConsistent) { wakeWorker.signal() }
    }

    /// Returns once the last posted job has finished. Does not allocate or throw.
    public func wait() {
        var spins = 0
        while finished.load(ordering: .acquiring) != generation {
            spins += 1
            if spins < Self.spinLimit { continue }
            ownerParked.store(true, ordering: .sequentiallyConsistent)
            if finished.load(ordering: .sequentiallyConsistent) != generation { wakeOwner.wait() }
            ownerParked.store(false, ordering: .sequentiallyConsistent)
            spins = 0
        }
    }

    /// Stops and joins the thread (idempotent). Call from the owner, with no job outstanding.
    public func shutdown() {
        guard let thread else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        wakeWorker.signal()
        thread.join()
        self.thread = nil
    }

    deinit { shutdown() }

    private func workerLoop() {
        var seen = 0
        while true {
            var spins = 0
            while posted.load(ordering: .acquiring) == seen {
                if stopping.load(ordering: .acquiring) { return }
                spins += 1
                if spins < Self.spinLimit { continue }
                workerParked.store(true, ordering: .sequentiallyConsistent)
                if posted.load(ordering: .sequentiallyConsistent) == seen
                    && !stopping.load(ordering: .sequentiallyConsistent)
                {
                    wakeWorker.wait()
                }
                workerParked.store(false, ordering: .sequentiallyConsistent)
                spins = 0
            }
            seen += 1
            fesetenv(&environment)
            job(context!)
            finished.store(seen, ordering: .sequentiallyConsistent)
            if ownerParked.load(ordering: .sequentiallyConsistent) { wakeOwner.signal() }
        }
    }
}
