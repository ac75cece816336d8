import Control
import FixedNN
import Foundation
import SystemSupport

/// One training step of H2O+ (shared/spec/h2oplus.md), read top to bottom: a shared forward
/// pass, then the spec's steps in order — 1 discriminators, 2 sim weights, then V, the mixed
/// target, the critics, the actor and α (each loss from the parameters as they were before
/// this step's updates), then the Adam steps and Polyak. A pure function of (agent, inputs):
/// every random quantity comes from `StepInputs`.
///
/// The baselines run the same functions; what each changes (λ, V, entropy in the target,
/// H2O's critic penalty, IQL's V-first order and AWR actor) is in `Baselines.swift`, decided
/// once in `init`. The two-thread schedule (`TwoThreadSchedule.swift`) runs the same functions
/// on two threads with bit-identical results.
///
/// Thread contract: `run` from one thread at a time (it drives its worker itself).
/// Allocation: `init` allocates every buffer (and starts the worker); `run` does not allocate
/// or throw, and locks nothing (the worker handoff is atomics, with a semaphore park after a
/// short spin).
public struct H2OPlusStep: ~Copyable, @unchecked Sendable {
    public let algorithm: Algorithm
    package let flags: BaselineFlags
    let S: Int, A: Int
    package let realRows: Int, simRows: Int, rows: Int, discRows: Int, copies: Int
    let gamma: Float, polyak: Float, targetEntropy: Float
    let cqlWeight: Float, cqlStdRatio: Float, iqlTemperature: Float, iqlMaxWeight: Float

    /// Steps 1–2's buffers, heap-homed so the worker thread can own them during a step.
    let discriminators: UnsafeMutablePointer<DiscriminatorStage>
    /// Q2's (s, a) pass, heap-homed so the worker thread can own it during a step.
    let criticTwo: UnsafeMutablePointer<CriticTwoStage>
    /// The second thread of a two-thread step (nil: one thread).
    let worker: StepWorker?
    var pi: MLPWorkspace
    var headPi: TanhGaussianHead
    var headNext: TanhGaussianHead
    var q1Pi: MLPWorkspace
    var q2Pi: MLPWorkspace
    var q1: MLPWorkspace
    var q1T: MLPWorkspace
    var q2T: MLPWorkspace
    var v: MLPWorkspace
    /// Critics 3…N (`extra` of them): their (s, a) passes, target passes on the prelude's rows,
    /// actor passes on (s, ã), and parameter gradients. Always on the calling thread.
    let extra: Int
    var extraQ: OwnedArray<MLPWorkspace>
    var extraQT: OwnedArray<MLPWorkspace>
    var extraQPi: OwnedArray<MLPWorkspace>
    var gradExtra: OwnedArray<FloatBuffer>

    /// Parameter gradients of the last `run` (laid out like the agent's buffers).
    public var gradPolicy: FloatBuffer
    public var gradLogStd: FloatBuffer
    public var gradQ1: FloatBuffer
    public var gradValue: FloatBuffer
    public var gradLogAlpha: FloatBuffer

    var targets: FloatBuffer
    var valueTargets: FloatBuffer
    var actionGradient: FloatBuffer
    var logProbGradient: FloatBuffer
    var scratch: FloatBuffer

    /// Workspaces for `inputs`' row counts and the agent's networks, on one thread. Allocates.
    public init(agent: borrowing H2OAgent, inputs: borrowing StepInputs) {
        self.init(agent: agent, inputs: inputs, worker: nil)
    }

    /// A step on `threads` threads (1 or 2). With 2, a persistent worker thread is started now
    /// (``StepWorker``) and each `run` computes steps 1–2 there while the calling thread runs
    /// the rest of the forward passes; results are bit-identical to one thread. `workerCPU`
    /// pins the worker to that CPU (a loaded scheduler otherwise tends to wake it on the
    /// caller's CPU, where the two halves take turns instead of overlapping).
    /// Allocates; throws if the thread cannot be started.
    public init(
        agent: borrowing H2OAgent, inputs: borrowing StepInputs, threads: Int, workerCPU: Int32? = nil
    ) throws(SystemError) {
        precondition(threads == 1 || threads == 2, "H2OPlusStep supports 1 or 2 threads")
        self.init(agent: agent, inputs: inputs, worker: threads == 2 ? try StepWorker(cpu: workerCPU) : nil)
    }

