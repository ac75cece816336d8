// Every libgpiod (1.6) call of the project lives in this file. The 2.x API differs: do not
// port calls piecemeal; keep them here.
internal import CGPIOD
import Glibc

/// One line of a GPIO chip as the kernel reports it.
public struct GPIOLineInfo: Sendable, Equatable {
    public var offset: Int
    /// The line's name from the device tree, or "" when unnamed.
    public var name: String
    /// Who holds the line, or "" when free.
    public var consumer: String
    /// "input" or "output".
    public var direction: String
    public var activeLow: Bool
    public var isUsed: Bool
}

/// One GPIO chip (/dev/gpiochipN).
public struct GPIOChipInfo: Sendable, Equatable {
    public var path: String
    public var name: String
    public var label: String
    public var lines: [GPIOLineInfo]
}

/// GPIO chip discovery and line requests through libgpiod 1.6.
public enum GPIOChips {
    /// The paths of the GPIO character devices under `directory`, sorted. Set-up call.
    public static func chipPaths(in directory: String = "/dev") -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var paths: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("gpiochip") { paths.append(directory + "/" + name) }
        }
        return paths.sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
    }

    /// Every chip with its lines. Throws `.noGPIOChip` when there is none. Set-up call.
    public static func list(in directory: String = "/dev") throws -> [GPIOChipInfo] {
        let paths = chipPaths(in: directory)
        guard !paths.isEmpty else { throw GPIOErrors.noChip(directory: directory) }
        return try paths.map { try describe(chipAt: $0) }
    }

    /// One chip with its lines. Set-up call.
    public static func describe(chipAt path: String) throws -> GPIOChipInfo {
        guard let chip = gpiod_chip_open(path) else {
            throw GPIOErrors.openingChip(path, errno: errno)
        }
        defer { gpiod_chip_close(chip) }
        var lines: [GPIOLineInfo] = []
        for offset in 0..<gpiod_chip_num_lines(chip) {
            guard let line = gpiod_chip_get_line(chip, offset) else { continue }
            lines.append(
                GPIOLineInfo(
                    offset: Int(offset), name: gpiod_line_name(line).map { String(cString: $0) } ?? "",
                    consumer: gpiod_line_consumer(line).map { String(cString: $0) } ?? "",
                    direction: gpiod_line_direction(line) == Int32(GPIOD_LINE_DIRECTION_OUTPUT)
                        ? "output" : "input",
                    activeLow: gpiod_line_active_state(line) == Int32(GPIOD_LINE_ACTIVE_STATE_LOW),
                    isUsed: gpiod_line_is_used(line)))
        }
        return GPIOChipInfo(
            path: path, name: String(cString: gpiod_chip_name(chip)),
            label: String(cString: gpiod_chip_label(chip)), lines: lines)
    }
}

/// Where a line is: a chip (path, name, label or number, as `gpiod_chip_open_lookup`
/// accepts) and an offset or a line name.
public struct GPIOLineAddress: Sendable, Equatable, CustomStringConvertible {
    public enum Line: Sendable, Equatable {
        case offset(Int)
        case name(String)
    }
    public var chip: String
    public var line: Line
    /// The line's logical value is the inverse of its electrical level.
    public var activeLow: Bool

    public init(chip: String, line: Line, activeLow: Bool = false) {
        self.chip = chip
        self.line = line
        self.activeLow = activeLow
    }

    public var description: String {
        switch line {
        case .offset(let o): "\(chip) line \(o)"
        case .name(let n): "\(chip) line \"\(n)\""
        }
    }
}

/// A requested GPIO line (input with edge events, or output). Owns the chip handle; the
/// line is released on `deinit`.
///
/// Thread contract: requested at set-up; afterwards the real-time methods are called from
/// one thread (the control thread) and do not allocate, lock or throw.
final class GPIODLine {
    private let chip: OpaquePointer
    private let line: OpaquePointer
    /// The edge-event fd (non-blocking) for inputs, -1 for outputs.
    private let eventFD: Int32
    let address: GPIOLineAddress

    private init(chip: OpaquePointer, line: OpaquePointer, eventFD: Int32, address: GPIOLineAddress) {
        self.chip = chip
        self.line = line
        self.eventFD = eventFD
        self.address = address
    }

    deinit {
        gpiod_line_release(line)
        gpiod_chip_close(chip)
    }

