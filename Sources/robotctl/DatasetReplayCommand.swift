import ArgumentParser
import Control
import Foundation
import H2OTrainer
import Tasks

/// `robotctl dataset replay DIR`: the dynamics gap between the data and the onboard simulator.
struct DatasetReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Step the onboard simulator through a dataset's actions and report its per-step prediction error.",
        discussion: """
            Each recorded transition's state is loaded into the simulator, which takes the \
            recorded action for one tick (its latency line primed with the episode's earlier \
            actions); the predicted next state is compared with the recorded one. The errors \
            are the dynamics gap H2O+ has to bridge. With --calibration, the simulator's \
            parameters fitted by `robotctl calibrate --sysid` are used too and both gaps are \
            shown. Discarded (redo) episodes are skipped.

            Example: robotctl dataset replay data/teleop --calibration calibration/emulated-pendulum.json
            """)

    @Argument(help: "The dataset directory.")
    var directory: String

    @Option(help: ArgumentHelp("Calibration whose fitted simulator parameters to compare with the nominal ones.", valueName: "file"))
    var calibration: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let reader = try asUserError { try DatasetReader(directory: directory) }
        try asUserError { try PendulumDynamicsGap.check(reader.schema, file: directory + "/schema.json") }
        let table = try asUserError { try reader.episodeTable() }
        // The transitions by the one pairing rule, and the episode of each.
        var arrays = D4RLArrays(observationSize: reader.schema.observationCount, actionSize: reader.schema.actionCount)
        var episodes: [UInt32] = []
        reader.forEachTransition(episodes: table) { t in
            arrays.append(t)
            episodes.append(t.episode)
        }
        var nominal = PendulumParameters.rate200Hz
        nominal.dt = 1 / reader.schema.controlRateHz
        if let t = torqueScale(reader.schema) { nominal.maxTorque = t }
        var reports: [(String, PendulumDynamicsGap.Report)] = [("nominal", PendulumDynamicsGap.replay(arrays, episodes: episodes, parameters: nominal))]
        if let calibration {
            let cal = try asUserError { try RobotCalibration.load(path: calibration) }
            guard let s = cal.systemIdentification else {
                throw UserError("\(calibration): field system_identification is null; run `robotctl calibrate --sysid` first")
            }
            reports.append(("fitted", PendulumDynamicsGap.replay(arrays, episodes: episodes, parameters: PendulumDynamicsGap.parameters(nominal, fittedBy: s))))
        }
        if json {
            var out: [String: Any] = ["dataset": directory, "transitions": arrays.count]
            for (name, r) in reports {
                out[name] = ["steps": r.steps, "angle_rms_rad": r.angleRMS, "angle_max_rad": r.angleMax,
                             "speed_rms_rad_s": r.speedRMS, "speed_max_rad_s": r.speedMax]
            }
            let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("dynamics gap of \(directory): \(arrays.count) transitions replayed one step each (\(table.discarded.count) discarded episodes skipped)")
        for (name, r) in reports {
            print("  \(name) simulator: " + String(format: "angle error rms %.5f rad (max %.5f), speed error rms %.4f rad/s (max %.4f)",
                                                     r.angleRMS, r.angleMax, r.speedRMS, r.speedMax))
        }
    }

    /// The N·m of action 1 from the action unit "1 (x 2.0 N*m)", if present.
    private func torqueScale(_ schema: DatasetSchema) -> Double? {
        let unit = schema.action[0].unit
        guard let r = unit.range(of: "x "), let end = unit.range(of: " N*m") else { return nil }
        return Double(unit[r.upperBound..<end.lowerBound])
    }
}