    init(agent: borrowing H2OAgent, inputs: borrowing StepInputs, worker: StepWorker?) {
        self.worker = worker
        let h = agent.hyperparameters
        let S = agent.observationSize, A = agent.actionSize
        precondition(inputs.observationSize == S && inputs.actionSize == A, "StepInputs sizes differ from the agent's")
        let realRows = inputs.realRows, simRows = inputs.simRows, discRows = inputs.discriminatorRows
        let copies = inputs.noisyCopies
        let B = realRows + simRows
        let shapes = H2OAgent.shapes(observationSize: S, actionSize: A, hyperparameters: h)
        precondition(agent.policy.shape == shapes.policy && agent.discriminatorSAS.shape == shapes.discriminatorSAS,
                     "agent networks differ from its hyperparameters")
        algorithm = inputs.algorithm
        flags = BaselineFlags(algorithm: inputs.algorithm, hyperparameters: h)
        self.S = S
        self.A = A
        self.realRows = realRows
        self.simRows = simRows
        self.rows = B
        self.discRows = discRows
        self.copies = copies
        gamma = Float(h.gamma)
        polyak = Float(h.polyak)
        targetEntropy = Float(h.resolvedTargetEntropy(actionSize: A))
        cqlWeight = Float(h.cqlWeight)
        cqlStdRatio = Float(h.cqlNextStateStdRatio)
        iqlTemperature = Float(h.iqlTemperature)
        iqlMaxWeight = Float(h.iqlMaxWeight)
        discriminators = .allocate(capacity: 1)
        discriminators.initialize(
            to: DiscriminatorStage(
                shapes: (shapes.discriminatorSA, shapes.discriminatorSAS), observationSize: S, actionSize: A,
                realRows: realRows, simRows: simRows, discriminatorRows: discRows, noisyCopies: copies, hyperparameters: h))
        pi = MLPWorkspace(shape: shapes.policy, maxBatch: 2 * B)
        headPi = TanhGaussianHead(actionSize: A, maxBatch: B)
        headNext = TanhGaussianHead(actionSize: A, maxBatch: B)
        q1Pi = MLPWorkspace(shape: shapes.critic, maxBatch: B)
        q2Pi = MLPWorkspace(shape: shapes.critic, maxBatch: B)
        q1 = MLPWorkspace(shape: shapes.critic, maxBatch: B)
        criticTwo = .allocate(capacity: 1)
        criticTwo.initialize(to: CriticTwoStage(shape: shapes.critic, rows: B, discriminators: discriminators))
        q1T = MLPWorkspace(shape: shapes.critic, maxBatch: 2 * B)
        q2T = MLPWorkspace(shape: shapes.critic, maxBatch: 2 * B)
        v = MLPWorkspace(shape: shapes.value, maxBatch: 2 * B)
        precondition(agent.criticCount == h.criticEnsemble, "agent critics differ from its hyperparameters")
        extra = agent.extraCritics.count
        extraQ = OwnedArray(count: extra) { _ in MLPWorkspace(shape: shapes.critic, maxBatch: B) }
        extraQT = OwnedArray(count: extra) { _ in MLPWorkspace(shape: shapes.critic, maxBatch: 2 * B) }
        extraQPi = OwnedArray(count: extra) { _ in MLPWorkspace(shape: shapes.critic, maxBatch: B) }
        gradExtra = OwnedArray(count: extra) { _ in FloatBuffer(count: shapes.critic.parameterCount) }
        gradPolicy = FloatBuffer(count: shapes.policy.parameterCount)
        gradLogStd = FloatBuffer(count: 2)
        gradQ1 = FloatBuffer(count: shapes.critic.parameterCount)
        gradValue = FloatBuffer(count: shapes.value.parameterCount)
        gradLogAlpha = FloatBuffer(count: 1)
        targets = FloatBuffer(count: B)
        valueTargets = FloatBuffer(count: 2 * B)
        actionGradient = FloatBuffer(count: B * A)
        logProbGradient = FloatBuffer(count: B)
        scratch = FloatBuffer(count: Swift.max(B, simRows * Swift.max(copies, 1)))
    }

