#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Excitation torques for system identification, within the actuator's limits.
public enum Excitation {
    /// A linear chirp `amplitude · sin(2π (f0 t + (f1 − f0) t² / (2T)))` sampled every `dt`
    /// for `duration` seconds.
    public static func chirp(
        amplitude: Double, from f0: Double, to f1: Double, duration: Double, dt: Double
    ) -> [Double] {
        let n = Int((duration / dt).rounded())
        return (0..<n).map { k in
            let t = Double(k) * dt
            return amplitude * sin(2 * Double.pi * (f0 * t + (f1 - f0) * t * t / (2 * duration)))
        }
    }

    /// A pseudo-random binary sequence: ±amplitude, each level held for a uniformly random
    /// whole number of ticks in `minHold...maxHold`, from `seed`.
    public static func prbs(
        amplitude: Double, ticks: Int, minHold: Int, maxHold: Int, seed: UInt64
    ) -> [Double] {
        var random = SimRandom(seed: seed)
        var out: [Double] = []
        out.reserveCapacity(ticks)
        var level = amplitude
        while out.count < ticks {
            let hold = minHold + Int(random.next() % UInt64(maxHold - minHold + 1))
            for _ in 0..<hold where out.count < ticks { out.append(level) }
            if random.next() & 1 == 0 { level = -level }
        }
        return out
    }
}
