#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The most joints a mechanism may have (robot files allow 1–8).
public let maxChainJoints = 8

/// Fixed-size per-joint values (positions, speeds, torques): no heap, copied by value.
public typealias JointVector = InlineArray<8, Double>

/// One joint of a planar serial chain and the link it carries.
///
/// Geometry: every link has an axis; link `i`'s axis points at angle φᵢ from the world x axis
/// (gravity points along −y). A **revolute** joint turns its link: φᵢ = φᵢ₋₁ + `offset` + qᵢ
/// (rad) about the end of the previous link. A **prismatic** joint slides its link along the
/// direction φᵢ₋₁ + `offset` by qᵢ (m), and the link keeps that direction: φᵢ = φᵢ₋₁ + `offset`.
/// φ₋₁ = 0 and the chain's base is the world origin. The link extends `length` along its axis
/// to the next joint; its centre of mass sits `com` along the axis, with mass `mass` and
/// moment of inertia `inertia` about the centre of mass.
///
/// Examples: a pendulum upright at q = 0 is one revolute joint with offset π/2; Gymnasium's
/// Acrobot (hanging at q = 0) has offsets −π/2 and 0; a cart-pole is a prismatic joint with
/// offset 0 carrying a massless zero-length cart link of mass m_cart, then a revolute pole
/// with offset π/2 (upright at 0).
public struct ChainJoint: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case revolute, prismatic
    }
    public var kind: Kind
    /// Angle offset, rad (see the type's description).
    public var offset: Double
    /// Distance to the next joint along the link's axis, m.
    public var length: Double
    /// Centre of mass along the link's axis, m.
    public var com: Double
    /// Link mass, kg.
    public var mass: Double
    /// Moment of inertia about the centre of mass, kg·m².
    public var inertia: Double
    /// Viscous friction, N·m·s/rad (revolute) or N·s/m (prismatic).
    public var viscous: Double
    /// Coulomb friction, N·m or N.
    public var coulomb: Double

    public init(
        kind: Kind, offset: Double = 0, length: Double, com: Double, mass: Double, inertia: Double,
        viscous: Double = 0, coulomb: Double = 0
    ) {
        self.kind = kind
        self.offset = offset
        self.length = length
        self.com = com
        self.mass = mass
        self.inertia = inertia
        self.viscous = viscous
        self.coulomb = coulomb
    }
}

/// How `PlanarChain.step` integrates one interval.
public enum ChainIntegrator: String, Sendable, Hashable, CaseIterable {
    /// Classical fourth-order Runge–Kutta over the whole interval, forces held (Gymnasium's
    /// Acrobot: `rk4(_dsdt, s, [0, dt])`).
    case rk4
    /// Velocity first, then position with the new velocity (Gymnasium's Pendulum-v1).
    case semiImplicitEuler = "semi_implicit_euler"
}

/// The rigid-body dynamics of a planar serial chain of 1–8 links on revolute and prismatic
/// joints: the manipulator equation M(q)·q̈ + h(q, q̇) = τ − friction, with M and h built
/// from each link's Jacobian (Kane's method: M = Σ mᵢJᵢᵀJᵢ + IᵢJωᵢᵀJωᵢ, h = Σ mᵢJᵢᵀ(aᵢᵇ + g·ŷ),
/// aᵢᵇ the centre-of-mass acceleration at q̈ = 0), solved by Cholesky. Viscous friction is a
/// force in the equation; Coulomb friction is a velocity-level stick–slip step after each
/// interval (a joint whose speed would cross zero stops; see `step`).
///
/// Value type of parameters. Real-time safe after `init`: `accelerations` and `step` do not
/// allocate, lock or throw.
public struct PlanarChain: Sendable, Hashable {
    public let joints: [ChainJoint]
    /// Gravitational acceleration along −y, m/s².
    public let gravity: Double
    public var count: Int { joints.count }
    /// The one-joint chain's constants (nil for two or more joints): its dynamics in closed
    /// form, M = m·com² + I (revolute) or m (prismatic) and h = m·g·com·cos φ or m·g·sin φ,
    /// the same equation as the general path (which agrees to rounding) at a fraction of
    /// the cost: the pendulum through the files is the trainer's hot loop.
    let single: SingleJoint?
    /// Some joint has Coulomb friction (the stick–slip step runs).
    let hasCoulomb: Bool