    deinit {
        worker?.shutdown()
        criticTwo.deinitialize(count: 1)
        criticTwo.deallocate()
        discriminators.deinitialize(count: 1)
        discriminators.deallocate()
    }

    /// Threads the step runs on (the calling thread, plus the worker if any).
    public var threadCount: Int { worker == nil ? 1 : 2 }
}

extension H2OPlusStep {
    // MARK: The step

    /// One full update of `agent` from `inputs` (`mode` `.criticsOnly`: the H2O+ warm-up that
    /// leaves π, m, c and α as they are); returns the losses, computed from the parameters
    /// before the update. Real-time safe: does not allocate, lock or throw.
    public mutating func run(_ agent: inout H2OAgent, _ inputs: borrowing StepInputs, mode: UpdateMode = .full) -> StepLosses {
        precondition(mode == .full || algorithm == .h2oPlus, "the critics-only warm-up is a mode of H2O+")
        if worker != nil && flags.discriminators { return runOnTwoThreads(&agent, inputs, mode: mode) }
        return step(&agent, inputs, mode: mode, updating: true)
    }

    /// Every loss and gradient at the agent's current parameters, with w_c from the current
    /// discriminators, and nothing updated (so IQL's actor and critic losses see V before its
    /// update, where `run` updates V first). For gradient checks. Does not allocate.
    public mutating func gradients(_ agent: inout H2OAgent, _ inputs: borrowing StepInputs) -> StepLosses {
        step(&agent, inputs, mode: .full, updating: false)
    }

    /// The step on one thread; `updating` false takes every gradient and moves nothing.
    mutating func step(_ agent: inout H2OAgent, _ inputs: borrowing StepInputs, mode: UpdateMode, updating: Bool) -> StepLosses {
        var losses = StepLosses()
        if flags.discriminators {
            // Through a local copy of the pointer: `discriminators.pointee` (a stored property's
            // pointee) crashes swift-frontend 6.3.1 under -sanitize=thread ("Invalid bitcast").
            let stage = discriminators
            stage.pointee.loadRows(inputs)
            withUnsafeMutablePointer(to: &agent) { a in
                // 1. Discriminators (one Adam step each), 2. sim weights with the updated D_sas.
                (losses.discriminatorSA, losses.discriminatorSAS) =
                    updating ? stage.pointee.update(a) : stage.pointee.gradients(a.pointee)
                losses.simWeightMean = stage.pointee.computeSimWeights(a.pointee)
            }
        }
        forwardPrelude(agent, inputs)
        valueLoss(agent, into: &losses)
        if updating && flags.valueFirst { updateValueFirst(&agent) }
        mixedTargets(agent, inputs, mode: mode)
        loadCriticRows(inputs)
        let c2 = criticTwo
        c2.pointee.workspace.forward(agent.q2, batch: rows)
        q1.forward(agent.q1, batch: rows)
        extraCriticsForward(agent)
        criticLoss(agent, inputs, into: &losses)
        criticBackward(agent)
        c2.pointee.backward(agent)
        actorLoss(agent, inputs, into: &losses, mode: mode)
        temperatureLoss(agent, into: &losses, mode: mode)
        if updating { applyUpdates(&agent, mode: mode) }  // Adam in the spec's order, then Polyak
        return losses
    }
}

extension DiscriminatorStage {
    // MARK: 1. Discriminators (storage: `DiscriminatorStage`, TwoThreadSchedule.swift)

