import ArgumentParser
import Control
import Foundation
import H2OTrainer
import Hardware
import Sessions

/// The exit status of every robotctl command, defined once here (README "Exit codes",
/// `robotctl --help`). 0 only when the command ended as asked: its duration reached, its
/// episodes done, Ctrl-C or SIGTERM on an open-ended run. `Robotctl.main` maps thrown errors
/// with `init(error:)`; `run`, `eval`, `teleop` and `calibrate` map how their session ended
/// with `init(ending:…)` and `finish`.
enum ExitStatus: Int32, CaseIterable, Sendable {
    /// Ended as asked.
    case success = 0
    /// robotctl itself failed (an unexpected error, a result file it could not write).
    case failure = 1
    /// Bad usage or a bad input file (a flag, a policy, calibration, robot or dataset file).
    case badInput = 2
    /// The robot or its link failed: the link lost, stalled or too slow, no answer, a motor
    /// fault latched.
    case robotFailed = 3
    /// A safety stop ended it: a position or velocity limit, the e-stop, a policy (or
    /// observation) that went non-finite.
    case safetyStop = 4
    /// The on-robot trainer diverged (its parameters went non-finite; restored, but reported).
    case trainerDiverged = 5
    /// The dataset could not be written (disk full, I/O error); the motors were stopped.
    case recordingFailed = 6
    /// SIGHUP (the terminal or the ssh session went away): an orderly stop, files written.
    case hangup = 129
    /// SIGINT (Ctrl-C) before the asked end (a --duration or --episodes not reached).
    case interrupted = 130
    /// SIGTERM before the asked end.
    case terminated = 143

    /// One line per status for `robotctl --help` and the README.
    var meaning: String {
        switch self {
        case .success: "ended as asked (duration reached, episodes done, Ctrl-C or SIGTERM on an open-ended run)"
        case .failure: "robotctl itself failed (an unexpected error)"
        case .badInput: "bad usage or a bad input file (flag, policy, calibration, robot or dataset file)"
        case .robotFailed: "the robot or its link failed (link lost, stalled or too slow, no answer, motor fault)"
        case .safetyStop: "a safety stop ended it (position/velocity limit, e-stop, non-finite policy output)"
        case .trainerDiverged: "the on-robot trainer diverged"
        case .recordingFailed: "the dataset could not be written (disk full, I/O error); motors stopped"
        case .hangup: "SIGHUP: stopped in order, files written"
        case .interrupted: "Ctrl-C before the asked end (--duration, --episodes): stopped in order, files written"
        case .terminated: "SIGTERM before the asked end: stopped in order, files written"
        }
    }

    /// The table for `robotctl --help`.
    static var table: String {
        allCases.map { String(format: "  %3d  %@", $0.rawValue, $0.meaning) }.joined(separator: "\n")
    }

    /// How a session that drove the robot ended. `signal`: the stop signal that arrived (nil:
    /// none); `openEnded`: the command had no planned end (no --duration, no episode count),
    /// so a SIGINT or SIGTERM is how it is meant to end; `trainerDiverged`: the trainer
    /// reported a divergence during the run; `recordingError`: the dataset failed.
    init(ending: RunEnding, signal: StopSignal.Kind?, openEnded: Bool, trainerDiverged: Bool = false, recordingError: Bool = false) {
        if recordingError {
            self = .recordingFailed
            return
        }
        switch ending {
        case .safetyStop: self = .safetyStop
        case .robotFailed: self = .robotFailed
        case .trainerDiverged: self = .trainerDiverged
        case .recordingFailed: self = .recordingFailed
        case .completed, .stopRequested:
            switch signal {
            case .hangup?: self = .hangup
            case .interrupt? where !openEnded && ending == .stopRequested: self = .interrupted
            case .terminate? where !openEnded && ending == .stopRequested: self = .terminated
            default: self = trainerDiverged ? .trainerDiverged : .success
            }
        }
    }

    /// How `run` or `eval` ended (the on-robot session's result): its ending, a divergence
    /// of the trainer (reported on the console here), a dataset that failed.
    static func ofRun(_ result: OnRobotResult, signal: StopSignal.Kind?, openEnded: Bool) -> ExitStatus {
        let diverged = result.events.filter { $0.kind == "trainer_diverged" }
        if let last = diverged.last {
            Console.shared.log(.warning, "the trainer diverged \(diverged.count) time(s) during the run (last: \(last.detail)); see events.csv")
        }
        return ExitStatus(ending: result.ending, signal: signal, openEnded: openEnded, trainerDiverged: !diverged.isEmpty,
                          recordingError: result.datasetError != nil)
    }

    /// The status of an error thrown out of a command (`ExitCode`s from ArgumentParser or a
    /// command pass through, except its usage error 64, which is `badInput`).
    init(error: Error) {
        switch error {
        case let e as CommandFailure: self = e.status
        case is UserError: self = .badInput
        case let e as HardwareError: self = ExitStatus(hardware: e)
        default:
            let code = Robotctl.exitCode(for: error)
            if code == .validationFailure { self = .badInput } else { self = ExitStatus(rawValue: code.rawValue) ?? .failure }
        }
    }

    /// A hardware error at set-up: the robot not answering (or too slow, or speaking another
    /// protocol, or the link failing) is the robot failing; a wrong port, permissions, a busy
    /// device or a bad argument is bad input.
    init(hardware e: HardwareError) {
        switch e.kind {
        case .noResponse, .protocolMismatch, .ioFailure: self = .robotFailed
        default: self = .badInput
        }
    }

    /// Ends the command with this status: nothing for success; otherwise throws, and
    /// `Robotctl.main` prints the one line `Error: <command> ended: <why> (exit status N: …)`
    /// on standard error and exits with it.
    func finish(_ command: String, why: String) throws {
        guard self != .success else { return }
        throw CommandFailure(self, "\(command) ended: \(why) (exit status \(rawValue): \(meaning))")
    }
}

/// An error that carries its exit status (`ExitStatus`); printed as `Error: <message>`.
struct CommandFailure: Error, CustomStringConvertible {
    let status: ExitStatus
    let description: String
    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        description = message
    }
}

extension Robotctl {
    /// Parses, runs, and maps whatever ends the command to its `ExitStatus` (one place).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // --help and --version: ArgumentParser prints them and exits 0.
            if exitCode(for: error) == .success { exit(withError: error) }
            let status = ExitStatus(error: error)
            let message: String
            if let e = error as? CommandFailure { message = "Error: " + e.description } else { message = fullMessage(for: error) }
            Console.shared.clearStatus()
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            Foundation.exit(status.rawValue)
        }
    }
}
