import Control
import Tasks

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Offline real-domain data for a task defined by files (`robotctl sim collect`): a scripted
/// operator drives the robot's emulated plant (`RealPlantEnvironment`) and every decision is
/// written in the project's dataset format (Control/DATASET.md) with the `teleop` flag.
///
/// The operator knows nothing of the task: on each driven joint it pushes a correlated
/// (Ornstein–Uhlenbeck) stick, as a human's hand wanders, with a per-episode effort scale,
/// plus a damping term on the joint's measured speed so it does not run into the limits.
public enum FileTaskDataset {
    /// The dataset schema of `task`: one channel per observed value and per action.
    public static func schema(task: FileTask, source: String = "teleop") -> DatasetSchema {
        let spec = task.simulator.task.spec, robot = task.parameters.robot
        var observation: [DatasetChannel] = []
        for f in spec.features {
            switch f {
            case .angleSinCos(let j):
                observation.append(DatasetChannel(name: "\(robot.joints[j].name).cos", unit: "1"))
                observation.append(DatasetChannel(name: "\(robot.joints[j].name).sin", unit: "1"))
            case .angleWrapped(let j):
                observation.append(DatasetChannel(name: "\(robot.joints[j].name).position", unit: "rad"))
            case .position(let j):
                observation.append(DatasetChannel(name: "\(robot.joints[j].name).position", unit: robot.joints[j].unit))
            case .velocity(let j, let scale):
                let unit = "\(robot.joints[j].unit)/s" + (scale == 1 ? "" : " x \(scale)")
                observation.append(DatasetChannel(name: "\(robot.joints[j].name).velocity", unit: unit))
            case .previousAction(let a):
                observation.append(DatasetChannel(name: "\(robot.joints[spec.actions[a].joint].name).previous_action", unit: "1"))
            }
        }
        let action = spec.actions.map { a in
            DatasetChannel(name: "\(robot.joints[a.joint].name).action", unit: "1 (x \(a.scale) \(robot.joints[a.joint].body.kind == .revolute ? "N*m" : "N"))")
        }
        let reward = spec.reward.map { "\($0.weight) * \($0.name)" }.joined(separator: " + ")
        return DatasetSchema(
            robotID: robot.id, task: spec.name, controlRateHz: Double(spec.decisionRateHz), observation: observation,
            action: action, rewardDefinition: "\(reward) (terms of \(spec.source)), summed over each decision's control ticks",
            source: source)
    }

    /// Records `options.episodes` episodes of `task` on its emulated plant into `directory`
    /// (created, or appended to if it holds a compatible dataset). `options.noise` is the
    /// stick's stationary std in action units, `options.effortSpread` the per-episode scale.
    public static func record(task: FileTask, directory: String, options: TeleopDataset.Options) throws -> TeleopDataset.Summary {
        var env = try RealPlantEnvironment(task: task, parameters: options.plantParameters, seed: options.seed)
        let writer = try DatasetWriter(directory: directory, schema: schema(task: task))
        var recorder = EpisodeRecorder(
            writer: writer, observationSize: task.observationSize, actionSize: task.actionSize,
            controlPeriod: task.controlPeriod)
        recorder.flags = [.teleop]
        var random = SimRandom(seed: options.seed &+ 0x7E1E)
        let decay = exp(-task.controlPeriod / options.noiseTime)
        let kick = options.noise * (1 - decay * decay).squareRoot()
        let spec = task.simulator.task.spec
        // Where each driven joint's speed sits in the observation (damping term), if observed.
        let speedIndex: [Int?] = spec.actions.map { a in
            var k = 0
            for f in spec.features {
                if case .velocity(let j, let scale) = f, j == a.joint { return scale > 0 ? k : nil }
                k += f.width
            }
            return nil
        }
        for _ in 0..<options.episodes {
            let effort = random.uniform(1 - options.effortSpread, 1)
            var wander = (0..<task.actionSize).map { _ in options.noise * random.normal() }
            try recorder.record(in: &env, policyVersion: 0) { observation, action in
                for i in 0..<task.actionSize {
                    wander[i] = decay * wander[i] + kick * random.normal()
                    let damping = speedIndex[i].map { -0.05 * Double(observation[$0]) } ?? 0
                    action[i] = Float(min(max(effort * (wander[i] + damping), -1), 1))
                }
            }
        }
        try writer.close()
        return TeleopDataset.Summary(records: recorder.records, returns: recorder.returns)
    }
}