    /// L_sa and L_sas on the noisy discriminator batch `loadRows` wrote; leaves
    /// ∇_{D_sa}(L_sa + L_sas) in `gradSA` and ∇_{D_sas} L_sas in `gradSAS`. Parameters unchanged.
    mutating func gradients(_ agent: borrowing H2OAgent) -> (Float, Float) {
        let n = discRows
        discSA.forward(agent.discriminatorSA, batch: 2 * n)
        discSAS.forward(agent.discriminatorSAS, batch: 2 * n)
        let outSA = discSA.output, outSAS = discSAS.output
        let oSA = discSA.outputStride, oSAS = discSAS.outputStride
        // p_sa = softmax(2·tanh D_sa), p_sas = softmax(2·tanh D_sas + 2·tanh D_sa).
        for r in 0..<(2 * n) {
            for k in 0..<2 {
                let zsa = 2 * outSA[r * oSA + k]
                logitsSA[2 * r + k] = zsa
                logitsSAS[2 * r + k] = 2 * outSAS[r * oSAS + k] + zsa
            }
        }
        // Rows 0..<n real (class 0), n..<2n sim (class 1).
        let gSA = gLogitsSA.baseAddress, gSAS = gLogitsSAS.baseAddress
        let lSA =
            Loss.softmaxCrossEntropy2(
                logits: logitsSA.baseAddress, logitStride: 2, count: n, label: 0, gradient: gSA, gradientStride: 2)
            + Loss.softmaxCrossEntropy2(
                logits: logitsSA.baseAddress + 2 * n, logitStride: 2, count: n, label: 1, gradient: gSA + 2 * n,
                gradientStride: 2)
        let lSAS =
            Loss.softmaxCrossEntropy2(
                logits: logitsSAS.baseAddress, logitStride: 2, count: n, label: 0, gradient: gSAS, gradientStride: 2)
            + Loss.softmaxCrossEntropy2(
                logits: logitsSAS.baseAddress + 2 * n, logitStride: 2, count: n, label: 1, gradient: gSAS + 2 * n,
                gradientStride: 2)
        // Through logits = 2·out: D_sa receives both losses, D_sas only L_sas.
        let dSA = discSA.outputGradient, dSAS = discSAS.outputGradient
        for r in 0..<(2 * n) {
            for k in 0..<2 {
                dSA[r * oSA + k] = 2 * (gSA[2 * r + k] + gSAS[2 * r + k])
                dSAS[r * oSAS + k] = 2 * gSAS[2 * r + k]
            }
        }
        gradSA.fill(0)
        gradSAS.fill(0)
        discSA.backward(agent.discriminatorSA, batch: 2 * n, accumulatingInto: &gradSA, inputGradient: false)
        discSAS.backward(agent.discriminatorSAS, batch: 2 * n, accumulatingInto: &gradSAS, inputGradient: false)
        return (lSA, lSAS)
    }

    /// Step 1: the gradients, then one Adam step on D_sa and one on D_sas. Touches only the
    /// discriminators and their optimisers in `agent`. Returns (L_sa, L_sas).
    mutating func update(_ agent: UnsafeMutablePointer<H2OAgent>) -> (Float, Float) {
        let losses = gradients(agent.pointee)
        agent.pointee.discriminatorSAOptimizer.step(&agent.pointee.discriminatorSA.parameters, gradient: gradSA)
        agent.pointee.discriminatorSASOptimizer.step(&agent.pointee.discriminatorSAS.parameters, gradient: gradSAS)
        return losses
    }

    // MARK: 2. Sim weights

    /// w_c = clip(exp(D_sas[0] − D_sas[1]), 1e-5, 1) — which is [p_sas(0)/p_sas(1)]·[p_sa(1)/p_sa(0)]
    /// — for the RL batch's sim rows (`loadRows`) with the agent's (just updated) D_sas, no
    /// noise. Returns their mean (1 when there are none).
    mutating func computeSimWeights(_ agent: borrowing H2OAgent) -> Float {
        guard simRows > 0 else { return 1 }
        discSAS.input.update(from: simRowInputs.baseAddress, count: simRows * discSAS.inputStride)
        discSAS.forward(agent.discriminatorSAS, batch: simRows)
        let out = discSAS.output, o = discSAS.outputStride
        var sum: Float = 0
        for i in 0..<simRows {
            let w = Foundation.exp(2 * (out[i * o] - out[i * o + 1]))
            let c = Swift.min(Swift.max(w, weightMin), weightMax)
            simWeights[i] = c
            sum += c
        }
        return sum / Float(simRows)
    }
}

