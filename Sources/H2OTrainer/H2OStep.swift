import Control
import FixedNN
import Foundation

/// One training step of H2O+ (shared/spec/h2oplus.md) and of the baselines on the same
/// networks and code paths, as a pure function of (agent, inputs): every random quantity comes
/// from `StepInputs`.
///
/// Order (H2O+):
/// 1. discriminators on the noisy discriminator batch; D_sa gets ∇(L_sa + L_sas), D_sas ∇L_sas;
///    one Adam step each;
/// 2. sim weights w_c = clip(exp(D_sas[0] − D_sas[1]), 1e-5, 1) with the updated D_sas, no noise;
/// 3. L_π and L_α on all RL states with ã ~ π, the current critics (their gradient from L_π is
///    discarded) and the current α;
/// 4. mixed target y = λ·(r + γ(1−d)V(s')) + (1−λ)·(r + γ(1−d)[min Q̄(s',a') − α log π(a'|s')]);
/// 5. L_Q = Σ_j mean_real (Q_j − y)² + mean_sim w_c (Q_j − y)²;
/// 6. L_V = mean_real |τe − 1{e<0}| e², e = min Q̄(s,a) − V(s), real rows only;
/// 7. Adam on logα, V, π (and m, c), Q1, Q2 — all gradients taken before any of them moves —
///    then Polyak Q̄ ← (1−ρ)Q̄ + ρQ.
///
/// Baselines (`Algorithm`): SAC (sim only) skips 1, 2 and 6 with λ = 0 and unit weights; IQL
/// (real only) uses λ = 1 (y = r + γ(1−d)V(s')), no entropy, and AWR for π; H2O replaces V by
/// the CQL-style penalty and drops the entropy term from the target.
///
/// Two threads (`init(agent:inputs:threads: 2)`): a persistent ``StepWorker`` runs steps 1–2
/// and Q2's (s, a) forward pass beside the rest of the learner's forward passes, then Q2's
/// backward pass beside Q1's; its buffers are heap-homed (``DiscriminatorStage``,
/// ``CriticTwoStage``) so the threads share no written memory; results are bit-identical.
///
/// Thread contract: `run` from one thread at a time (it drives the worker itself).
/// Allocation: `init` allocates every buffer (and starts the worker); `run` does not allocate
/// or throw, and locks nothing (the worker handoff is atomics, with a semaphore park after a
/// short spin).
public struct H2OStep: ~Copyable, @unchecked Sendable {
    public let algorithm: Algorithm
    let S: Int, A: Int
    let realRows: Int, simRows: Int, rows: Int, discRows: Int, copies: Int
    let gamma: Float, lambda: Float, expectile: Float, polyak: Float
    let targetEntropy: Float
    let cqlWeight: Float, cqlStateNoise: Float, iqlTemperature: Float, iqlMaxWeight: Float

    /// Steps 1–2's buffers, heap-homed so the worker thread can own them during a step.
    let discriminators: UnsafeMutablePointer<DiscriminatorStage>
    /// The second thread of a two-thread step (nil: one thread).
    let worker: StepWorker?
    var pi: MLPWorkspace
    var headPi: TanhGaussianHead
    var headNext: TanhGaussianHead
    var q1Pi: MLPWorkspace
    var q2Pi: MLPWorkspace
    var q1: MLPWorkspace
    /// Q2's (s, a) pass, heap-homed so the worker thread can own it during a step.
    let criticTwo: UnsafeMutablePointer<CriticTwoStage>
    var q1T: MLPWorkspace
    var q2T: MLPWorkspace
    var v: MLPWorkspace

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
    /// (``StepWorker``) and each `run` computes the discriminators' phase (steps 1–2) there while
    /// the calling thread runs the learner's forward passes (steps 3, 4, 6 and the critics'
    /// forward pass, which do not need w_c); results are bit-identical to one thread.
    /// `workerCPU` pins the worker to that CPU (a loaded scheduler otherwise tends to wake it
    /// on the caller's CPU, where the two halves take turns instead of overlapping).
    /// Allocates; throws if the thread cannot be started.
    public init(
        agent: borrowing H2OAgent, inputs: borrowing StepInputs, threads: Int, workerCPU: Int32? = nil
    ) throws(SystemError) {
        precondition(threads == 1 || threads == 2, "H2OStep supports 1 or 2 threads")
        self.init(agent: agent, inputs: inputs, worker: threads == 2 ? try StepWorker(cpu: workerCPU) : nil)
    }