    struct SingleJoint: Sendable, Hashable {
        var revolute: Bool
        var offset: Double
        var inverseInertia: Double
        /// m·g·com (revolute: times cos φ) or m·g·sin(offset) (prismatic).
        var gravityTerm: Double
        var viscous: Double
        var coulomb: Double

        /// q̈ of the one joint.
        @inline(__always)
        func acceleration(q: Double, qd: Double, tau: Double) -> Double {
            let h = revolute ? gravityTerm * cos(offset + q) : gravityTerm
            return (tau - viscous * qd - h) * inverseInertia
        }
    }

    /// Throws a one-line reason when the chain is not physical (no joints, more than 8,
    /// a negative or non-finite mass, inertia, length or friction, or a chain with no mass at all).
    public init(joints: [ChainJoint], gravity: Double) throws(MechanismError) {
        guard (1...maxChainJoints).contains(joints.count) else {
            throw MechanismError("a chain needs 1 to \(maxChainJoints) joints, has \(joints.count)")
        }
        guard gravity.isFinite, gravity >= 0 else { throw MechanismError("gravity \(gravity) must be finite and ≥ 0") }
        for (i, j) in joints.enumerated() {
            for (name, v) in [
                ("length", j.length), ("com", j.com), ("mass", j.mass), ("inertia", j.inertia),
                ("viscous", j.viscous), ("coulomb", j.coulomb),
            ] where !(v.isFinite && v >= 0) {
                throw MechanismError("joint \(i): \(name) \(v) must be finite and ≥ 0")
            }
            guard j.offset.isFinite else { throw MechanismError("joint \(i): offset \(j.offset) must be finite") }
        }
        // Every joint must move some inertia, or M is singular.
        for i in joints.indices {
            let moved = joints[i...].contains { j in
                j.mass > 0 || (joints[i].kind == .revolute && j.inertia > 0)
            }
            guard moved else {
                throw MechanismError("joint \(i) moves no mass or inertia (the mass matrix would be singular)")
            }
        }
        self.joints = joints
        self.gravity = gravity
        hasCoulomb = joints.contains { $0.coulomb > 0 }
        if joints.count == 1, let j = joints.first {
            let revolute = j.kind == .revolute
            single = SingleJoint(
                revolute: revolute, offset: j.offset,
                inverseInertia: 1 / (revolute ? j.mass * j.com * j.com + j.inertia : j.mass),
                gravityTerm: revolute ? j.mass * gravity * j.com : j.mass * gravity * sin(j.offset), viscous: j.viscous,
                coulomb: j.coulomb)
        } else {
            single = nil
        }
    }

    /// Joint accelerations q̈ for positions `q`, speeds `qd` and joint torques/forces `tau`
    /// (already through the actuators), with viscous friction; Coulomb friction is not included.
    /// Real-time safe: does not allocate, lock or throw.
    public func accelerations(q: JointVector, qd: JointVector, tau: JointVector) -> JointVector {
        if let s = single {
            var out = JointVector(repeating: 0)
            out[0] = s.acceleration(q: q[0], qd: qd[0], tau: tau[0])
            return out
        }
        return generalAccelerations(q: q, qd: qd, tau: tau)
    }

