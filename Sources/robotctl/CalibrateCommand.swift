import ArgumentParser
import Control
import Foundation
import Sessions
import Hardware
import Tasks

/// `robotctl calibrate`: encoder direction, zero and range, then optionally system
/// identification of the onboard simulator; writes the calibration file.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Calibrate the encoder (direction, zero, range) and fit the onboard simulator to the robot.",
        discussion: """
            The interactive steps ask you to press Enter when ready: a short torque pulse finds \
            the direction, the joint held still at its reference pose gives the zero, and moving \
            it through its travel gives the range (type c for a continuous joint). After each \
            step you see the result and can keep it (Enter) or redo it (r); q quits without \
            writing anything. With --sysid the robot is then excited with a pseudo-random torque \
            within the calibration's torque limit and the simulator's inertia, actuator gain, \
            viscous and Coulomb friction and latency are fitted by least squares; the fit error \
            of each parameter and the one-step prediction error on held-out data before and \
            after are printed. The calibration file is written atomically.

            Example: robotctl calibrate --sysid --output calibration/my-pendulum.json
            Example: robotctl calibrate --no-interactive --sysid --calibration calibration/emulated-pendulum.json
            """)

    @OptionGroup var shared: SharedOptions

    @Option(help: ArgumentHelp("Where to write the calibration (default: calibration/<robot id>.json).", valueName: "file"))
    var output: String?

    @Option(help: "Robot id written into the calibration (default: the starting calibration's).")
    var robotID: String?

    @Flag(inversion: .prefixedNo, help: "Run the interactive direction, zero and range steps.")
    var interactive = true

    @Flag(help: "Fit the onboard simulator's parameters to the robot (system identification).")
    var sysid = false

    @Option(help: "Length of the system-identification excitation, seconds.")
    var sysidSeconds: Double = 40

    @Option(help: "Excitation torque as a fraction of the calibration's torque limit.")
    var sysidTorque: Double = 0.7

    @Option(help: "Torque of the direction pulse, N·m.")
    var pulseTorque: Double = 0.4

    @Option(help: "Joint angle of the zero step's reference pose, rad (pendulum: 3.14159, hanging down).")
    var zeroAngle: Double = Double.pi

    @OptionGroup var emulator: EmulatorOptions

    func validate() throws {
        if !interactive && !sysid { throw ValidationError("nothing to do: --no-interactive without --sysid") }
        if !(sysidSeconds >= 10) { throw ValidationError("--sysid-seconds must be at least 10") }
        if !(sysidTorque > 0 && sysidTorque <= 1) { throw ValidationError("--sysid-torque must be in (0, 1]") }
        if !(pulseTorque > 0) { throw ValidationError("--pulse-torque must be > 0") }
        try emulator.check()
    }

    func run() throws {
        Console.shared.level = shared.logLevel
        // The robot and task files; the emulated robot is the robot file plus its reality gap.
        let files = try RobotFiles(shared)
        let setup = files.bringup(emulatorOverrides: emulator.parsedParameters, seed: shared.seed)
        defer { setup.close() }
        let (start, startPath) = (setup.calibration, setup.calibrationPath)
        guard start.joints.count == 1 else {
            throw UserError("\(startPath): field joints lists \(start.joints.count) joints; calibrate handles one-joint robots (the pendulum)")
        }
        var calibration = start
        if let robotID { calibration.robotID = robotID }
        let outputPath = output ?? "calibration/\(calibration.robotID).json"

        // The interactive steps read raw counts: open with an identity joint calibration.
        var identity = calibration
        identity.joints[0].direction = 1
        identity.joints[0].zeroOffsetCounts = 0
        try setup.connectOrFail(gpio: false, joints: interactive ? identity : calibration)
        Console.shared.log(.info, "calibrate: \(setup.description), starting from \(startPath)")

        if interactive {
            var options = CalibrationWizard.Options()
            options.zeroAngle = zeroAngle
            options.pulseTorque = min(pulseTorque, calibration.joints[0].torqueLimit)
            let wizard = CalibrationWizard(
                robot: setup.robot!, console: StandardInputConsole(),
                countsPerRevolution: calibration.joints[0].encoderCountsPerRevolution, options: options)
            calibration.joints[0] = try asUserError { try wizard.run(calibration.joints[0]) }
            calibration.systemIdentification = nil
        }

        if sysid {
            try asUserError { try setup.reopen(with: calibration) }
            let period = 1 / calibration.controlRateHz
            let ticks = Int(sysidSeconds / period)
            let amplitude = sysidTorque * calibration.joints[0].torqueLimit
            print(String(format: "system identification: exciting the joint with ±%.2f N·m for %.0f s (keep clear)", amplitude, sysidSeconds))
            let bar = ProgressBar(label: "excitation", total: ticks)
            let log: ExcitationLog
            do {
                log = try ExcitationRunner.run(
                    robot: setup.robot!, limits: calibration.safetyLimits, periodSeconds: period, ticks: ticks,
                    signal: PRBSExcitation(amplitude: amplitude, seed: shared.seed), progress: { bar.update($0) })
            } catch let e as Sessions.ExcitationError {
                throw CommandFailure(ExitStatus(ending: e.ending, signal: nil, openEnded: false), e.description)
            } catch {
                throw CommandFailure(.robotFailed, "\(error)")
            }
            bar.finish("\(ticks) ticks logged, \(fitTicksNote(log, period)), \(log.readFailures) failed reads, \(log.missedDeadlines) missed deadlines")
            var nominal = PendulumParameters.rate200Hz
            nominal.dt = period
            nominal.maxTorque = calibration.joints[0].torqueLimit
            let fit = try asUserError {
                try PendulumSystemID.fit(theta: log.theta, torque: log.torque, dt: period, nominal: nominal, time: log.time)
            }
            print("fitted onboard-simulator parameters (mass \(nominal.mass) kg, length \(nominal.length) m, gravity \(nominal.gravity) m/s² held at their nominal values):")
            for name in ["inertia", "actuator_gain", "damping", "coulomb", "latency_ticks"] {
                let v = fit.values[name]!, se = fit.standardErrors[name]!
                let before = name == "inertia" ? nominal.mass * nominal.length * nominal.length / 3 : (nominal.value(of: name) ?? 0)
                print("  " + name.padding(toLength: 14, withPad: " ", startingAt: 0)
                      + String(format: "%10.4f ± %.4f (%.1f %%)   nominal %.4f", v, se, v != 0 ? 100 * se / abs(v) : 0, before))
            }
            print(String(format: "one-step prediction error on held-out data (%d ticks): %.5f rad/s before, %.5f rad/s after (%.1f× smaller)",
                         fit.heldOutTicks, fit.heldOutErrorBefore, fit.heldOutErrorAfter, fit.heldOutErrorBefore / max(fit.heldOutErrorAfter, 1e-12)))
            calibration.systemIdentification = fit.systemIdentification
        }

        // Validate by round trip before anything is written.
        let text = calibration.canonicalJSON()
        _ = try asUserError { try RobotCalibration.parse(Data(text.utf8), file: outputPath) }
        let dir = (outputPath as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            throw UserError("\(outputPath): directory \(dir) does not exist; create it or choose another --output")
        }
        try writeFileAtomically(text, to: outputPath)
        print("calibration written to \(outputPath)")
    }
}