    /// Requests `address` as an input reporting both edges. Set-up call.
    static func requestInput(_ address: GPIOLineAddress, consumer: String) throws -> GPIODLine {
        let (chip, line) = try lookup(address)
        var config = gpiod_line_request_config()
        config.request_type = Int32(GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES)
        config.flags = address.activeLow ? Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) : 0
        let r = consumer.withCString { name -> Int32 in
            config.consumer = name
            return gpiod_line_request(line, &config, 0)
        }
        guard r == 0 else {
            let code = errno
            let holder = gpiod_line_consumer(line).map { String(cString: $0) } ?? ""
            gpiod_chip_close(chip)
            throw GPIOErrors.requestingLine(address, errno: code, consumer: holder)
        }
        let fd = gpiod_line_event_get_fd(line)
        guard fd >= 0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 else {
            let code = errno
            gpiod_line_release(line)
            gpiod_chip_close(chip)
            throw GPIOErrors.requestingLine(address, errno: code, consumer: "")
        }
        return GPIODLine(chip: chip, line: line, eventFD: fd, address: address)
    }

    /// Requests `address` as an output driven to `initial`. Set-up call.
    static func requestOutput(_ address: GPIOLineAddress, consumer: String, initial: Bool) throws -> GPIODLine
    {
        let (chip, line) = try lookup(address)
        var config = gpiod_line_request_config()
        config.request_type = Int32(GPIOD_LINE_REQUEST_DIRECTION_OUTPUT)
        config.flags = address.activeLow ? Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) : 0
        let r = consumer.withCString { name -> Int32 in
            config.consumer = name
            return gpiod_line_request(line, &config, initial ? 1 : 0)
        }
        guard r == 0 else {
            let code = errno
            let holder = gpiod_line_consumer(line).map { String(cString: $0) } ?? ""
            gpiod_chip_close(chip)
            throw GPIOErrors.requestingLine(address, errno: code, consumer: holder)
        }
        return GPIODLine(chip: chip, line: line, eventFD: -1, address: address)
    }

    private static func lookup(_ address: GPIOLineAddress) throws -> (OpaquePointer, OpaquePointer) {
        if GPIOChips.chipPaths().isEmpty { throw GPIOErrors.noChip(directory: "/dev") }
        guard let chip = gpiod_chip_open_lookup(address.chip) else {
            throw GPIOErrors.openingChip(address.chip, errno: errno)
        }
        let found: OpaquePointer?
        switch address.line {
        case .offset(let o):
            found =
                o >= 0 && UInt32(o) < gpiod_chip_num_lines(chip) ? gpiod_chip_get_line(chip, UInt32(o)) : nil
        case .name(let n):
            found = gpiod_chip_find_line(chip, n)
        }
        guard let line = found else {
            let count = Int(gpiod_chip_num_lines(chip))
            gpiod_chip_close(chip)
            throw GPIOErrors.noSuchLine(address, lineCount: count)
        }
        return (chip, line)
    }

    /// The line's logical value (active-low applied): 0, 1, or -1 on error.
    /// Real-time safe: does not allocate, lock or throw.
    func value() -> Int32 { gpiod_line_get_value(line) }

    /// Drives an output. Returns 0 or -1. Real-time safe: does not allocate, lock or throw.
    func setValue(_ on: Bool) -> Int32 { gpiod_line_set_value(line, on ? 1 : 0) }

    /// Reads and discards pending edge events without blocking; returns how many there
    /// were (at most `limit`). Real-time safe: does not allocate, lock or throw.
    func drainEdges(limit: Int = 16) -> Int {
        guard eventFD >= 0 else { return 0 }
        var event = gpiod_line_event()
        var count = 0
        while count < limit && gpiod_line_event_read_fd(eventFD, &event) == 0 { count += 1 }
        return count
    }
}

/// The GPIO errors a user can hit, each one line naming the device and what to do.
public enum GPIOErrors {
    static func noChip(directory: String) -> HardwareError {
        HardwareError(
            .noGPIOChip, device: "\(directory)/gpiochip*", problem: "no GPIO chip found",
            fix:
                "check that the board's GPIO driver is loaded (`ls /dev/gpiochip*` should list a chip); on a machine without GPIO, leave the e-stop, enable and LED lines unconfigured"
        )
    }

    /// Maps an errno from opening a chip.
    public static func openingChip(_ chip: String, errno code: Int32) -> HardwareError {
        switch code {
        case ENOENT:
            return HardwareError(
                .noGPIOChip, device: chip, problem: "no such GPIO chip",
                fix: "run `robotctl gpio` to list the chips that exist", errno: code)
        case EACCES, EPERM:
            return HardwareError(
                .permissionDenied, device: chip, problem: "permission denied",
                fix: "add your user to the gpio group (`sudo usermod -aG gpio $USER`) and log in again",
                errno: code)
        case ENODEV, ENOTTY:
            return HardwareError(
                .noGPIOChip, device: chip, problem: "not a GPIO character device",
                fix: "name a chip such as /dev/gpiochip0 (see `robotctl gpio`)", errno: code)
        default:
            return HardwareError(
                .ioFailure, device: chip, problem: "cannot open GPIO chip: \(errnoText(code))",
                fix: "run `robotctl gpio` and check `dmesg`", errno: code)
        }
    }

    /// Maps an errno from requesting a line; `consumer` is who holds it, if known.
    public static func requestingLine(
        _ address: GPIOLineAddress, errno code: Int32, consumer: String
    ) -> HardwareError {
        switch code {
        case EBUSY:
            let holder = consumer.isEmpty ? "another program" : "\"\(consumer)\""
            return HardwareError(
                .lineBusy, device: address.description, problem: "line is busy (held by \(holder))",
                fix: "stop the program holding it (`gpioinfo` shows the consumer) or choose another line",
                errno: code)
        case EACCES, EPERM:
            return HardwareError(
                .permissionDenied, device: address.description, problem: "permission denied",
                fix: "add your user to the gpio group (`sudo usermod -aG gpio $USER`) and log in again",
                errno: code)
        default:
            return HardwareError(
                .ioFailure, device: address.description, problem: "cannot request line: \(errnoText(code))",
                fix: "check the line with `robotctl gpio`", errno: code)
        }
    }

    static func noSuchLine(_ address: GPIOLineAddress, lineCount: Int) -> HardwareError {
        HardwareError(
            .noSuchLine, device: address.description,
            problem: "no such line (the chip has \(lineCount) lines)",
            fix: "pick an offset below \(lineCount) or a name listed by `robotctl gpio`")
    }
}
