import Control

/// The one dataset schema of a file-defined task: what every recorded observation and action
/// value means, named after the robot file's joints in the dataset's convention (DATASET.md,
/// which `robotctl report` reads): `cos_J`/`sin_J` for an angle, `J` for a position, `J_dot`
/// for a velocity, `J_previous_action`, and `J_action` for an action.
extension TaskSpec {
    /// The schema of a dataset recorded with this task on `robot` under `calibration`
    /// (`source`: "robotctl run", "robotctl teleop", …).
    public func datasetSchema(robot: RobotSpec, calibration: RobotCalibration, source: String) -> DatasetSchema {
        var observation: [DatasetChannel] = []
        for f in features {
            switch f {
            case .angleSinCos(let j):
                observation += [DatasetChannel(name: "cos_\(robot.joints[j].name)", unit: "1"),
                                DatasetChannel(name: "sin_\(robot.joints[j].name)", unit: "1")]
            case .angleWrapped(let j):
                observation.append(DatasetChannel(name: robot.joints[j].name, unit: "rad"))
            case .position(let j):
                observation.append(DatasetChannel(name: robot.joints[j].name, unit: robot.joints[j].unit))
            case .velocity(let j, let scale):
                let unit = "\(robot.joints[j].unit)/s"
                observation.append(DatasetChannel(name: "\(robot.joints[j].name)_dot", unit: scale == 1 ? unit : "\(scale) \(unit)"))
            case .previousAction(let a):
                observation.append(DatasetChannel(name: "\(robot.joints[actions[a].joint].name)_previous_action", unit: "1"))
            }
        }
        let action = actions.map { a -> DatasetChannel in
            let j = robot.joints[a.joint]
            let unit = robot.joints[a.joint].actuator?.mode == .torque || j.actuator == nil
                ? (j.body.kind == .revolute ? "N*m" : "N")
                : (j.actuator?.mode == .velocity ? "\(j.unit)/s" : j.unit)
            return DatasetChannel(name: "\(j.name)_action", unit: "1 (x \(a.scale) \(unit))")
        }
        let reward = self.reward.map { "\($0.weight) * (\($0.value.source))" }.joined(separator: " + ")
        return DatasetSchema(
            robotID: calibration.robotID, task: name, calibrationHash: calibration.contentHash,
            controlRateHz: Double(controlRateHz), observation: observation, action: action,
            rewardDefinition: "per control tick: \(reward)", source: source)
    }
}