/// "N irregular spacings" of an excitation log (more than 25 % off the period).
private func fitTicksNote(_ log: ExcitationLog, _ period: Double) -> String {
    let late = zip(log.time, log.time.dropFirst()).filter { abs($1 - $0 - period) > 0.25 * period }.count
    return "\(late) sample spacings more than 25 % off the period (left out of the fit where possible)"
}

/// The calibration prompts on standard output, answers from standard input (a terminal, a
/// pipe or a script), read without blocking so the robot is sampled while waiting.
final class StandardInputConsole: CalibrationConsole {
    private var pending: [UInt8] = []
    private var closed = false

    func say(_ text: String) {
        print(text)
        fflush(nil)
    }

    func readLine(whileWaiting: () -> Void) -> String? {
        while true {
            if let nl = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            if closed {
                guard !pending.isEmpty else { return nil }
                let line = String(decoding: pending, as: UTF8.self)
                pending = []
                return line
            }
            var fds = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fds, 1, 10)
            if ready > 0 {
                var buffer = [UInt8](repeating: 0, count: 256)
                let n = read(STDIN_FILENO, &buffer, buffer.count)
                if n > 0 { pending += buffer[..<n] } else if n == 0 || errno != EINTR { closed = true }
            }
            whileWaiting()
        }
    }
}