    init(agent: borrowing H2OAgent, inputs: borrowing StepInputs, worker: StepWorker?) {
        self.worker = worker
        let h = agent.hyperparameters
        let algorithm = inputs.algorithm
        let S = agent.observationSize, A = agent.actionSize
        precondition(inputs.observationSize == S && inputs.actionSize == A, "StepInputs sizes differ from the agent's")
        let realRows = inputs.realRows, simRows = inputs.simRows, discRows = inputs.discriminatorRows
        let copies = inputs.noisyCopies
        let B = realRows + simRows
        let lambda: Float
        switch algorithm {
        case .h2oPlus: lambda = Float(h.exploitCoefficient)
        case .h2o, .sacSim: lambda = 0
        case .iqlReal: lambda = 1
        }
        let shapes = H2OAgent.shapes(observationSize: S, actionSize: A, hyperparameters: h)
        precondition(agent.policy.shape == shapes.policy && agent.discriminatorSAS.shape == shapes.discriminatorSAS,
                     "agent networks differ from its hyperparameters")
        self.algorithm = algorithm
        self.S = S
        self.A = A
        self.realRows = realRows
        self.simRows = simRows
        self.rows = B
        self.discRows = discRows
        self.copies = copies
        self.lambda = lambda
        gamma = Float(h.gamma)
        expectile = Float(h.expectile)
        polyak = Float(h.polyak)
        targetEntropy = Float(h.resolvedTargetEntropy(actionSize: A))
        cqlWeight = Float(h.cqlWeight)
        cqlStateNoise = Float(h.cqlStateNoiseStd)
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

    // MARK: The step

    /// One full update of `agent` from `inputs`; returns the losses (computed from the
    /// parameters before the update). Real-time safe: does not allocate, lock or throw.
    public mutating func run(_ agent: inout H2OAgent, _ inputs: borrowing StepInputs, mode: UpdateMode = .full) -> StepLosses {
        precondition(mode == .full || algorithm == .h2oPlus, "the critics-only warm-up is a mode of H2O+")
        // Through a local copy of the pointer: `discriminators.pointee` (a stored property's
        // pointee) crashes swift-frontend 6.3.1 under -sanitize=thread ("Invalid bitcast").
        let stage = discriminators
        var losses = StepLosses()
        if algorithm == .h2oPlus || algorithm == .h2o {
            let results: (Float, Float, Float)
            if let worker {
                // Worker: steps 1–2 (writes only the stage and the agent's discriminators and
                // their optimisers). Here: the learner's forward passes (read the policy,
                // critics, targets, V, logα, m, c; write only this step's learner buffers).
                // Worker: steps 1–2 and Q2's (s, a) forward pass; here: the rest of the
                // learner's forward passes. Then Q1's backward here beside Q2's there.
                let c2 = criticTwo
                stage.pointee.loadDiscriminatorRows(inputs)
                stage.pointee.loadSimRows(inputs)
                loadCriticRows(inputs)
                results = withUnsafeMutablePointer(to: &agent) { agentPointer in
                    c2.pointee.pendingAgent = agentPointer
                    worker.post(CriticTwoStage.phaseOneJob, context: UnsafeMutableRawPointer(c2))
                    learnerForwardAndGradients(agentPointer.pointee, inputs, into: &losses, mode: mode, criticTwoOnWorker: true)
                    worker.wait()
                    criticLosses(agentPointer.pointee, inputs, into: &losses)
                    worker.post(CriticTwoStage.backwardJob, context: UnsafeMutableRawPointer(c2))
                    gradQ1.fill(0)
                    q1.backward(agentPointer.pointee.q1, batch: rows, accumulatingInto: &gradQ1, inputGradient: false)
                    worker.wait()
                    c2.pointee.pendingAgent = nil
                    return stage.pointee.results
                }
            } else {
                results = withUnsafeMutablePointer(to: &agent) { stage.pointee.phase($0, inputs) }
            }
            (losses.discriminatorSA, losses.discriminatorSAS, losses.simWeightMean) = results
            if worker != nil {
                applyLearnerGradients(&agent, mode: mode)
                return losses
            }
        }
        learnerGradients(agent, inputs, into: &losses, mode: mode)
        applyLearnerGradients(&agent, mode: mode)
        return losses
    }

    /// Adam on logα, V, π (with m, c), Q1, Q2 from the gradients of `learnerGradients`, then
    /// Polyak on the targets. Real-time safe: does not allocate, lock or throw.
    mutating func applyLearnerGradients(_ agent: inout H2OAgent, mode: UpdateMode) {
        let full = mode == .full
        if algorithm != .iqlReal && full {
            agent.logAlphaOptimizer.step(&agent.logAlpha, gradient: gradLogAlpha)
        }
        if algorithm == .h2oPlus || algorithm == .iqlReal {
            agent.valueOptimizer.step(&agent.value.parameters, gradient: gradValue)
        }
        if full {
            agent.policyOptimizer.step(&agent.policy.parameters, gradient: gradPolicy)
            agent.logStdOptimizer.step(&agent.logStd, gradient: gradLogStd)
        }
        agent.q1Optimizer.step(&agent.q1.parameters, gradient: gradQ1)
        let c2 = criticTwo
        agent.q2Optimizer.step(&agent.q2.parameters, gradient: c2.pointee.gradient)
        agent.q1Target.polyakUpdate(toward: agent.q1, rate: polyak)
        agent.q2Target.polyakUpdate(toward: agent.q2, rate: polyak)
    }

    // MARK: 1–2. Discriminators and sim weights (storage in `DiscriminatorStage`)

    /// L_sa and L_sas on the noisy discriminator batch; leaves ∇_{D_sa}(L_sa + L_sas) in
    /// `gradDiscSA` and ∇_{D_sas} L_sas in `gradDiscSAS`. Parameters unchanged.
    mutating func discriminatorGradients(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) -> (Float, Float) {
        let stage = discriminators
        return stage.pointee.gradients(agent, inputs)
    }

    /// w_c for the sim rows of the RL batch with the agent's (updated) D_sas, no noise.
    /// Returns their mean.
    mutating func computeSimWeights(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) -> Float {
        let stage = discriminators
        return stage.pointee.computeSimWeights(agent, inputs)
    }

    /// ∇_{D_sa}(L_sa + L_sas) of the last step, laid out like the agent's D_sa parameters.
    public var gradDiscSA: FloatBuffer { _read { let stage = discriminators; yield stage.pointee.gradSA } }
    /// ∇_{D_sas} L_sas of the last step.
    public var gradDiscSAS: FloatBuffer { _read { let stage = discriminators; yield stage.pointee.gradSAS } }
    /// w_c of the last step's sim rows.
    public var simWeights: FloatBuffer { _read { let stage = discriminators; yield stage.pointee.simWeights } }
    /// ∇_{Q2} L_Q of the last step.
    public var gradQ2: FloatBuffer { _read { let stage = criticTwo; yield stage.pointee.gradient } }

    // MARK: 3–6. Policy, temperature, target, critics, value

    /// Every learner loss and gradient (π with m and c, logα, Q1, Q2, V) from the agent's
    /// current parameters; `simWeights` must hold this step's w_c. Parameters unchanged.
    mutating func learnerGradients(
        _ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs, into losses: inout StepLosses, mode: UpdateMode = .full
    ) {
        learnerForwardAndGradients(agent, inputs, into: &losses, mode: mode)
        criticGradients(agent, inputs, into: &losses)
    }

    /// Step 5: L_Q (and H2O's penalty) from the critic forward passes of
    /// `learnerForwardAndGradients` and this step's `simWeights`; gradients into gradQ1/gradQ2.
    mutating func criticGradients(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs, into losses: inout StepLosses) {
        criticLosses(agent, inputs, into: &losses)
        gradQ1.fill(0)
        q1.backward(agent.q1, batch: rows, accumulatingInto: &gradQ1, inputGradient: false)
        let c2 = criticTwo
        c2.pointee.backward(agent)
    }

    /// L_Q (and H2O's penalty) into `losses`, and dL_Q/dQ_j into the critics' output gradients.
    mutating func criticLosses(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs, into losses: inout StepLosses) {
        let stage = discriminators
        let c2 = criticTwo
        let Nr = realRows
        var critic: Float = 0
        for ws in 0..<2 {
            let out = ws == 0 ? q1.output : c2.pointee.workspace.output
            let grad = ws == 0 ? q1.outputGradient : c2.pointee.workspace.outputGradient
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
        if algorithm == .h2o {
            losses.penalty = cqlPenalty(agent, inputs)
            critic += losses.penalty
        }
        losses.critic = critic
    }

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
    }

    /// Steps 3, 4, 6 and the critics' forward pass: everything of the learner that does not
    /// need w_c. Reads only the policy, critics, targets, V, logα and m, c of `agent`.
    mutating func learnerForwardAndGradients(
        _ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs, into losses: inout StepLosses,
        mode: UpdateMode = .full, criticTwoOnWorker: Bool = false
    ) {
        let lambda = mode == .criticsOnly ? 0 : self.lambda
        let B = rows, Nr = realRows
        let alpha = agent.alpha
        let m = agent.logStd[0], c = agent.logStd[1]
        losses.alphaValue = alpha
        let obs = inputs.rl.observations, act = inputs.rl.actions, next = inputs.rl.nextObservations
        let rew = inputs.rl.rewards, done = inputs.rl.terminals

        // Policy on s (rows 0..<B, trained) and s' (rows B..<2B, for the target).
        let piIn = pi.input, piStride = pi.inputStride
        for r in 0..<B {
            (piIn + r * piStride).update(from: obs + r * S, count: S)
            (piIn + (B + r) * piStride).update(from: next + r * S, count: S)
        }
        pi.forward(agent.policy, batch: 2 * B)
        let piOut = pi.output, po = pi.outputStride
        headNext.forward(
            networkOutput: piOut + B * po, stride: po, batch: B, logStdScale: m, logStdBias: c,
            noise: inputs.nextPolicyNoise.baseAddress)

        // Target critics on (s', a') rows 0..<B and on (s, a) rows B..<B+Nr (value targets).
        let useValue = algorithm == .h2oPlus || algorithm == .iqlReal
        let targetRows = useValue ? B + Nr : B
        for ws in 0..<2 {
            let x = ws == 0 ? q1T.input : q2T.input
            let stride = q1T.inputStride
            for r in 0..<B {
                (x + r * stride).update(from: next + r * S, count: S)
                (x + r * stride + S).update(from: headNext.actions + r * A, count: A)
            }
            if useValue {
                for r in 0..<Nr {
                    (x + (B + r) * stride).update(from: obs + r * S, count: S)
                    (x + (B + r) * stride + S).update(from: act + r * A, count: A)
                }
            }
        }
        q1T.forward(agent.q1Target, batch: targetRows)
        q2T.forward(agent.q2Target, batch: targetRows)

        // V on s (real rows 0..<Nr, trained) and s' (rows Nr..<Nr+B).
        if useValue {
            let x = v.input, stride = v.inputStride
            for r in 0..<Nr { (x + r * stride).update(from: obs + r * S, count: S) }
            for r in 0..<B { (x + (Nr + r) * stride).update(from: next + r * S, count: S) }
            v.forward(agent.value, batch: Nr + B)
        }

        // 4. Mixed target.
        let t1 = q1T.output, t2 = q2T.output, to = q1T.outputStride
        let vOut = v.output, vo = v.outputStride
        let entropyInTarget: Float = algorithm == .h2o ? 0 : 1
        for r in 0..<B {
            let discount = gamma * (1 - done[r])
            var explore: Float = 0
            if lambda < 1 {
                explore = Swift.min(t1[r * to], t2[r * to]) - entropyInTarget * alpha * headNext.logProbabilities[r]
            }
            let exploit: Float = useValue ? vOut[(Nr + r) * vo] : 0
            targets[r] = rew[r] + discount * (lambda * exploit + (1 - lambda) * explore)
        }

        // 5a. Critics on (s, a): forward only (the loss needs this step's w_c). With
        // `criticTwoOnWorker`, the rows are loaded and Q2's pass runs on the worker.
        if !criticTwoOnWorker {
            loadCriticRows(inputs)
            let c2 = criticTwo
            c2.pointee.workspace.forward(agent.q2, batch: B)
        }
        q1.forward(agent.q1, batch: B)

        // 6. Value on real rows against the target critics.
        gradValue.fill(0)
        if useValue {
            for r in 0..<Nr { valueTargets[r] = Swift.min(t1[(B + r) * to], t2[(B + r) * to]) }
            losses.value = Loss.expectile(
                predictions: vOut, predictionStride: vo, targets: valueTargets.baseAddress, count: Nr, tau: expectile,
                gradient: v.outputGradient, gradientStride: vo)
            v.backward(agent.value, batch: Nr, accumulatingInto: &gradValue, inputGradient: false)
        }

        // 3. Policy and temperature.
        gradPolicy.fill(0)
        gradLogStd.fill(0)
        gradLogAlpha.fill(0)
        if mode == .criticsOnly { return }
        if algorithm == .iqlReal {
            losses.actor = advantageWeightedActorGradients(agent, inputs)
            return
        }
        headPi.forward(
            networkOutput: piOut, stride: po, batch: B, logStdScale: m, logStdBias: c,
            noise: inputs.policyNoise.baseAddress)
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
        let p1 = q1Pi.output, p2 = q2Pi.output, qo = q1Pi.outputStride
        let g1 = q1Pi.outputGradient, g2 = q2Pi.outputGradient
        let invB = 1 / Float(B)
        var actor: Float = 0
        var logProbSum: Float = 0
        for r in 0..<B {
            let a = p1[r * qo], b = p2[r * qo]
            let logProb = headPi.logProbabilities[r]
            actor += alpha * logProb - Swift.min(a, b)
            logProbSum += logProb
            g1[r * qo] = a <= b ? -invB : 0
            g2[r * qo] = a <= b ? 0 : -invB
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
        var dm: Float = 0, dc: Float = 0
        headPi.backward(
            actionGradient: actionGradient.baseAddress, logProbabilityGradient: logProbGradient.baseAddress, batch: B,
            logStdScale: m, networkOutputGradient: pi.outputGradient, stride: po, logStdScaleGradient: &dm,
            logStdBiasGradient: &dc)
        gradLogStd[0] = dm
        gradLogStd[1] = dc
        pi.backward(agent.policy, batch: B, accumulatingInto: &gradPolicy, inputGradient: false)

        // L_α = −logα·mean(log π + H̄), gradient −mean(log π + H̄).
        let meanTerm = logProbSum * invB + targetEntropy
        losses.alpha = -agent.logAlpha[0] * meanTerm
        gradLogAlpha[0] = -meanTerm
    }

    // MARK: Baseline pieces

    /// H2O's penalty, Σ_j β·clip(log Σ_i ω_i exp(Q_j(s_i,a_i)) − mean_real Q_j, −1000, 1000)
    /// over the sim rows, with ω from the discriminators' importance estimate on K noisy
    /// next-state copies. Adds its gradient to the critics' output gradients (which hold the
    /// squared-error gradient); returns its value.
    mutating func cqlPenalty(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) -> Float {
        let stage = discriminators
        let c2 = criticTwo
        let Ns = simRows, Nr = realRows, K = copies
        guard Ns > 0 else { return 0 }
        // u_i = clip(mean_k −(D_sas[0] − D_sas[1])(s_i, a_i, s'_i + σ ε_ik), 1e-45, 10).
        let x = stage.pointee.discSAS.input, stride = stage.pointee.discSAS.inputStride
        let noise = inputs.nextStateNoise.baseAddress
        for i in 0..<Ns {
            let r = Nr + i
            for k in 0..<K {
                let row = x + (i * K + k) * stride
                row.update(from: inputs.rl.observations + r * S, count: S)
                (row + S).update(from: inputs.rl.actions + r * A, count: A)
                let e = noise + (i * K + k) * S
                for j in 0..<S { row[S + A + j] = inputs.rl.nextObservations[r * S + j] + cqlStateNoise * e[j] }
            }
        }
        stage.pointee.discSAS.forward(agent.discriminatorSAS, batch: Ns * K)
        let out = stage.pointee.discSAS.output, o = stage.pointee.discSAS.outputStride
        var total: Float = 0
        for i in 0..<Ns {
            var s: Float = 0
            for k in 0..<K {
                let row = out + (i * K + k) * o
                s += -2 * (row[0] - row[1])
            }
            scratch[i] = Swift.min(Swift.max(s / Float(K), Float.leastNonzeroMagnitude), 10)
            total += scratch[i]
        }
        for i in 0..<Ns { scratch[i] /= total }  // ω
        var penalty: Float = 0
        for ws in 0..<2 {
            let q = ws == 0 ? q1.output : c2.pointee.workspace.output
            let g = ws == 0 ? q1.outputGradient : c2.pointee.workspace.outputGradient
            let qo = q1.outputStride
            var maxQ = -Float.infinity
            for i in 0..<Ns { maxQ = Swift.max(maxQ, q[(Nr + i) * qo]) }
            var sum: Float = 0
            for i in 0..<Ns { sum += scratch[i] * Foundation.exp(q[(Nr + i) * qo] - maxQ) }
            var realMean: Float = 0
            for r in 0..<Nr { realMean += q[r * qo] }
            realMean /= Float(Nr)
            let raw = Foundation.log(sum) + maxQ - realMean
            penalty += cqlWeight * Swift.min(Swift.max(raw, -1000), 1000)
            guard raw > -1000 && raw < 1000 else { continue }
            for i in 0..<Ns {
                g[(Nr + i) * qo] += cqlWeight * scratch[i] * Foundation.exp(q[(Nr + i) * qo] - maxQ) / sum
            }
            for r in 0..<Nr { g[r * qo] -= cqlWeight / Float(Nr) }
        }
        return penalty
    }

    /// IQL's policy extraction: L = −mean_i min(exp(β·(min Q̄(s_i,a_i) − V(s_i))), w_max)·log π(a_i|s_i)
    /// over the batch's own actions (u = atanh(a), a clamped inside ±(1 − 1e-6)); leaves the
    /// gradient in `gradPolicy`/`gradLogStd`. The target critics (rows B..<2B) and V (rows
    /// 0..<B) must hold this step's forward passes.
    mutating func advantageWeightedActorGradients(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) -> Float {
        let B = rows
        let m = agent.logStd[0], c = agent.logStd[1]
        let piOut = pi.output, po = pi.outputStride
        let dOut = pi.outputGradient
        let t1 = q1T.output, t2 = q2T.output, to = q1T.outputStride
        let vOut = v.output, vo = v.outputStride
        let invB = 1 / Float(B)
        var loss: Float = 0, dm: Float = 0, dc: Float = 0
        for r in 0..<B {
            let advantage = Swift.min(t1[(B + r) * to], t2[(B + r) * to]) - vOut[r * vo]
            let weight = Swift.min(Foundation.exp(iqlTemperature * advantage), iqlMaxWeight)
            var logProb: Float = 0
            for j in 0..<A {
                let a = Swift.min(Swift.max(inputs.rl.actions[r * A + j], -1 + 1e-6), 1 - 1e-6)
                let u = Foundation.atanh(a)
                let mu = piOut[r * po + j]
                let s = m * piOut[r * po + A + j] + c
                let logStd = Swift.min(Swift.max(s, TanhGaussianHead.logStdMin), TanhGaussianHead.logStdMax)
                let sigma = Foundation.exp(logStd)
                let z = (u - mu) / sigma
                let correction = 2 * (0.693147180559945 - u - softplus(-2 * u))
                logProb += -0.5 * z * z - logStd - 0.918938533204673 - correction
                // d(−w·logπ)/dμ = −w·z/σ; d/dlogσ = −w·(z² − 1).
                let scale = -weight * invB
                dOut[r * po + j] = scale * z / sigma
                let dLogStd = scale * (z * z - 1)
                let pass: Float = (s >= TanhGaussianHead.logStdMin && s <= TanhGaussianHead.logStdMax) ? 1 : 0
                dOut[r * po + A + j] = dLogStd * pass * m
                dm += dLogStd * pass * piOut[r * po + A + j]
                dc += dLogStd * pass
            }
            loss += -weight * logProb
        }
        gradLogStd[0] = dm
        gradLogStd[1] = dc
        pi.backward(agent.policy, batch: B, accumulatingInto: &gradPolicy, inputGradient: false)
        return loss * invB
    }
}

@inline(__always)
func softplus(_ x: Float) -> Float { Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x))) }