    /// `accelerations` for any chain (Kane's method, Cholesky): what the one-joint closed
    /// form is checked against.
    func generalAccelerations(q: JointVector, qd: JointVector, tau: JointVector) -> JointVector {
        let n = joints.count
        // Forward kinematics and velocities, with the bias (q̈ = 0) accelerations.
        var phi = JointVector(repeating: 0)  // link axis angle
        var omega = JointVector(repeating: 0)  // link angular speed
        var ox = JointVector(repeating: 0), oy = JointVector(repeating: 0)  // joint origin
        var cx = JointVector(repeating: 0), cy = JointVector(repeating: 0)  // centre of mass
        var acx = JointVector(repeating: 0), acy = JointVector(repeating: 0)  // COM bias accel.
        var ux = JointVector(repeating: 0), uy = JointVector(repeating: 0)  // prismatic direction
        var parentPhi = 0.0, parentOmega = 0.0
        var ex = 0.0, ey = 0.0  // end of the previous link
        var vex = 0.0, vey = 0.0, aex = 0.0, aey = 0.0  // its velocity and bias acceleration
        for i in 0..<n {
            let j = joints[i]
            var vox = vex, voy = vey, aox = aex, aoy = aey
            var px = ex, py = ey
            switch j.kind {
            case .revolute:
                phi[i] = parentPhi + j.offset + q[i]
                omega[i] = parentOmega + qd[i]
            case .prismatic:
                let d = parentPhi + j.offset
                let dx = cos(d), dy = sin(d)
                ux[i] = dx
                uy[i] = dy
                px += q[i] * dx
                py += q[i] * dy
                // ż×u = (−u.y, u.x); velocity q̇u + q ω ẑ×u, bias accel 2q̇ωẑ×u − qω²u.
                vox += qd[i] * dx + q[i] * parentOmega * -dy
                voy += qd[i] * dy + q[i] * parentOmega * dx
                let w2 = parentOmega * parentOmega
                aox += 2 * qd[i] * parentOmega * -dy - q[i] * w2 * dx
                aoy += 2 * qd[i] * parentOmega * dx - q[i] * w2 * dy
                phi[i] = d
                omega[i] = parentOmega
            }
            ox[i] = px
            oy[i] = py
            let ax = cos(phi[i]), ay = sin(phi[i])
            let w = omega[i], w2 = w * w
            cx[i] = px + j.com * ax
            cy[i] = py + j.com * ay
            acx[i] = aox - j.com * w2 * ax
            acy[i] = aoy - j.com * w2 * ay
            ex = px + j.length * ax
            ey = py + j.length * ay
            vex = vox + j.length * w * -ay
            vey = voy + j.length * w * ax
            aex = aox - j.length * w2 * ax
            aey = aoy - j.length * w2 * ay
            parentPhi = phi[i]
            parentOmega = w
        }
        // Mass matrix (lower triangle) and bias forces.
        var m = InlineArray<64, Double>(repeating: 0)
        var rhs = JointVector(repeating: 0)
        for i in 0..<n { rhs[i] = tau[i] - joints[i].viscous * qd[i] }
        for link in 0..<n {
            let body = joints[link]
            // Jacobian columns of this link's COM: (jx[c], jy[c]); angular part jw[c].
            var jx = JointVector(repeating: 0), jy = JointVector(repeating: 0), jw = JointVector(repeating: 0)
            for c in 0...link {
                switch joints[c].kind {
                case .revolute:
                    // ẑ × (c − o): joint c turns everything after it about its origin.
                    jx[c] = -(cy[link] - oy[c])
                    jy[c] = cx[link] - ox[c]
                    jw[c] = 1
                case .prismatic:
                    jx[c] = ux[c]
                    jy[c] = uy[c]
                }
            }
            let fx = body.mass * acx[link], fy = body.mass * (acy[link] + gravity)
            for r in 0...link {
                rhs[r] -= jx[r] * fx + jy[r] * fy
                for c in 0...r {
                    m[r * 8 + c] += body.mass * (jx[r] * jx[c] + jy[r] * jy[c]) + body.inertia * jw[r] * jw[c]
                }
            }
        }
        return Self.solveCholesky(&m, rhs, n: n)
    }

