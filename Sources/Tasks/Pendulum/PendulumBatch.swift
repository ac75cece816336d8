/// Many pendulums stepped together: struct-of-arrays state and 8-lane SIMD (the trainer's
/// vectorised path). Same model, parameters and reward as `PendulumTask.stepSim` (Gymnasium's
/// Pendulum-v1 physics plus gain, friction and latency), except that sine and cosine are
/// `SIMDMath`'s (within 4e-16 of libm, so lanes agree with the scalar simulator to ~1e-9 over
/// an episode rather than bit for bit). Action noise is not modelled here: `init` throws when
/// it is set.
///
/// Owns its buffers (`~Copyable`, freed on deinit). Thread contract: one owner thread.
/// `step` and `writeObservations` are real-time safe: they do not allocate, lock or throw.
public struct PendulumBatch: ~Copyable {
    /// Number of pendulums (lanes); a multiple of 8.
    public let count: Int
    public let parameters: PendulumParameters
    /// Angle θ (rad, 0 upright), speed θ̇ (rad/s), and the sine/cosine of θ, one per lane.
    public let theta: UnsafeMutablePointer<Double>
    public let thetaDot: UnsafeMutablePointer<Double>
    public let sinTheta: UnsafeMutablePointer<Double>
    public let cosTheta: UnsafeMutablePointer<Double>
    /// The latency line: (latencyTicks + 1) rows of `count` commanded torques.
    let latencyLine: UnsafeMutablePointer<Double>
    var latencyHead = 0

