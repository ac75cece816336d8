import Control
import Foundation

/// System identification of the pendulum's onboard-simulator parameters from a logged
/// excitation on a real (or emulated) robot (`robotctl calibrate --sysid`): the one-joint case
/// of the N-joint fit `ChainSystemID`, in the pendulum simulator's names.
///
/// Input: joint angle θ (rad, calibrated, θ = 0 upright) and the torque command u (N·m, after
/// the safety filter) at every control tick. The host's ticks may jitter: with `time`, rows
/// whose filter window holds an irregular sample spacing (a late host tick) are left out of
/// the fit and of the error.
///
/// Model (the simulator's, `PendulumParameters`): I θ̈ = (m g l / 2) sin θ + k u(t − d) − b θ̇ − c sgn θ̇,
/// which is `ChainSystemID`'s manipulator equation for one revolute link. The scale anchor is
/// the rod's first moment m·l/2 (mass and length are the robot's known geometry), so the fit
/// gives the inertia about the pivot I, the actuator gain k, the viscous damping b, the
/// Coulomb friction c and the latency d. On the pendulum this fit matches the former
/// pendulum-only regression (within 1.5 % of every true value on the real plant, where the
/// pendulum-only one was within 2.7 %: `ChainFitOnPendulumTests`).
///
/// The one-step prediction error is `ChainSystemID`'s: over held-out ticks (the last
/// `heldOutFraction` of the log, not used by the fit), the low-passed velocity a tick later
/// predicted by the model from the logged state and command, RMS, rad/s.
public enum PendulumSystemID {
    /// Fit settings.
    public struct Options: Sendable {
        /// Largest latency tried, ticks.
        public var maxLatencyTicks = 4
        /// Length of each of the two moving averages of the low-pass, ticks (nil: the
        /// N-joint fit's default, shortened to what the log's length allows).
        public var filterLength: Int?
        /// Share of the log (at its end) held out for the prediction error.
        public var heldOutFraction = 0.3
        /// When a command acts (`ChainSystemID.CommandTiming`): held through its tick on a
        /// robot; `stepAtTick` for logs of `PendulumTask`'s simulator (one semi-implicit Euler
        /// step per tick), whose command acts half a tick later than on a continuous plant.
        public var commandTiming = ChainSystemID.CommandTiming.heldThroughTick
        public init() {}
    }

    /// What the fit found.
    public struct Fit: Sendable, Equatable {
        /// The nominal parameters with inertia, actuator gain, damping, Coulomb friction and
        /// latency replaced by the fitted values.
        public var parameters: PendulumParameters
        /// Fitted values by gap-parameter name ("inertia", "actuator_gain", "damping",
        /// "coulomb", "latency_ticks").
        public var values: [String: Double]
        /// Standard errors by the same names (latency: 0, it is chosen, not estimated).
        public var standardErrors: [String: Double]
        /// Held-out one-step prediction RMS error (rad/s) with the nominal and the fitted
        /// parameters.
        public var heldOutErrorBefore: Double
        public var heldOutErrorAfter: Double
        /// Weighted residual of the fit for each latency tried (index = ticks).
        public var residualByLatency: [Double]
        /// Ticks used for the fit and held out.
        public var fitTicks: Int
        public var heldOutTicks: Int

        /// The calibration file's `system_identification` object.
        public var systemIdentification: SystemIdentification {
            SystemIdentification(
                parameters: values, standardErrors: standardErrors, heldOutErrorBefore: heldOutErrorBefore,
                heldOutErrorAfter: heldOutErrorAfter)
        }
    }

