#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The inverse dynamics of a planar chain written linear in its inertial parameters:
/// τ = Y(q, q̇, q̈)·π, with three base parameters per link,
/// πᵢ = (mᵢ, hᵢ = mᵢ·cᵢ, Jᵢ = Iᵢ + mᵢ·cᵢ²) (mass, first moment and inertia about the joint end
/// of the link), given the chain's known geometry (joint kinds, offsets, link lengths).
///
/// Derivation (Kane's projection, as `PlanarChain` builds M and h): link i has origin oᵢ, axis
/// aᵢ = (cos φᵢ, sin φᵢ), normal nᵢ = ẑ×aᵢ, angular speed ωᵢ and acceleration αᵢ. Its centre of
/// mass is oᵢ + cᵢaᵢ, accelerating at öᵢ + cᵢ(αᵢnᵢ − ωᵢ²aᵢ); its Jacobian column for joint r
/// is J_{o,r} + cᵢ·jw_r·nᵢ (jw_r = ∂φᵢ/∂q_r, 1 for a revolute r ≤ i, else 0). Projecting
/// mᵢ(COM acceleration + g·ŷ) on the COM Jacobian and Iᵢαᵢ on jw gives, for joint r:
///
///   Q_r = mᵢ·J_{o,r}·(öᵢ + gŷ) + hᵢ·[J_{o,r}·(αᵢnᵢ − ωᵢ²aᵢ) + jw_r·nᵢ·(öᵢ + gŷ)] + Jᵢ·jw_r·αᵢ
///
/// (using n·n = 1, n·a = 0), linear in (mᵢ, hᵢ, Jᵢ). J_{o,r} is the origin's Jacobian:
/// ẑ×(oᵢ − o_r) for a revolute r, the slide direction u_r for a prismatic r.
///
/// Value type of geometry. Real-time safe: `row` does not allocate, lock or throw.
public struct ChainRegressor: Sendable, Hashable {
    public let kinds: [ChainJoint.Kind]
    public let offsets: [Double]
    public let lengths: [Double]
    public let gravity: Double
    public var count: Int { kinds.count }
    /// Inertial columns: three per link, link-major (m, h, J).
    public var inertialColumns: Int { 3 * kinds.count }

    public init(chain: PlanarChain) {
        kinds = chain.joints.map(\.kind)
        offsets = chain.joints.map(\.offset)
        lengths = chain.joints.map(\.length)
        gravity = chain.gravity
    }

    /// The base parameters (m, h, J) of every link of `chain`, link-major.
    public static func parameters(of chain: PlanarChain) -> [Double] {
        chain.joints.flatMap { [$0.mass, $0.mass * $0.com, $0.inertia + $0.mass * $0.com * $0.com] }
    }

    /// Writes Y(q, q̇, q̈) (row-major, `count` rows of `inertialColumns`) into `y`.
    /// Real-time safe: does not allocate, lock or throw.
    public func regressor(q: JointVector, qd: JointVector, qdd: JointVector, into y: UnsafeMutableBufferPointer<Double>) {
        let n = kinds.count, p = 3 * n
        for k in 0..<(n * p) { y[k] = 0 }
        var ox = JointVector(repeating: 0), oy = JointVector(repeating: 0)
        var ux = JointVector(repeating: 0), uy = JointVector(repeating: 0)
        var parentPhi = 0.0, parentOmega = 0.0, parentAlpha = 0.0
        var ex = 0.0, ey = 0.0, aex = 0.0, aey = 0.0
        for i in 0..<n {
            var px = ex, py = ey, aox = aex, aoy = aey
            let phi: Double, w: Double, alpha: Double
            switch kinds[i] {
            case .revolute:
                phi = parentPhi + offsets[i] + q[i]
                w = parentOmega + qd[i]
                alpha = parentAlpha + qdd[i]
            case .prismatic:
                let d = parentPhi + offsets[i]
                let dx = cos(d), dy = sin(d)
                ux[i] = dx
                uy[i] = dy
                px += q[i] * dx
                py += q[i] * dy
                let w2 = parentOmega * parentOmega
                // ö = ë + q̈u + 2q̇ω n_u + qα n_u − qω²u, n_u = (−u.y, u.x).
                aox += qdd[i] * dx + (2 * qd[i] * parentOmega + q[i] * parentAlpha) * -dy - q[i] * w2 * dx
                aoy += qdd[i] * dy + (2 * qd[i] * parentOmega + q[i] * parentAlpha) * dx - q[i] * w2 * dy
                phi = d
                w = parentOmega
                alpha = parentAlpha
            }
            ox[i] = px
            oy[i] = py
            let ax = cos(phi), ay = sin(phi), nx = -ay, ny = ax
            // Origin acceleration plus gravity, and the rotational part of the COM acceleration per unit c.
            let gx = aox, gy = aoy + gravity
            let rx = alpha * nx - w * w * ax, ry = alpha * ny - w * w * ay
            for r in 0...i {
                let jx: Double, jy: Double, jw: Double
                switch kinds[r] {
                case .revolute:
                    jx = -(py - oy[r])
                    jy = px - ox[r]
                    jw = 1
                case .prismatic:
                    jx = ux[r]
                    jy = uy[r]
                    jw = 0
                }
                let row = r * p + 3 * i
                y[row] += jx * gx + jy * gy
                y[row + 1] += jx * rx + jy * ry + jw * (nx * gx + ny * gy)
                y[row + 2] += jw * alpha
            }
            let l = lengths[i]
            ex = px + l * ax
            ey = py + l * ay
            aex = aox + l * rx
            aey = aoy + l * ry
            parentPhi = phi
            parentOmega = w
            parentAlpha = alpha
        }
    }
}