    /// Solves M·x = b for symmetric positive-definite M (lower triangle in `m`, row stride 8).
    @inline(__always)
    static func solveCholesky(_ m: inout InlineArray<64, Double>, _ b: JointVector, n: Int) -> JointVector {
        for j in 0..<n {
            var d = m[j * 8 + j]
            for k in 0..<j { d -= m[j * 8 + k] * m[j * 8 + k] }
            let l = d > 0 ? d.squareRoot() : .leastNormalMagnitude
            m[j * 8 + j] = l
            for i in (j + 1)..<n {
                var s = m[i * 8 + j]
                for k in 0..<j { s -= m[i * 8 + k] * m[j * 8 + k] }
                m[i * 8 + j] = s / l
            }
        }
        var y = JointVector(repeating: 0)
        for i in 0..<n {
            var s = b[i]
            for k in 0..<i { s -= m[i * 8 + k] * y[k] }
            y[i] = s / m[i * 8 + i]
        }
        var x = JointVector(repeating: 0)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<n { s -= m[k * 8 + i] * x[k] }
            x[i] = s / m[i * 8 + i]
        }
        return x
    }

    /// The diagonal of M(q)⁻¹: each joint's effective inverse inertia, for the Coulomb step.
    /// Real-time safe: does not allocate, lock or throw.
    public func inverseInertiaDiagonal(q: JointVector) -> JointVector {
        if let s = single {
            var out = JointVector(repeating: 0)
            out[0] = s.inverseInertia
            return out
        }
        let zero = JointVector(repeating: 0)
        var out = JointVector(repeating: 0)
        // Column k of M⁻¹ is M⁻¹eₖ: accelerations under a unit torque, minus the unforced ones.
        let base = accelerations(q: q, qd: zero, tau: zero)
        for k in 0..<joints.count {
            var e = zero
            e[k] = 1
            out[k] = accelerations(q: q, qd: zero, tau: e)[k] - base[k]
        }
        return out
    }

    /// Advances (q, q̇) by `dt` seconds under joint torques/forces `tau` held constant.
    /// After the interval, Coulomb friction acts as a stick–slip step: each joint's speed moves
    /// toward zero by c·(M⁻¹)ⱼⱼ·dt and stops there rather than reversing (as the pendulum
    /// simulator does; neutral when every `coulomb` is 0).
    /// Real-time safe: does not allocate, lock or throw.
    public func step(q: inout JointVector, qd: inout JointVector, tau: JointVector, dt: Double, integrator: ChainIntegrator) {
        if let s = single {
            // The general loop's RK4/Euler on scalars with the closed-form accelerations (to
            // rounding: ~1e-16 per stage), without the joint vectors.
            var x = q[0], v = qd[0]
            let u = tau[0]
            switch integrator {
            case .semiImplicitEuler:
                let a = s.acceleration(q: x, qd: v, tau: u)
                v = v + a * dt
                x = x + v * dt
            case .rk4 where s.revolute:
                // The stages' cos(φ + δ) from cos φ, sin φ and short series in the small
                // stage offsets δ (|δ| ≤ 1/16: series error below 1e-19), libm otherwise.
                let phi = s.offset + x
                let c = cos(phi), sn = sin(phi)
                @inline(__always) func cosine(_ d: Double) -> Double {
                    guard abs(d) <= 0.0625 else { return cos(phi + d) }
                    let d2 = d * d
                    let cd = 1 - d2 / 2 * (1 - d2 / 12 * (1 - d2 / 30 * (1 - d2 / 56 * (1 - d2 / 90))))
                    let sd = d * (1 - d2 / 6 * (1 - d2 / 20 * (1 - d2 / 42 * (1 - d2 / 72))))
                    return c * cd - sn * sd
                }
                @inline(__always) func acceleration(_ cosine: Double, _ qd: Double) -> Double {
                    (u - s.viscous * qd - s.gravityTerm * cosine) * s.inverseInertia
                }
                let a1 = acceleration(c, v)
                let v2 = v + dt / 2 * a1
                let a2 = acceleration(cosine(dt / 2 * v), v2)
                let v3 = v + dt / 2 * a2
                let a3 = acceleration(cosine(dt / 2 * v2), v3)
                let v4 = v + dt * a3
                let a4 = acceleration(cosine(dt * v3), v4)
                x = x + dt / 6 * (v + 2 * v2 + 2 * v3 + v4)
                v = v + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4)
            case .rk4:
                let a1 = s.acceleration(q: x, qd: v, tau: u)
                let q2 = x + dt / 2 * v, v2 = v + dt / 2 * a1
                let a2 = s.acceleration(q: q2, qd: v2, tau: u)
                let q3 = x + dt / 2 * v2, v3 = v + dt / 2 * a2
                let a3 = s.acceleration(q: q3, qd: v3, tau: u)
                let q4 = x + dt * v3, v4 = v + dt * a3
                let a4 = s.acceleration(q: q4, qd: v4, tau: u)
                x = x + dt / 6 * (v + 2 * v2 + 2 * v3 + v4)
                v = v + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4)
            }
            if s.coulomb > 0 {
                let slip = s.coulomb * s.inverseInertia * dt
                v = abs(v) <= slip ? 0 : v - (v > 0 ? slip : -slip)
            }
            q[0] = x
            qd[0] = v
            return
        }
        let n = joints.count
        switch integrator {
        case .semiImplicitEuler:
            let a = accelerations(q: q, qd: qd, tau: tau)
            for i in 0..<n {
                qd[i] = qd[i] + a[i] * dt
                q[i] = q[i] + qd[i] * dt
            }
        case .rk4:
            let a1 = accelerations(q: q, qd: qd, tau: tau)
            var q2 = q, v2 = qd
            for i in 0..<n {
                q2[i] = q[i] + dt / 2 * qd[i]
                v2[i] = qd[i] + dt / 2 * a1[i]
            }
            let a2 = accelerations(q: q2, qd: v2, tau: tau)
            var q3 = q, v3 = qd
            for i in 0..<n {
                q3[i] = q[i] + dt / 2 * v2[i]
                v3[i] = qd[i] + dt / 2 * a2[i]
            }
            let a3 = accelerations(q: q3, qd: v3, tau: tau)
            var q4 = q, v4 = qd
            for i in 0..<n {
                q4[i] = q[i] + dt * v3[i]
                v4[i] = qd[i] + dt * a3[i]
            }
            let a4 = accelerations(q: q4, qd: v4, tau: tau)
            for i in 0..<n {
                q[i] = q[i] + dt / 6 * (qd[i] + 2 * v2[i] + 2 * v3[i] + v4[i])
                qd[i] = qd[i] + dt / 6 * (a1[i] + 2 * a2[i] + 2 * a3[i] + a4[i])
            }
        }
        if hasCoulomb {
            let inv = inverseInertiaDiagonal(q: q)
            for i in 0..<n where joints[i].coulomb > 0 {
                let slip = joints[i].coulomb * inv[i] * dt
                qd[i] = abs(qd[i]) <= slip ? 0 : qd[i] - (qd[i] > 0 ? slip : -slip)
            }
        }
    }

    /// Total mechanical energy (kinetic + potential, potential 0 at y = 0), J: a check on the
    /// dynamics (conserved without friction and torque).
    public func energy(q: JointVector, qd: JointVector) -> Double {
        let n = joints.count
        var phi = 0.0, omega = 0.0, ex = 0.0, ey = 0.0, vex = 0.0, vey = 0.0
        var e = 0.0
        for i in 0..<n {
            let j = joints[i]
            var px = ex, py = ey, vx = vex, vy = vey
            switch j.kind {
            case .revolute:
                phi += j.offset + q[i]
                omega += qd[i]
            case .prismatic:
                let d = phi + j.offset
                px += q[i] * cos(d)
                py += q[i] * sin(d)
                vx += qd[i] * cos(d) - q[i] * omega * sin(d)
                vy += qd[i] * sin(d) + q[i] * omega * cos(d)
                phi = d
            }
            let ax = cos(phi), ay = sin(phi)
            let cvx = vx - j.com * omega * ay, cvy = vy + j.com * omega * ax
            e += 0.5 * j.mass * (cvx * cvx + cvy * cvy) + 0.5 * j.inertia * omega * omega
            e += j.mass * gravity * (py + j.com * ay)
            ex = px + j.length * ax
            ey = py + j.length * ay
            vex = vx - j.length * omega * ay
            vey = vy + j.length * omega * ax
        }
        return e
    }
}

/// A mechanism that is not physical, in one line.
public struct MechanismError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
