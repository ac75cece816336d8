/// A policy ready for the control loop: normalises an observation, runs the network and writes
/// the deterministic action `tanh(μ)` in [−1, 1] (multiply by ``actionScale`` for the robot).
///
/// A class so a policy slot can hold replicas by reference and copy new parameters into the
/// ones the control thread is not using (``parameters``, ``makeReplica()``).
/// Thread safety: `act` on one thread at a time per instance (it uses the instance's scratch).
/// Allocation: `init`/`makeReplica` allocate; `act` never does.
public final class DeterministicPolicy: @unchecked Sendable {
    /// The network (its parameters are what a trainer publishes).
    public let network: MLP
    /// How the network's output becomes an action.
    public let head: PolicyHeadKind
    /// Observation length.
    public let observationSize: Int
    /// Action length (each in [−1, 1]).
    public let actionSize: Int
    /// Robot command = `actionScale · action`.
    public let actionScale: [Float]
    /// What `act` multiplies each `tanh(μ)` by: the policy's `actionScale` over the command
    /// unit the task expects (``init(_:actionUnit:source:)``), or 1 when built without one.
    public let commandGain: [Float]
    let mean: FloatBuffer
    let inverseStd: FloatBuffer
    let normalized: FloatBuffer
    let output: FloatBuffer
    let ping: FloatBuffer
    let pong: FloatBuffer

    let gain: FloatBuffer

    /// A runtime policy with the file's network (copied), normalisation and scale; `act`
    /// writes `tanh(μ)` unscaled (gain 1).
    public convenience init(_ file: borrowing PolicyFile) {
        self.init(file, gain: [Float](repeating: 1, count: file.actionSize))
    }

    /// A runtime policy whose actions are in the units of a task that maps action `u ∈ [−1, 1]`
    /// to the command `actionUnit · u`: `act` writes `(actionScale / actionUnit) · tanh(μ)`, so
    /// the robot receives `actionScale · tanh(μ)` as the file says. Throws when the file's scale
    /// exceeds the task's range (the command would leave it) or the sizes differ.
    public convenience init(
        _ file: borrowing PolicyFile, actionUnit: [Float], source: String
    ) throws(SafeTensorsError) {
        try self.init(file, gain: file.commandGain(actionUnit: actionUnit, source: source))
    }

    private init(_ file: borrowing PolicyFile, gain gains: [Float]) {
        precondition(gains.count == file.actionSize, "DeterministicPolicy: one gain per action")
        commandGain = gains
        gain = FloatBuffer(gains)
        network = file.network.clone()
        head = file.head
        observationSize = file.observationSize
        actionSize = file.actionSize
        actionScale = file.actionScale
        mean = FloatBuffer(file.observationMean)
        inverseStd = FloatBuffer(file.observationStd.map { 1 / $0 })
        normalized = FloatBuffer(count: observationSize)
        output = FloatBuffer(count: network.shape.outputSize)
        ping = FloatBuffer(count: network.shape.maxStride)
        pong = FloatBuffer(count: network.shape.maxStride)
    }

    private init(copying other: DeterministicPolicy) {
        commandGain = other.commandGain
        gain = FloatBuffer(other.commandGain)
        network = other.network.clone()
        head = other.head
        observationSize = other.observationSize
        actionSize = other.actionSize
        actionScale = other.actionScale
        mean = FloatBuffer(other.mean.array)
        inverseStd = FloatBuffer(other.inverseStd.array)
        normalized = FloatBuffer(count: observationSize)
        output = FloatBuffer(count: network.shape.outputSize)
        ping = FloatBuffer(count: network.shape.maxStride)
        pong = FloatBuffer(count: network.shape.maxStride)
    }

    /// A new instance with the same shape, parameters, normalisation and scale. Allocates.
    public func makeReplica() -> DeterministicPolicy { DeterministicPolicy(copying: self) }

    /// The network's parameters (layout in ``MLPShape``): copy a candidate's buffer of the same
    /// shape in here to switch weights.
    public var parameters: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: network.parameters.baseAddress, count: network.parameters.count)
    }

    /// Architecture code: the layer sizes followed by one code per activation
    /// (identity 0, relu 1, tanh 2) and the head (tanh_gaussian 0, tanh 1). Equal codes mean
    /// parameter buffers are interchangeable.
    public var shapeCode: [Int] {
        network.shape.layerSizes
            + network.shape.activations.map { [.identity: 0, .relu: 1, .tanh: 2][$0]! }
            + [head == .tanhGaussian ? 0 : 1]
    }
}
