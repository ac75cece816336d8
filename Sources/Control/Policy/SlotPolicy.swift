/// A policy network the policy slot can hold: a fixed shape and all its parameters in one
/// flat buffer that a candidate's parameters can be copied into.
///
/// Thread contract: `act` is called only by the control thread, on the slot's current front
/// instance, and is real-time safe; the slot copies parameters into the instances the control
/// thread is not using.
public protocol SlotPolicy: AnyObject {
    /// Observation length (input).
    var observationSize: Int { get }
    /// Action length (output), each component in [-1, 1].
    var actionSize: Int { get }
    /// A description of the architecture (e.g. layer sizes and activation codes); a candidate
    /// is accepted only if its shape equals the slot's.
    var shape: [Int] { get }
    /// Every parameter, in one contiguous buffer owned by the instance.
    var parameters: UnsafeMutableBufferPointer<Float> { get }
    /// A new instance with the same shape (set-up; may allocate).
    func makeReplica() -> Self
    /// Computes the action for one observation.
    /// Real-time safe: does not allocate, lock or throw.
    func act(observation: UnsafePointer<Float>, action: UnsafeMutablePointer<Float>)
}

/// Why a candidate policy was not published.
public enum PolicyRejection: Error, CustomStringConvertible, Equatable {
    /// The candidate's architecture differs from the slot's.
    case shapeMismatch(expected: [Int], got: [Int])
    /// A parameter is NaN or infinite (index of the first one).
    case nonFinite(index: Int)

    public var description: String {
        switch self {
        case .shapeMismatch(let e, let g):
            "policy rejected: shape \(g) does not match the running policy's \(e); train with the same sizes"
        case .nonFinite(let i): "policy rejected: parameter \(i) is not finite (training diverged?)"
        }
    }
}

/// FNV-1a (64-bit) over the parameters' bit patterns: identifies a weight set exactly.
/// Real-time safe: does not allocate, lock or throw.
public func parameterChecksum(_ p: UnsafeBufferPointer<Float>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for v in p {
        h = (h ^ UInt64(v.bitPattern)) &* 0x0000_0100_0000_01B3
    }
    return h
}