extension H2OPlusStep {
    // MARK: Shared forward passes

    /// The forward passes several losses share: π on s (rows 0..<B, trained by the actor) and
    /// s' (rows B..<2B) with a' ~ π(·|s'); the target critics on (s', a') (rows 0..<B) and, when
    /// V trains, on the real (s, a) (rows B..<B+Nr: V's regression targets, IQL's advantages);
    /// V on the real s (rows 0..<Nr) and on s' (rows Nr..<Nr+B). Reads only the policy, the
    /// target critics, V, m and c of `agent`.
    mutating func forwardPrelude(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) {
        let B = rows, Nr = realRows
        let obs = inputs.rl.observations, act = inputs.rl.actions, next = inputs.rl.nextObservations
        let piIn = pi.input, piStride = pi.inputStride
        for r in 0..<B {
            (piIn + r * piStride).update(from: obs + r * S, count: S)
            (piIn + (B + r) * piStride).update(from: next + r * S, count: S)
        }
        pi.forward(agent.policy, batch: 2 * B)
        let po = pi.outputStride
        headNext.forward(
            networkOutput: pi.output + B * po, stride: po, batch: B, logStdScale: agent.logStd[0],
            logStdBias: agent.logStd[1], noise: inputs.nextPolicyNoise.baseAddress)
        let targetRows = flags.value ? B + Nr : B
        for ws in 0..<2 {
            let x = ws == 0 ? q1T.input : q2T.input
            let stride = q1T.inputStride
            for r in 0..<B {
                (x + r * stride).update(from: next + r * S, count: S)
                (x + r * stride + S).update(from: headNext.actions + r * A, count: A)
            }
            if flags.value {
                for r in 0..<Nr {
                    (x + (B + r) * stride).update(from: obs + r * S, count: S)
                    (x + (B + r) * stride + S).update(from: act + r * A, count: A)
                }
            }
        }
        q1T.forward(agent.q1Target, batch: targetRows)
        q2T.forward(agent.q2Target, batch: targetRows)
        for k in 0..<extra {
            extraQT[k].input.update(from: q1T.input, count: targetRows * q1T.inputStride)
            extraQT[k].forward(agent.extraCriticTargets[k], batch: targetRows)
        }
        if flags.value {
            let x = v.input, stride = v.inputStride
            for r in 0..<Nr { (x + r * stride).update(from: obs + r * S, count: S) }
            for r in 0..<B { (x + (Nr + r) * stride).update(from: next + r * S, count: S) }
            v.forward(agent.value, batch: Nr + B)
        }
    }

    // MARK: 3. Value

    /// L_V = mean_real |τe − 1{e<0}|·e², e = min(Q̄1, Q̄2)(s, a) − V(s), on the real rows only,
    /// against the target critics; gradient into `gradValue` (zero when V is not trained).
    mutating func valueLoss(_ agent: borrowing H2OAgent, into losses: inout StepLosses) {
        gradValue.fill(0)
        guard flags.value else { return }
        let B = rows, Nr = realRows
        let t1 = q1T.output, t2 = q2T.output, to = q1T.outputStride
        for r in 0..<Nr { valueTargets[r] = targetMinimum(t1, t2, row: B + r, stride: to) }
        losses.value = Loss.expectile(
            predictions: v.output, predictionStride: v.outputStride, targets: valueTargets.baseAddress, count: Nr,
            tau: flags.expectile, gradient: v.outputGradient, gradientStride: v.outputStride)
        v.backward(agent.value, batch: Nr, accumulatingInto: &gradValue, inputGradient: false)
    }

    // MARK: 4. Mixed target

