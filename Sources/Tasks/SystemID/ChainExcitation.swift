#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An excitation for system identification of an N-joint robot: per actuated joint a
/// multi-sine of `tones` frequencies spread log-evenly over `band` (each joint gets its own
/// interleaved set, so the joints' inputs are uncorrelated) with Schroeder-like phases (a low
/// crest factor), normalised to `amplitudeFraction` of the joint's effort limit. Safety: the
/// amplitude ramps up from 0 over `rampSeconds` and back to 0 over the last `rampSeconds`
/// (the robot starts and ends at rest), and every command respects the effort limit and the
/// actuator's rate limit.
///
/// Value type; `command(tick:)` is real-time safe (no allocation, lock or throw).
public struct ChainExcitation: Sendable {
    public let jointCount: Int
    public let controlRateHz: Int
    public let seconds: Double
    public let rampSeconds: Double
    let frequencies: [[Double]]
    let phases: [[Double]]
    let amplitudes: [Double]
    let limits: [Double]
    let rateSteps: [Double]
    let actuated: [Bool]

    /// Throws a one-line reason for settings that cannot excite (no time, empty band).
    public init(
        robot: RobotSpec, controlRateHz: Int, seconds: Double, band: ClosedRange<Double> = 0.2...2.5, tones: Int = 6,
        amplitudeFraction: Double = 0.8, rampSeconds: Double = 2, seed: UInt64 = 1
    ) throws(ExcitationError) {
        guard controlRateHz > 0, seconds > 2 * rampSeconds, rampSeconds >= 0 else {
            throw ExcitationError("excitation of \(seconds) s at \(controlRateHz) Hz is too short for its \(rampSeconds) s ramps; give more seconds")
        }
        guard band.lowerBound > 0, band.upperBound < Double(controlRateHz) / 4, tones >= 1 else {
            throw ExcitationError("excitation band \(band) Hz must be positive and below a quarter of the \(controlRateHz) Hz control rate")
        }
        guard amplitudeFraction > 0, amplitudeFraction <= 1 else {
            throw ExcitationError("excitation amplitude fraction \(amplitudeFraction) must be in (0, 1]")
        }
        jointCount = robot.joints.count
        self.controlRateHz = controlRateHz
        self.seconds = seconds
        self.rampSeconds = rampSeconds
        let act = robot.joints.map { $0.actuator != nil }
        actuated = act
        let count = max(1, act.filter { $0 }.count)
        var rng = SplitMix(seed)
        var freqs: [[Double]] = [], ph: [[Double]] = []
        var slot = 0
        for j in 0..<robot.joints.count {
            guard act[j] else {
                freqs.append([])
                ph.append([])
                continue
            }
            // Tone t of joint slot s is grid point t·count + s of a log grid over the band.
            let total = tones * count
            var f: [Double] = [], p: [Double] = []
            for t in 0..<tones {
                let g = Double(t * count + slot) / Double(max(1, total - 1))
                f.append(band.lowerBound * pow(band.upperBound / band.lowerBound, g))
                p.append(-Double.pi * Double(t) * Double(t + 1) / Double(tones) + 2 * Double.pi * rng.unit())
            }
            freqs.append(f)
            ph.append(p)
            slot += 1
        }
        frequencies = freqs
        phases = ph
        limits = robot.joints.map { $0.actuator?.effortLimit ?? 0 }
        rateSteps = robot.joints.map { ($0.actuator?.rateLimit ?? 0) / Double(controlRateHz) }
        // Normalise each joint's sum of sines to its peak over the run.
        var amps: [Double] = []
        let ticks = Int(seconds * Double(controlRateHz))
        for j in 0..<robot.joints.count {
            var peak = 0.0
            for k in 0..<ticks {
                let t = Double(k) / Double(controlRateHz)
                var s = 0.0
                for (f, p) in zip(freqs[j], ph[j]) { s += sin(2 * Double.pi * f * t + p) }
                peak = max(peak, abs(s))
            }
            amps.append(peak > 0 ? amplitudeFraction * limits[j] / peak : 0)
        }
        amplitudes = amps
    }

    /// Ticks in the run.
    public var ticks: Int { Int(seconds * Double(controlRateHz)) }

    /// The torque/force command of every joint at `tick` (0 for passive joints), given the
    /// previous command `previous` (for the rate limit).
    /// Real-time safe: does not allocate, lock or throw.
    public func command(tick: Int, previous: JointVector) -> JointVector {
        let t = Double(tick) / Double(controlRateHz)
        let envelope = rampSeconds > 0 ? min(1, max(0, min(t, seconds - t) / rampSeconds)) : 1
        var out = JointVector(repeating: 0)
        for j in 0..<jointCount where actuated[j] {
            var s = 0.0
            for (f, p) in zip(frequencies[j], phases[j]) { s += sin(2 * Double.pi * f * t + p) }
            let wanted = min(max(envelope * amplitudes[j] * s, -limits[j]), limits[j])
            out[j] = min(max(wanted, previous[j] - rateSteps[j]), previous[j] + rateSteps[j])
        }
        return out
    }

    /// The whole run, joint-major (`[joint][tick]`), as `ChainSysIDLog.commands` wants it.
    public func commands() -> [[Double]] {
        var out = [[Double]](repeating: [Double](repeating: 0, count: ticks), count: jointCount)
        var previous = JointVector(repeating: 0)
        for k in 0..<ticks {
            previous = command(tick: k, previous: previous)
            for j in 0..<jointCount { out[j][k] = previous[j] }
        }
        return out
    }
}

/// An excitation setting that cannot work, in one line.
public struct ExcitationError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    init(_ d: String) { description = "system identification: " + d }
}

/// A small deterministic generator (SplitMix64) for the excitation's phases.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
