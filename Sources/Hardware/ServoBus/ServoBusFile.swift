import Foundation

/// The `bus` section of a robot file for a servo robot (the older robot-config format; robot files use `link`, docs/buses/dynamixel.md
/// and docs/buses/feetech.md):
///
///     "bus": {
///       "type": "feetech", "port": "/dev/ttyACM0", "baud": 1000000,
///       "joints": [
///         {"name": "shoulder_pan", "id": 1, "model": "STS3215", "direction": 1, "zero_offset_counts": 2048},
///         ...
///       ]
///     }
///
/// Optional per joint: `direction` (1 or -1, default 1), `zero_offset_counts` (default 2048 on
/// Feetech, 0 on Dynamixel), `torque_constant_nm_per_a` (default 0: effort in A, no torque
/// mode). Optional on the bus: `fast_sync_read` (Dynamixel), `max_consecutive_failures`.
extension ServoBusConfiguration {
    /// Parses a `bus` object. Throws one line naming the file, the field and the fix.
    public init(busSection object: [String: Any], file: String) throws {
        func fail(_ field: String, _ problem: String, _ fix: String) -> HardwareError {
            HardwareError(.invalidArgument, device: file, problem: "\(field): \(problem)", fix: fix)
        }
        guard let typeText = object["type"] as? String else {
            throw fail("bus.type", "missing", "set \"type\" to \"dynamixel\" or \"feetech\"")
        }
        guard let bus = ServoBusKind(rawValue: typeText) else {
            throw fail("bus.type", "\"\(typeText)\" is not a servo bus", "use \"dynamixel\" or \"feetech\"")
        }
        guard let port = object["port"] as? String, !port.isEmpty else {
            throw fail("bus.port", "missing", "set \"port\" to the adapter's device (see `robotctl ports`)")
        }
        guard let list = object["joints"] as? [[String: Any]], !list.isEmpty else {
            throw fail("bus.joints", "missing or empty", "list the joints with their servo id and model")
        }
        var joints: [ServoJoint] = []
        for (i, j) in list.enumerated() {
            let at = "bus.joints[\(i)]"
            guard let name = j["name"] as? String, !name.isEmpty else { throw fail("\(at).name", "missing", "name the joint") }
            guard let id = j["id"] as? Int, (0...253).contains(id) else {
                throw fail("\(at).id", "missing or not 0...253", "give the servo's id (`robotctl motors scan` finds it)")
            }
            guard let modelName = j["model"] as? String else {
                throw fail("\(at).model", "missing", "give the servo model, e.g. \"\(bus == .dynamixel ? "XM430-W350" : "STS3215")\"")
            }
            guard let model = ServoModel.named(modelName), model.bus == bus else {
                let known = ServoModel.known.filter { $0.bus == bus }.map(\.name).joined(separator: ", ")
                throw fail("\(at).model", "\"\(modelName)\" is not a \(bus) model robotctl knows", "use one of \(known)")
            }
            let direction = j["direction"] as? Int ?? 1
            guard direction == 1 || direction == -1 else { throw fail("\(at).direction", "\(direction)", "use 1 or -1") }
            let zero = j["zero_offset_counts"] as? Int ?? (model.positionWraps ? Int(model.countsPerRevolution / 2) : 0)
            let kt = (j["torque_constant_nm_per_a"] as? NSNumber)?.floatValue ?? 0
            joints.append(
                ServoJoint(
                    name: name, id: UInt8(id), model: model, direction: Int8(direction),
                    zeroOffsetCounts: Int32(clamping: zero), torqueConstantNmPerAmp: kt))
        }
        self.init(bus: bus, devicePath: port, joints: joints)
        if let baud = object["baud"] as? Int {
            _ = try bus.checkedBaudRegisterValue(for: baud, device: file, field: "bus.baud")
            baudRate = baud
        }
        if let fast = object["fast_sync_read"] as? Bool { useFastSyncRead = fast }
        if let n = object["max_consecutive_failures"] as? Int, n >= 1 { maxConsecutiveFailures = n }
    }

    /// Reads the `bus` section of the robot file at `path`.
    public init(robotFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HardwareError(.noSuchDevice, device: path, problem: "cannot read the robot file", fix: "check the path")
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HardwareError(.invalidArgument, device: path, problem: "not a JSON object", fix: "check the file's syntax")
        }
        guard let bus = root["bus"] as? [String: Any] else {
            throw HardwareError(.invalidArgument, device: path, problem: "bus: missing", fix: "add a \"bus\" section")
        }
        try self.init(busSection: bus, file: path)
        if let id = root["id"] as? String { robotID = id }
    }
}