    /// y = λ·(r + γ(1−d)V(s')) + (1−λ)·(r + γ(1−d)[min Q̄(s', a') − α log π(a'|s')]) for every
    /// row, with the current α (λ = 0 in the critics-only warm-up; the entropy term only where
    /// the algorithm has it).
    mutating func mixedTargets(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs, mode: UpdateMode) {
        let lambda = mode == .criticsOnly ? 0 : flags.lambda
        let alpha = agent.alpha
        let entropy: Float = flags.entropyInTarget ? 1 : 0
        let Nr = realRows
        let t1 = q1T.output, t2 = q2T.output, to = q1T.outputStride
        let vOut = v.output, vo = v.outputStride
        let rew = inputs.rl.rewards, done = inputs.rl.terminals
        for r in 0..<rows {
            let discount = gamma * (1 - done[r])
            var explore: Float = 0
            if lambda < 1 {
                explore = targetMinimum(t1, t2, row: r, stride: to) - entropy * alpha * headNext.logProbabilities[r]
            }
            let exploit: Float = flags.value ? vOut[(Nr + r) * vo] : 0
            targets[r] = rew[r] + discount * (lambda * exploit + (1 - lambda) * explore)
        }
    }

    // MARK: 5. Critics

    /// Writes the RL batch's (s, a) rows into Q1's and Q2's workspaces.
    mutating func loadCriticRows(_ inputs: borrowing StepInputs) {
        let c2 = criticTwo
        let obs = inputs.rl.observations, act = inputs.rl.actions
        for ws in 0..<2 {
            let x = ws == 0 ? q1.input : c2.pointee.workspace.input
            let stride = q1.inputStride
            for r in 0..<rows {
                (x + r * stride).update(from: obs + r * S, count: S)
                (x + r * stride + S).update(from: act + r * A, count: A)
            }
        }
        for k in 0..<extra { extraQ[k].input.update(from: q1.input, count: rows * q1.inputStride) }
    }

    /// min over the N target critics of the prelude's pass at `row` (`t1`, `t2`: Q̄1's and Q̄2's
    /// outputs; Q̄3… from their workspaces), Q̄1 and Q̄2 first so N = 2 is `min(Q̄1, Q̄2)`.
    func targetMinimum(_ t1: UnsafePointer<Float>, _ t2: UnsafePointer<Float>, row: Int, stride: Int) -> Float {
        var m = Swift.min(t1[row * stride], t2[row * stride])
        for k in 0..<extra { m = Swift.min(m, extraQT[k].output[row * stride]) }
        return m
    }

    /// Critics 3…N on the RL batch's (s, a) rows (`loadCriticRows` wrote them).
    mutating func extraCriticsForward(_ agent: borrowing H2OAgent) {
        for k in 0..<extra { extraQ[k].forward(agent.extraCritics[k], batch: rows) }
    }

    /// Critic `j`'s (s, a) pass: its outputs and output gradient (0: Q1, 1: Q2, 2…: Q3…).
    func criticPass(_ j: Int) -> (output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>) {
        if j == 0 { return (q1.output, q1.outputGradient) }
        if j == 1 { return (criticTwo.pointee.workspace.output, criticTwo.pointee.workspace.outputGradient) }
        return (extraQ[j - 2].output, extraQ[j - 2].outputGradient)
    }

    /// L_Q = Σ_j mean_real (Q_j − y)² + mean_sim w_c (Q_j − y)² (plus H2O's penalty) from the
    /// critics' forward passes on (s, a); dL_Q/dQ_j into their output gradients.
    mutating func criticLoss(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs, into losses: inout StepLosses) {
        let stage = discriminators
        let Nr = realRows
        var critic: Float = 0
        for ws in 0..<(2 + extra) {
            let (out, grad) = criticPass(ws)
            let o = q1.outputStride
            critic += Loss.meanSquaredError(
                predictions: out, predictionStride: o, targets: targets.baseAddress, count: Nr, gradient: grad,
                gradientStride: o)
            if simRows > 0 {
                critic += Loss.weightedMeanSquaredError(
                    predictions: out + Nr * o, predictionStride: o, targets: targets.baseAddress + Nr,
                    weights: stage.pointee.simWeights.baseAddress, count: simRows, gradient: grad + Nr * o, gradientStride: o)
            }
        }
        if flags.penalty {
            losses.penalty = h2oPenalty(agent, inputs)
            critic += losses.penalty
        }
        losses.critic = critic
    }

