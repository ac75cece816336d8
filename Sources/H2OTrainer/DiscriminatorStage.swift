import FixedNN
import Foundation

/// Steps 1–2 of H2O+ (shared/spec/h2oplus.md): the discriminators' losses and gradients on the
/// noisy discriminator batch, their Adam steps, and the sim weights w_c with the updated D_sas.
///
/// Owns every buffer this phase writes (workspaces, gradients, logits, w_c) in one heap-homed
/// value that ``H2OStep`` points to, so a ``StepWorker`` can run the phase while the calling
/// thread runs the learner's forward passes: the two share no written memory (the phase writes
/// the agent's D_sa and D_sas parameters and their Adam state and nothing else of the agent).
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

    /// The phase's results (L_sa, L_sas, mean w_c) when a worker ran it
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

    /// Steps 1–2 on `agent`: gradients, one Adam step on D_sa and on D_sas, then w_c with the
    /// updated D_sas. Returns (L_sa, L_sas, mean w_c). Touches only the discriminators and
    /// their optimisers in `agent`. Real-time safe: does not allocate, lock or throw.
    mutating func phase(_ agent: UnsafeMutablePointer<H2OAgent>, _ inputs: borrowing StepInputs) -> (Float, Float, Float) {
        loadDiscriminatorRows(inputs)
        loadSimRows(inputs)
        return phaseOnLoadedRows(agent)
    }

    /// `phase` on the rows `loadDiscriminatorRows` and `loadSimRows` wrote (the worker's part:
    /// it reads nothing of the step's inputs).
    mutating func phaseOnLoadedRows(_ agent: UnsafeMutablePointer<H2OAgent>) -> (Float, Float, Float) {
        let (lSA, lSAS) = gradientsOnLoadedRows(agent.pointee)
        agent.pointee.discriminatorSAOptimizer.step(&agent.pointee.discriminatorSA.parameters, gradient: gradSA)
        agent.pointee.discriminatorSASOptimizer.step(&agent.pointee.discriminatorSAS.parameters, gradient: gradSAS)
        return (lSA, lSAS, simWeightsOnLoadedRows(agent.pointee))
    }

    /// L_sa and L_sas on the noisy discriminator batch; leaves ∇_{D_sa}(L_sa + L_sas) in
    /// `gradSA` and ∇_{D_sas} L_sas in `gradSAS`. Parameters unchanged.
    mutating func gradients(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) -> (Float, Float) {
        loadDiscriminatorRows(inputs)
        return gradientsOnLoadedRows(agent)
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

    /// `gradients` on the rows `loadDiscriminatorRows` wrote.
    mutating func gradientsOnLoadedRows(_ agent: borrowing H2OAgent) -> (Float, Float) {
        let n = discRows
        discSA.forward(agent.discriminatorSA, batch: 2 * n)
        discSAS.forward(agent.discriminatorSAS, batch: 2 * n)
        let outSA = discSA.output, outSAS = discSAS.output
        let oSA = discSA.outputStride, oSAS = discSAS.outputStride
        for r in 0..<(2 * n) {
            for k in 0..<2 {
                let zsa = 2 * outSA[r * oSA + k]
                logitsSA[2 * r + k] = zsa
                logitsSAS[2 * r + k] = 2 * outSAS[r * oSAS + k] + zsa
            }
        }
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

    /// w_c for the sim rows of the RL batch with the agent's (updated) D_sas, no noise.
    /// Returns their mean.
    mutating func computeSimWeights(_ agent: borrowing H2OAgent, _ inputs: borrowing StepInputs) -> Float {
        loadSimRows(inputs)
        return simWeightsOnLoadedRows(agent)
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

    /// `computeSimWeights` on the rows `loadSimRows` wrote.
    mutating func simWeightsOnLoadedRows(_ agent: borrowing H2OAgent) -> Float {
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
