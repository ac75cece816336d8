import Control
import Foundation

#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// The person running `robotctl calibrate`: prompts out, answer lines in.
///
/// Thread contract: the wizard's thread only.
public protocol CalibrationConsole: AnyObject {
    /// Shows one line (or a few) to the person.
    func say(_ text: String)
    /// Waits for one answer line (without its newline), calling `whileWaiting` every few
    /// milliseconds meanwhile (the wizard samples the robot there). nil at the end of input.
    func readLine(whileWaiting: () -> Void) -> String?
}

/// Interactive encoder calibration of joint 0: direction (a short torque pulse), zero (the
/// joint held at a reference pose) and range (moved by hand through its travel, or
/// continuous). Each step shows its result and can be redone (`r`); `q` aborts.
///
/// The robot must be configured in torque mode with an identity joint calibration (zero 0,
/// direction +1, the encoder's counts per revolution), so that position = counts · 2π / cpr.
///
/// Thread contract: set-up code on one thread; not real-time.
public final class CalibrationWizard {
    public struct Options: Sendable {
        /// The joint angle of the reference pose of the zero step, rad (pendulum: π, hanging).
        public var zeroAngle = Double.pi
        /// Words for the reference pose in the prompt.
        public var zeroPose = "hanging straight down"
        /// Torque of the direction pulse, N·m (small: the joint must move, not swing far).
        public var pulseTorque = 0.4
        /// Duration of the direction pulse, s.
        public var pulseSeconds = 0.3
        /// Smallest movement that counts in the direction step, rad.
        public var minimumMovement = 0.01
        /// The joint counts as still while its angle stays within this spread over `stillSeconds`, rad.
        public var stillSpread = 0.008
        public var stillSeconds = 0.3
        /// Longest wait for the joint to come to rest before a zero reading, s.
        public var stillTimeout = 15.0
        public init() {}
    }

    /// The person quit.
    public struct Aborted: Error, CustomStringConvertible {
        public var description: String { "calibration aborted by the operator; nothing was written" }
    }

    /// A step that cannot be done as asked (the message says why and what to do).
    public struct StepError: Error, CustomStringConvertible {
        public let description: String
    }

    let robot: any RobotInterface
    let console: CalibrationConsole
    let options: Options
    let countsPerRevolution: Int
    private var state = RobotState()

    public init(robot: any RobotInterface, console: CalibrationConsole, countsPerRevolution: Int, options: Options = Options()) {
        self.robot = robot
        self.console = console
        self.countsPerRevolution = countsPerRevolution
        self.options = options
    }

    /// Runs the three steps on joint 0 of `base` and returns it with direction, zero and range.
    public func run(_ base: JointCalibration) throws -> JointCalibration {
        var joint = base
        joint.encoderCountsPerRevolution = countsPerRevolution
        joint.direction = try step(1, "direction") { try self.directionStep(joint) }
        joint.zeroOffsetCounts = try step(2, "zero") { try self.zeroStep(direction: joint.direction) }
        let range = try step(3, "range") { try self.rangeStep(joint) }
        joint.positionMin = range?.0
        joint.positionMax = range?.1
        return joint
    }

    /// Runs `body` until the person keeps its result.
    private func step<T>(_ number: Int, _ name: String, _ body: () throws -> (T, String)) throws -> T {
        while true {
            let result: (T, String)
            do {
                result = try body()
            } catch let e as StepError {
                console.say("  \(e.description)")
                console.say("  Press Enter to try step \(number) again, or q to quit.")
                guard let answer = console.readLine(whileWaiting: {}) else { throw Aborted() }
                if answer.lowercased().hasPrefix("q") { throw Aborted() }
                continue
            }
            console.say("  \(name): \(result.1)")
            console.say("  Keep it? Enter keeps it, r redoes step \(number), q quits.")
            guard let answer = console.readLine(whileWaiting: {}) else { throw Aborted() }
            let a = answer.trimmingCharacters(in: .whitespaces).lowercased()
            if a.hasPrefix("q") { throw Aborted() }
            if a.hasPrefix("r") || a.hasPrefix("n") { continue }
            return result.0
        }
    }

    private func readCounts() -> Double? {
        guard robot.read(into: &state) == .ok else { return nil }
        return Double(state.position[0]) * Double(countsPerRevolution) / (2 * Double.pi)
    }

    private func prompt(_ lines: String...) throws -> String {
        for l in lines { console.say(l) }
        guard let answer = console.readLine(whileWaiting: { _ = self.readCounts() }) else { throw Aborted() }
        if answer.lowercased().hasPrefix("q") { throw Aborted() }
        return answer.trimmingCharacters(in: .whitespaces).lowercased()
    }