    /// A fit failure: what is wrong with the log and what to do.
    public struct FitError: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ d: String) { description = d.hasPrefix("system identification: ") ? d : "system identification: " + d }
    }

    /// The pendulum of `p` as a one-joint robot file: a rod of `mass` and `length` (centre of
    /// mass at l/2, inertia about the pivot `inertia`, or m·l²/3 when 0) hanging from a torque
    /// motor, θ = 0 upright, with the gain, friction and latency of `p`.
    public static func robot(_ p: PendulumParameters) throws(FitError) -> RobotSpec {
        let pivot = p.inertia > 0 ? p.inertia : p.mass * p.length * p.length / 3
        let com = p.length / 2
        let text = """
            {"format": "robotctl-robot/1", "id": "pendulum", "gravity": \(p.gravity),
             "joints": [{"name": "pendulum", "type": "revolute", "limits": {"velocity": \(max(p.maxSpeed, 1))},
               "encoder": {"counts_per_rev": 4096},
               "link": {"length": \(p.length), "com": \(com), "mass": \(p.mass), "inertia": \(max(0, pivot - p.mass * com * com)), "offset": 1.5707963267948966},
               "friction": {"viscous": \(p.damping), "coulomb": \(p.coulomb)},
               "actuator": {"mode": "torque", "gain": \(p.actuatorGain), "effort_limit": \(p.maxTorque)}}],
             "sensing": {"firmware_rate_hz": 1000, "latency_ticks": \(p.latencyTicks)},
             "link": {"bus": "firmware", "port": "emulator"}}
            """
        do { return try RobotSpec.parse(Data(text.utf8), file: "pendulum parameters") } catch {
            throw FitError("the nominal pendulum is not a valid robot (\(error.description)); check mass, length and max_torque")
        }
    }

    /// Fits the model to `theta` and `torque` (one value per tick, period `dt`), starting
    /// from `nominal` (its mass, length and gravity are kept). `time` (seconds, the robot's
    /// measurement time of each sample), when given, marks irregular ticks: every filter
    /// window holding a spacing more than 25 % off `dt` (50 %, 100 % if that leaves too little
    /// data) is left out of the fit and of the error.
    public static func fit(
        theta: [Double], torque: [Double], dt: Double, nominal: PendulumParameters, time: [Double]? = nil,
        options: Options = Options()
    ) throws(FitError) -> Fit {
        let n = theta.count
        guard torque.count == n else { throw FitError("\(theta.count) angles but \(torque.count) torques") }
        guard theta.allSatisfy(\.isFinite), torque.allSatisfy(\.isFinite) else {
            throw FitError("the log holds non-finite values; check the encoder")
        }
        var o = ChainSystemID.Options()
        o.maxLatencyTicks = options.maxLatencyTicks
        o.heldOutFraction = options.heldOutFraction
        o.commandTiming = options.commandTiming
        // The N-joint fit needs 40 filter margins of data; shorten the filters for short logs.
        o.filterLength = options.filterLength ?? min(o.filterLength, max(10, (n / 40 - o.maxLatencyTicks - 2) / 2))
        o.predictionFilterLength = min(o.predictionFilterLength, o.filterLength)
        o.velocityFilterLength = min(o.velocityFilterLength, o.filterLength)
        let robot = try robot(nominal)
        let chain: ChainSystemID.Fit
        do {
            chain = try ChainSystemID.fit(log: ChainSysIDLog(dt: dt, positions: [theta], commands: [torque], time: time), robot: robot, options: o)
        } catch { throw FitError(error.description) }
        let m = chain.values["pendulum.mass"]!, c = chain.values["pendulum.com"]!
        let inertia = chain.values["pendulum.inertia"]! + m * c * c
        let gain = chain.values["pendulum.gain"]!
        guard inertia > 0, gain > 0 else {
            throw FitError("the fit gives a non-physical model (inertia \(inertia), gain \(gain)); check the encoder direction and zero (run the interactive steps), then excite again")
        }
        var fitted = nominal
        fitted.inertia = inertia
        fitted.actuatorGain = gain
        fitted.damping = chain.values["pendulum.viscous"]!
        fitted.coulomb = chain.values["pendulum.coulomb"]!
        fitted.latencyTicks = chain.latencyTicks
        let se = chain.standardErrors
        return Fit(
            parameters: fitted,
            values: [
                "inertia": inertia, "actuator_gain": gain, "damping": fitted.damping, "coulomb": fitted.coulomb,
                "latency_ticks": Double(chain.latencyTicks),
            ],
            standardErrors: [
                "inertia": se["pendulum.inertia"] ?? 0, "actuator_gain": se["pendulum.gain"] ?? 0,
                "damping": se["pendulum.viscous"] ?? 0, "coulomb": se["pendulum.coulomb"] ?? 0, "latency_ticks": 0,
            ],
            heldOutErrorBefore: chain.heldOutErrorBefore, heldOutErrorAfter: chain.heldOutErrorAfter,
            residualByLatency: chain.residualByLatency, fitTicks: chain.fitTicks, heldOutTicks: chain.heldOutTicks)
    }
}
