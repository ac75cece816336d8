/// The servo models a robot file's `link.models` may name, per bus. Tasks does not import
/// Hardware: this list mirrors Hardware's `ServoModel.known` (HardwareTests checks that the
/// two agree), and Hardware's `ServoLink` turns the names into control tables.
extension RobotSpec {
    public static let servoModels: [Bus: [String]] = [
        .dynamixel: ["XL430-W250", "XM430-W210", "XM430-W350", "XL330-M288", "XL330-M077"],
        .feetech: ["STS3215"],
    ]

    /// The canonical name of servo model `name` on `bus` (case-insensitive, "-" optional), or nil.
    public static func servoModel(named name: String, bus: Bus) -> String? {
        let key = name.lowercased().replacingOccurrences(of: "-", with: "")
        return servoModels[bus]?.first { $0.lowercased().replacingOccurrences(of: "-", with: "") == key }
    }

    /// `link.models`: one known model per joint on a servo bus (required there), absent for `firmware`.
    static func parseServoModels(_ l: inout SpecObject, bus: Bus, joints: Int) throws(SpecError) -> [String] {
        guard bus != .firmware else {
            if l.has("models") {
                throw l.fail("models", "the firmware bus has no servo models; remove \"models\"")
            }
            _ = l.raw("models")
            return []
        }
        guard l.has("models") else {
            throw l.fail(
                "models", "missing; give one servo model per joint, e.g. [\"\(servoModels[bus]![0])\"]")
        }
        let names = try l.strings("models")
        guard names.count == joints else {
            throw l.fail(
                "models",
                "has \(names.count) servo models for \(joints) joints; give one model per joint in joint order"
            )
        }
        var out: [String] = []
        for (i, n) in names.enumerated() {
            guard let m = servoModel(named: n, bus: bus) else {
                throw l.fail(
                    "models[\(i)]",
                    "'\(n)' is not a \(bus.rawValue) servo robotctl knows; use one of \(servoModels[bus]!.joined(separator: ", "))"
                )
            }
            out.append(m)
        }
        return out
    }
}
