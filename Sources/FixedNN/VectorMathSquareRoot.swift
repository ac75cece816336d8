internal import CFixedNN

extension VectorMath {
    /// `√x` for 16 lanes, one packed square root per register (clang's
    /// `__builtin_elementwise_sqrt` via the CFixedNN shim; `SIMD16.squareRoot()` is scalarised,
    /// performance-notes.md trap 2).
    public static func squareRoot(_ x: SIMD16<Float>) -> SIMD16<Float> { cfixednn_sqrt16(x) }
}