    /// ∇_{Q1} L_Q into `gradQ1` and ∇_{Q3…} into `gradExtra` (Q2's is `CriticTwoStage.backward`,
    /// run beside them on two threads).
    mutating func criticBackward(_ agent: borrowing H2OAgent) {
        gradQ1.fill(0)
        q1.backward(agent.q1, batch: rows, accumulatingInto: &gradQ1, inputGradient: false)
        for k in 0..<extra {
            gradExtra[k].fill(0)
            extraQ[k].backward(agent.extraCritics[k], batch: rows, accumulatingInto: &gradExtra[k], inputGradient: false)
        }
    }

    // MARK: 6. Actor

    /// L_π = E[α·log π(ã|s) − min(Q1, Q2)(s, ã)] on every RL row with ã reparameterised and the
    /// current critics (their parameter gradient from L_π is discarded); gradients into
    /// `gradPolicy` and `gradLogStd` (m, c). IQL: advantage-weighted regression instead.
    mutating func actorLoss(
        _ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs, into losses: inout StepLosses, mode: UpdateMode
    ) {
        let B = rows
        let alpha = agent.alpha
        let m = agent.logStd[0], c = agent.logStd[1]
        losses.alphaValue = alpha
        gradPolicy.fill(0)
        gradLogStd.fill(0)
        guard mode == .full else { return }
        if flags.actor == .advantageWeighted {
            losses.actor = advantageWeightedActor(agent, inputs)
            return
        }
        let obs = inputs.rl.observations
        let piOut = pi.output, po = pi.outputStride
        headPi.forward(
            networkOutput: piOut, stride: po, batch: B, logStdScale: m, logStdBias: c, noise: inputs.policyNoise.baseAddress)
        for ws in 0..<2 {
            let x = ws == 0 ? q1Pi.input : q2Pi.input
            let stride = q1Pi.inputStride
            for r in 0..<B {
                (x + r * stride).update(from: obs + r * S, count: S)
                (x + r * stride + S).update(from: headPi.actions + r * A, count: A)
            }
        }
        q1Pi.forward(agent.q1, batch: B)
        q2Pi.forward(agent.q2, batch: B)
        for k in 0..<extra {
            extraQPi[k].input.update(from: q1Pi.input, count: B * q1Pi.inputStride)
            extraQPi[k].forward(agent.extraCritics[k], batch: B)
        }
        let p1 = q1Pi.output, p2 = q2Pi.output, qo = q1Pi.outputStride
        let g1 = q1Pi.outputGradient, g2 = q2Pi.outputGradient
        let invB = 1 / Float(B)
        var actor: Float = 0
        var logProbSum: Float = 0
        for r in 0..<B {
            let a = p1[r * qo], b = p2[r * qo]
            let logProb = headPi.logProbabilities[r]
            // min over the N critics; the gradient goes to the first critic attaining it.
            var smallest = Swift.min(a, b)
            var which = a <= b ? 0 : 1
            for k in 0..<extra {
                let q = extraQPi[k].output[r * qo]
                if q < smallest { (smallest, which) = (q, 2 + k) }
                extraQPi[k].outputGradient[r * qo] = 0
            }
            if which >= 2 { extraQPi[which - 2].outputGradient[r * qo] = -invB }
            actor += alpha * logProb - smallest
            logProbSum += logProb
            g1[r * qo] = which == 0 ? -invB : 0
            g2[r * qo] = which == 1 ? -invB : 0
            logProbGradient[r] = alpha * invB
        }
        losses.actor = actor * invB
        losses.logProbabilityMean = logProbSum * invB
        // dL/dã through the critics; their parameter gradient is discarded.
        q1Pi.backwardInputOnly(agent.q1, batch: B)
        q2Pi.backwardInputOnly(agent.q2, batch: B)
        let d1 = q1Pi.inputGradient, d2 = q2Pi.inputGradient, ds = q1Pi.inputStride
        for r in 0..<B {
            for j in 0..<A { actionGradient[r * A + j] = d1[r * ds + S + j] + d2[r * ds + S + j] }
        }
        for k in 0..<extra {
            extraQPi[k].backwardInputOnly(agent.extraCritics[k], batch: B)
            let dk = extraQPi[k].inputGradient
            for r in 0..<B {
                for j in 0..<A { actionGradient[r * A + j] += dk[r * ds + S + j] }
            }
        }
        var dm: Float = 0, dc: Float = 0
        headPi.backward(
            actionGradient: actionGradient.baseAddress, logProbabilityGradient: logProbGradient.baseAddress, batch: B,
            logStdScale: m, networkOutputGradient: pi.outputGradient, stride: po, logStdScaleGradient: &dm,
            logStdBiasGradient: &dc)
        gradLogStd[0] = dm
        gradLogStd[1] = dc
        pi.backward(agent.policy, batch: B, accumulatingInto: &gradPolicy, inputGradient: false)
    }

