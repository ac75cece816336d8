import Control

extension PendulumTask {
    /// The dataset schema of pendulum recordings (teleop, run, eval write the same channels,
    /// so their data can share a directory): observation [cos θ, sin θ, θ̇], action the
    /// torque fraction in [-1, 1].
    public func datasetSchema(robotID: String, calibrationHash: String, source: String) -> DatasetSchema {
        DatasetSchema(
            robotID: robotID, task: name, calibrationHash: calibrationHash,
            controlRateHz: 1 / controlPeriod,
            observation: [DatasetChannel(name: "cos_theta", unit: "1"), DatasetChannel(name: "sin_theta", unit: "1"),
                          DatasetChannel(name: "theta_dot", unit: "rad/s")],
            action: [DatasetChannel(name: "torque", unit: "1 (x \(parameters.maxTorque) N*m)")],
            rewardDefinition: "-(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2) * dt/0.05, u = action * max_torque",
            source: source)
    }
}
