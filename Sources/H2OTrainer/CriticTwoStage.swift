import FixedNN

/// Q2's pass on the RL batch (s, a) — its workspace and parameter gradient — heap-homed so the
/// worker of a two-thread ``H2OStep`` can run Q2's forward pass beside the learner's forward
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

    /// The worker's part of phase one: steps 1–2 (``DiscriminatorStage/phaseOnLoadedRows(_:)``)
    /// and Q2's forward pass on the loaded (s, a) rows.
    static func phaseOneJob(_ raw: UnsafeMutableRawPointer) {
        let stage = raw.assumingMemoryBound(to: CriticTwoStage.self)
        let agent = stage.pointee.pendingAgent!
        let discriminators = stage.pointee.discriminators
        discriminators.pointee.results = discriminators.pointee.phaseOnLoadedRows(agent)
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
