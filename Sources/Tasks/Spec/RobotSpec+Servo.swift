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

    /// `link.models` by their canonical names (empty when the file names none: the bring-up
    /// then uses the bus's default model).
    public var canonicalServoModels: [String] {
        link.servoModels.map { RobotSpec.servoModel(named: $0, bus: link.bus) ?? $0 }
    }

    /// Every name in `link.models` is a model of the link's bus: one line naming the file,
    /// `link.models[i]` and the known models otherwise.
    func checkServoModels() throws(SpecError) {
        for (i, n) in link.servoModels.enumerated() where RobotSpec.servoModel(named: n, bus: link.bus) == nil {
            let known = RobotSpec.servoModels[link.bus]?.joined(separator: ", ") ?? ""
            throw SpecError(
                file: source, field: "link.models[\(i)]",
                problem: "'\(n)' is not a \(link.bus.rawValue) servo robotctl knows; use one of \(known)")
        }
    }
}
