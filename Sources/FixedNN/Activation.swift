/// Element-wise activation applied after a layer's affine map.
///
/// Raw values are the names used in `.safetensors` metadata (`"relu"`, `"tanh"`, `"identity"`).
public enum Activation: String, Sendable, Hashable, CaseIterable, Codable {
    /// `y = x`.
    case identity
    /// `y = max(x, 0)`; the derivative at 0 is taken as 0 (as PyTorch does).
    case relu
    /// `y = tanh(x)`.
    case tanh

    /// Scalar value (reference path; kernels use the SIMD forms).
    @inlinable
    public func apply(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu: return x > 0 ? x : 0
        case .tanh: return VectorMath.tanh(SIMD16<Float>(repeating: x))[0]
        }
    }
}
