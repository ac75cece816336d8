import Control
import Foundation

/// The robot configuration file every command reads with `--robot CONFIG` (the one parser,
/// through `RobotBringup`): where the motor controller is, how fast its link runs, optional
/// GPIO lines, and which calibration to use.
/// Schema: calibration/README.md, "Robot configuration files". Validated on load; errors name
/// the file and the field in one line (`CalibrationError`, like the calibration file's).
public struct RobotConfigFile: Sendable, Equatable {
    public static let schemaVersion = 1
    /// Highest `baud_rate` accepted (fits every serial API's 32-bit rate).
    public static let maximumBaudRate = 20_000_000
    /// Highest GPIO line offset accepted (libgpiod offsets are 32-bit; chips have far fewer).
    public static let maximumLineOffset = 65_535

    /// A GPIO line: chip (name like "gpiochip0" or a path) and offset, optionally active-low.
    public struct Line: Sendable, Equatable {
        public var chip: String
        public var offset: Int
        public var activeLow: Bool
    }

    /// Serial device of the motor controller, e.g. /dev/ttyACM0.
    public var serialPort: String
    /// Baud rate (ignored by USB CDC devices and pseudo-terminals).
    public var baudRate: Int
    /// Calibration file, resolved against the config file's directory when relative.
    public var calibration: String?
    /// E-stop input (asserted = stop), motor-driver enable output, status LED output.
    public var estop: Line?
    public var enable: Line?
    public var led: Line?

    /// Loads and validates `path`.
    public static func load(path: String) throws(CalibrationError) -> RobotConfigFile {
        func fail(_ field: String?, _ problem: String, _ fix: String = "see calibration/README.md, \"Robot configuration files\"") -> CalibrationError {
            CalibrationError(file: path, field: field, problem: problem, fix: fix)
        }
        let data = try RobotCalibration.readBounded(
            path: path, fix: "pass an existing robot configuration file (see calibration/README.md)")
        guard let parsed = try? JSONSerialization.jsonObject(with: data), let root = parsed as? [String: Any] else {
            throw fail(nil, "is not a JSON object")
        }
        func number(_ o: [String: Any], _ key: String, _ prefix: String = "") throws(CalibrationError) -> Double? {
            guard let v = o[key], !(v is NSNull) else { return nil }
            guard let n = v as? NSNumber, !"\(type(of: v))".contains("Boolean"), n.doubleValue.isFinite else {
                throw fail(prefix + key, "must be a number, found \(v)")
            }
            return n.doubleValue
        }
        func integer(_ o: [String: Any], _ key: String, _ prefix: String = "") throws(CalibrationError) -> Int? {
            guard let n = try number(o, key, prefix) else { return nil }
            guard n == n.rounded(), abs(n) < 1e12 else { throw fail(prefix + key, "is \(n), must be an integer") }
            return Int(n)
        }
        func string(_ o: [String: Any], _ key: String, _ prefix: String = "") throws(CalibrationError) -> String? {
            guard let v = o[key], !(v is NSNull) else { return nil }
            guard let s = v as? String, !s.isEmpty else { throw fail(prefix + key, "must be a non-empty string") }
            return s
        }
        let known: Set<String> = ["schema_version", "serial_port", "baud_rate", "calibration", "gpio"]
        if let unknown = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail(unknown, "is not a known field", "remove it or fix its spelling (fields: \(known.sorted().joined(separator: ", ")))")
        }
        guard let version = try integer(root, "schema_version") else { throw fail("schema_version", "is missing") }
        guard version == schemaVersion else {
            throw fail("schema_version", "is \(version), this robotctl reads version \(schemaVersion)")
        }
        guard let port = try string(root, "serial_port") else { throw fail("serial_port", "is missing", "set it to the motor controller's device, e.g. /dev/ttyACM0 (`robotctl ports` lists them)") }
        let baud = try integer(root, "baud_rate") ?? 1_000_000
        guard (1...Self.maximumBaudRate).contains(baud) else {
            throw fail("baud_rate", "is \(baud), must be in 1...\(Self.maximumBaudRate)", "use the motor controller's baud rate, e.g. 1000000")
        }
        var calibration = try string(root, "calibration")
        if let c = calibration, !c.hasPrefix("/") {
            let dir = (path as NSString).deletingLastPathComponent
            calibration = dir.isEmpty ? c : (dir as NSString).appendingPathComponent(c)
        }
        var config = RobotConfigFile(serialPort: port, baudRate: baud, calibration: calibration)
        if let g = root["gpio"], !(g is NSNull) {
            guard let gpio = g as? [String: Any] else { throw fail("gpio", "must be an object or null") }
            guard let chip = try string(gpio, "chip", "gpio.") else { throw fail("gpio.chip", "is missing", "name the chip, e.g. gpiochip0") }
            let lineKeys: Set<String> = ["chip", "estop_line", "enable_line", "led_line", "estop_active_low"]
            if let unknown = gpio.keys.sorted().first(where: { !lineKeys.contains($0) }) {
                throw fail("gpio." + unknown, "is not a known field", "fields: \(lineKeys.sorted().joined(separator: ", "))")
            }
            let activeLow = (gpio["estop_active_low"] as? Bool) ?? false
            func line(_ key: String, low: Bool) throws(CalibrationError) -> Line? {
                guard let o = try integer(gpio, key, "gpio.") else { return nil }
                guard (0...Self.maximumLineOffset).contains(o) else {
                    throw fail("gpio." + key, "is \(o), must be a line offset in 0...\(Self.maximumLineOffset)")
                }
                return Line(chip: chip, offset: o, activeLow: low)
            }
            config.estop = try line("estop_line", low: activeLow)
            config.enable = try line("enable_line", low: false)
            config.led = try line("led_line", low: false)
            if config.led != nil && config.enable == nil {
                throw fail("gpio.led_line", "is set without gpio.enable_line", "set the motor-driver enable line too")
            }
        }
        return config
    }
}
