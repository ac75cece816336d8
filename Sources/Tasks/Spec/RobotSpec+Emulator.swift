import Control

/// A robot file as the emulated robot: the firmware-proto plant's `chain` kind with this
/// robot's links, friction, actuators and encoders, and the calibration that the emulated
/// firmware's encoders match. The emulator adds what the robot file does not describe (each
/// motor's winding, back-EMF and rotor inertia, sensor noise, the plant's own latency line),
/// so the emulated robot is richer than the onboard simulator built from the same file.
///
/// Set-up only.
extension RobotSpec {
    /// The plant parameters (names of firmware-proto/plant/include/plant.h) that make the
    /// emulator's chain this robot. `controlRateHz`: the loop rate, to turn the file's
    /// latency (control ticks) into plant ticks at the firmware rate.
    public func plantParameters(controlRateHz: Int = 200) -> [(name: String, value: Double)] {
        var p: [(String, Double)] = [
            ("joints", Double(joints.count)), ("gravity", gravity),
            ("latency_ticks", Double(sensing.latencyTicks * max(1, sensing.firmwareRateHz / max(1, controlRateHz)))),
        ]
        for (i, j) in joints.enumerated() {
            let b = j.body
            var fields: [(String, Double)] = [
                ("type", b.kind == .prismatic ? 1 : 0), ("offset", b.offset), ("length", b.length), ("com", b.com),
                ("mass", b.mass), ("inertia", b.inertia), ("viscous", b.viscous), ("coulomb", b.coulomb),
                ("counts_per_rev", j.encoderCountsPerUnit), ("actuated", j.actuator == nil ? 0 : 1),
            ]
            if let a = j.actuator {
                fields += [("max_effort", a.effortLimit), ("gain", a.gain)]
            }
            if let limits = j.positionLimits, limits.lowerBound == -limits.upperBound, limits.upperBound > 0 {
                // The plant's end stops are symmetric (±stop); an asymmetric range is left to the
                // safety layer's position limits.
                fields.append(("stop", limits.upperBound))
            }
            p += fields.map { ("j\(i).\($0.0)", $0.1) }
        }
        return p
    }

    /// `robot-emulator` arguments for this robot: `--task chain`, the firmware rate, and every
    /// plant parameter, then `overrides` (later values win, as the emulator applies them in order).
    public func emulatorArguments(controlRateHz: Int = 200, overriding overrides: [(name: String, value: Double)] = []) -> [String] {
        var args = ["--task", "chain", "--rate", "\(sensing.firmwareRateHz)"]
        for (name, value) in plantParameters(controlRateHz: controlRateHz) + overrides {
            args += ["--param", "\(name)=\(value)"]
        }
        return args
    }

    /// The calibration of this robot's emulated version: the plant's encoders count from 0 at
    /// the file's zero in the positive direction, so offsets are 0 and directions +1; limits
    /// from the file. Passive joints get the smallest torque limit the schema accepts (the
    /// firmware ignores their commands). A prismatic joint's `counts_per_m` is stored as
    /// counts per 2π m, so `JointCalibration.radiansPerCount` reads metres per count.
    public func emulatedCalibration(controlRateHz: Int, task: String) -> RobotCalibration {
        let cal = joints.map { j -> JointCalibration in
            let perRev = j.body.kind == .revolute ? j.encoderCountsPerUnit : j.encoderCountsPerUnit * 2 * Double.pi
            let effort = j.actuator?.effortLimit ?? 1e-3
            return JointCalibration(
                name: j.name, encoderCountsPerRevolution: Int(perRev.rounded()),
                positionMin: j.positionLimits?.lowerBound, positionMax: j.positionLimits?.upperBound,
                velocityLimit: j.velocityLimit, torqueLimit: effort,
                torqueRateLimit: j.actuator?.rateLimit ?? effort * 1000)
        }
        return RobotCalibration(robotID: id, task: task, controlRateHz: Double(controlRateHz), joints: cal)
    }
}

extension RobotSpec {
    /// The emulated robot's reality gap: the file's `emulator.params`, then `overrides`
    /// (`--emulator-param`) by name.
    public func emulatorGap(overriding overrides: [(name: String, value: Double)] = []) -> [(name: String, value: Double)] {
        var result = emulatorParameters.map { (name: $0.name, value: $0.value) }
        for o in overrides {
            if let i = result.firstIndex(where: { $0.name == o.name }) { result[i] = o } else { result.append(o) }
        }
        return result
    }
}