    /// `count` pendulums (rounded up to a multiple of 8), all at θ = π, θ̇ = 0.
    public init(count: Int, parameters: PendulumParameters) throws(SimError) {
        guard count > 0 else { throw SimError("pendulum batch: count \(count) must be positive") }
        guard parameters.actionNoise == 0 else {
            throw SimError(
                "pendulum batch: action_noise is not modelled by the vectorised simulator; use SimEnvironment for noisy sims or set action_noise=0"
            )
        }
        let lanes = (count + 7) / 8 * 8
        self.count = lanes
        self.parameters = parameters
        func buffer(_ n: Int) -> UnsafeMutablePointer<Double> {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: n * 8, alignment: 64)
            return raw.initializeMemory(as: Double.self, repeating: 0, count: n)
        }
        theta = buffer(lanes)
        thetaDot = buffer(lanes)
        sinTheta = buffer(lanes)
        cosTheta = buffer(lanes)
        latencyLine = buffer(lanes * (parameters.latencyTicks + 1))
        for i in 0..<lanes { theta[i] = Double.pi }
        refreshTrigonometry()
    }

    deinit {
        theta.deallocate()
        thetaDot.deallocate()
        sinTheta.deallocate()
        cosTheta.deallocate()
        latencyLine.deallocate()
    }

    /// Draws every lane from the task's reset distribution (θ ~ U[−π, π], θ̇ ~ U[−1, 1]) and
    /// clears the latency line.
    public mutating func reset(random: inout SimRandom) {
        for i in 0..<count {
            theta[i] = random.uniform(-Double.pi, Double.pi)
            thetaDot[i] = random.uniform(-1, 1)
        }
        latencyLine.update(repeating: 0, count: count * (parameters.latencyTicks + 1))
        latencyHead = 0
        refreshTrigonometry()
    }

    /// Sets lane `i`'s state (for tests and recorded starts).
    public mutating func setLane(_ i: Int, theta t: Double, thetaDot w: Double) {
        theta[i] = t
        thetaDot[i] = w
        let (s, c) = SIMDMath.sinCos(SIMD8(repeating: t))
        sinTheta[i] = s[0]
        cosTheta[i] = c[0]
    }

    private func refreshTrigonometry() {
        for base in stride(from: 0, to: count, by: 8) {
            let (s, c) = SIMDMath.sinCos(load(theta, base))
            store(s, sinTheta, base)
            store(c, cosTheta, base)
        }
    }

    @inline(__always) func load(_ p: UnsafeMutablePointer<Double>, _ i: Int) -> SIMD8<Double> {
        UnsafeRawPointer(p + i).load(as: SIMD8<Double>.self)
    }

    @inline(__always) func store(_ v: SIMD8<Double>, _ p: UnsafeMutablePointer<Double>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Double>.self)
    }

    /// Steps every lane by one control period under `actions[i]` (policy units, clipped to
    /// [−1, 1]) and writes `rewards[i]`. Never terminal; the caller counts ticks for time-outs.
    /// Real-time safe: does not allocate, lock or throw.
    public mutating func step(actions: UnsafePointer<Float>, rewards: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Double>
        let p = parameters
        let maxT = V(repeating: p.maxTorque)
        let maxW = V(repeating: p.maxSpeed)
        let alpha = V(repeating: p.gravityCoefficient)
        let beta = V(repeating: p.inverseInertia)
        let gain = V(repeating: p.actuatorGain)
        let damping = V(repeating: p.damping)
        let dt = V(repeating: p.dt)
        let slip = V(repeating: p.inverseInertia * p.coulomb * p.dt)
        let scale = V(repeating: -p.rewardScale)
        let one = V(repeating: 1)
        let signBit = SIMD8<UInt64>(repeating: 1 << 63)
        let latency = p.latencyTicks
        let writeRow = latencyLine + latencyHead * count
        let readIndex = latency == 0 ? 0 : (latencyHead == latency ? 0 : latencyHead + 1)
        let readRow = latencyLine + readIndex * count
        for base in stride(from: 0, to: count, by: 8) {
            let a32 = UnsafeRawPointer(actions + base).loadUnaligned(as: SIMD8<Float>.self)
            var a = V(a32)
            a = a.replacing(with: one, where: a .> one).replacing(with: -one, where: a .< -one)
            a = a.replacing(with: 0, where: a .!= a)  // NaN → 0
            let u = a * maxT
            let th = load(theta, base)
            let w = load(thetaDot, base)
            let wrapped = SIMDMath.wrapAngle(th)
            let cost = wrapped * wrapped + 0.1 * (w * w) + 0.001 * (u * u)
            var executed = u
            if latency > 0 {
                store(u, writeRow, base)
                executed = load(readRow, base)
            }
            let drive = (gain * executed).addingProduct(-damping, w)
            var newW = w + (alpha * load(sinTheta, base) + beta * drive) * dt
            // Implicit Coulomb friction: |v| shrinks by `slip`, never through zero.
            let bits = unsafeBitCast(newW, to: SIMD8<UInt64>.self)
            var magnitude = unsafeBitCast(bits & ~signBit, to: V.self) - slip
            magnitude = magnitude.replacing(with: 0, where: magnitude .< 0)
            newW = unsafeBitCast(
                unsafeBitCast(magnitude, to: SIMD8<UInt64>.self) | (bits & signBit), to: V.self)
            newW = newW.replacing(with: maxW, where: newW .> maxW)
                .replacing(with: -maxW, where: newW .< -maxW)
            let newTh = th.addingProduct(newW, dt)
            let (s, c) = SIMDMath.sinCos(newTh)
            store(newTh, theta, base)
            store(newW, thetaDot, base)
            store(s, sinTheta, base)
            store(c, cosTheta, base)
            UnsafeMutableRawPointer(rewards + base).storeBytes(
                of: SIMD8<Float>(cost * scale), toByteOffset: 0, as: SIMD8<Float>.self)
        }
        if latency > 0 { latencyHead = readIndex }
    }

    /// Writes the observations [cos θ, sin θ, θ̇] row-major: `observations[3i ..< 3i+3]`.
    /// Real-time safe: does not allocate, lock or throw.
    public func writeObservations(into observations: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            observations[3 * i] = Float(cosTheta[i])
            observations[3 * i + 1] = Float(sinTheta[i])
            observations[3 * i + 2] = Float(thetaDot[i])
        }
    }
}