    // MARK: 7. Temperature

    /// L_α = −logα·mean(sg(log π(ã|s) + H̄)), gradient −mean(log π + H̄), from the actor's ã.
    mutating func temperatureLoss(_ agent: borrowing H2OAgent, into losses: inout StepLosses, mode: UpdateMode) {
        gradLogAlpha.fill(0)
        guard mode == .full && flags.temperature else { return }
        let meanTerm = losses.logProbabilityMean + targetEntropy
        losses.alpha = -agent.logAlpha[0] * meanTerm
        gradLogAlpha[0] = -meanTerm
    }

    // MARK: Updates

    /// Adam on logα, V, π (with m, c), Q1, Q2, Q3… from this step's gradients — in the spec's order,
    /// every gradient taken before any of them moved — then Polyak Q̄ ← (1−ρ)Q̄ + ρQ.
    /// Real-time safe: does not allocate, lock or throw.
    mutating func applyUpdates(_ agent: inout H2OAgent, mode: UpdateMode) {
        let full = mode == .full
        if flags.temperature && full { agent.logAlphaOptimizer.step(&agent.logAlpha, gradient: gradLogAlpha) }
        if flags.value && !flags.valueFirst { agent.valueOptimizer.step(&agent.value.parameters, gradient: gradValue) }
        if full {
            agent.policyOptimizer.step(&agent.policy.parameters, gradient: gradPolicy)
            agent.logStdOptimizer.step(&agent.logStd, gradient: gradLogStd)
        }
        agent.q1Optimizer.step(&agent.q1.parameters, gradient: gradQ1)
        let c2 = criticTwo
        agent.q2Optimizer.step(&agent.q2.parameters, gradient: c2.pointee.gradient)
        for k in 0..<extra { agent.extraCriticOptimizers[k].step(&agent.extraCritics[k].parameters, gradient: gradExtra[k]) }
        agent.q1Target.polyakUpdate(toward: agent.q1, rate: polyak)
        agent.q2Target.polyakUpdate(toward: agent.q2, rate: polyak)
        let extraTargets = agent.extraCriticTargets.base  // in place; the subscript's access would overlap
        for k in 0..<extra { extraTargets[k].polyakUpdate(toward: agent.extraCritics[k], rate: polyak) }
    }

    // MARK: Results of the last step

    /// ∇_{D_sa}(L_sa + L_sas) of the last step, laid out like the agent's D_sa parameters.
    public var gradDiscSA: FloatBuffer { _read { let stage = discriminators; yield stage.pointee.gradSA } }
    /// ∇_{D_sas} L_sas of the last step.
    public var gradDiscSAS: FloatBuffer { _read { let stage = discriminators; yield stage.pointee.gradSAS } }
    /// w_c of the last step's sim rows.
    public var simWeights: FloatBuffer { _read { let stage = discriminators; yield stage.pointee.simWeights } }
    /// ∇_{Q2} L_Q of the last step.
    public var gradQ2: FloatBuffer { _read { let stage = criticTwo; yield stage.pointee.gradient } }
    /// ∇_{Q3…} L_Q of the last step: `gradExtraCritic(k)` belongs to `agent.extraCritics[k]`.
    public func gradExtraCritic(_ k: Int) -> UnsafePointer<Float> { UnsafePointer(gradExtra[k].baseAddress) }
}

/// The step's former name, still used by `VerifyStep.swift`.
public typealias H2OStep = H2OPlusStep