    private func directionStep(_ joint: JointCalibration) throws -> (Int, String) {
        let answer = try prompt(
            "Step 1/3, direction of joint \"\(joint.name)\": the motor will push it gently (\(options.pulseTorque) N·m for \(options.pulseSeconds) s).",
            "  Keep clear of the joint, then press Enter (s skips this step and keeps direction \(joint.direction)).")
        if answer.hasPrefix("s") { return (joint.direction, "\(joint.direction) (kept, step skipped)") }
        guard let before = readCounts() else { throw StepError(description: "the robot does not answer; check the link") }
        var peak = before
        do {
            try robot.activate()
            var command = RobotCommand()
            command.mode = .torque
            command.jointCount = 1
            let ticks = Int(options.pulseSeconds / 0.005)
            for k in 0..<(ticks + 40) {
                command.setpoint[0] = k < ticks ? Float(options.pulseTorque) : 0
                command.sequence = UInt32(k)
                _ = robot.write(command)
                usleep(5_000)
                if let c = readCounts(), abs(c - before) > abs(peak - before) { peak = c }
            }
            try robot.deactivate()
        } catch {
            try? robot.deactivate()
            throw StepError(description: "cannot drive the motor (\(error)); check the robot, clear any fault")
        }
        let moved = (peak - before) * 2 * Double.pi / Double(countsPerRevolution)
        guard abs(moved) >= options.minimumMovement else {
            throw StepError(description: String(format: "the joint moved only %.4f rad; free the joint or raise --pulse-torque", moved))
        }
        let direction = moved > 0 ? 1 : -1
        return (direction, String(format: "%+d (positive torque moved the encoder by %+.0f counts, %+.3f rad)", direction, peak - before, moved))
    }

    /// Waits until the joint is still and returns its mean count over `stillSeconds`.
    private func stillCounts() throws -> Double {
        let window = max(2, Int(options.stillSeconds / 0.005))
        var samples: [Double] = []
        let deadline = monotonicNanos() + UInt64(options.stillTimeout * 1e9)
        let spread = options.stillSpread * Double(countsPerRevolution) / (2 * Double.pi)
        while monotonicNanos() < deadline {
            usleep(5_000)
            guard let c = readCounts() else { continue }
            samples.append(c)
            if samples.count > window { samples.removeFirst() }
            if samples.count == window, let lo = samples.min(), let hi = samples.max(), hi - lo <= spread {
                return samples.reduce(0, +) / Double(samples.count)
            }
        }
        throw StepError(description: "the joint did not come to rest within \(Int(options.stillTimeout)) s; hold it still")
    }

    private func zeroStep(direction: Int) throws -> (Int, String) {
        _ = try prompt(
            "Step 2/3, zero: hold the joint still at its reference pose (\(options.zeroPose), " + String(format: "%.4f rad), then press Enter.", options.zeroAngle))
        let counts = try stillCounts()
        let zero = Int((counts - Double(direction) * options.zeroAngle * Double(countsPerRevolution) / (2 * Double.pi)).rounded())
        return (zero, String(format: "zero offset %d counts (the reference pose reads %.1f counts)", zero, counts))
    }

    private func rangeStep(_ joint: JointCalibration) throws -> ((Double, Double)?, String) {
        var lo = Double.infinity, hi = -Double.infinity
        console.say("Step 3/3, range: move the joint slowly to both ends of its travel, then press Enter.")
        console.say("  Type c and Enter if it turns freely (a continuous joint, like a pendulum).")
        guard let line = console.readLine(whileWaiting: {
            if let c = self.readCounts() {
                lo = min(lo, c)
                hi = max(hi, c)
            }
        }) else { throw Aborted() }
        let answer = line.trimmingCharacters(in: .whitespaces).lowercased()
        if answer.hasPrefix("q") { throw Aborted() }
        if answer.hasPrefix("c") { return (nil, "continuous (no limits)") }
        guard lo.isFinite, hi.isFinite else { throw StepError(description: "no reading during the move; check the link") }
        let a = joint.position(fromCounts: Int32(lo.rounded())), b = joint.position(fromCounts: Int32(hi.rounded()))
        let range = (min(a, b), max(a, b))
        guard range.1 - range.0 >= 0.1 else {
            throw StepError(description: String(format: "the joint moved through only %.3f rad; move it to both ends of its travel (or type c)", range.1 - range.0))
        }
        return (range, String(format: "%.3f ... %.3f rad", range.0, range.1))
    }
}
