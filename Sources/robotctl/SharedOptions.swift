import ArgumentParser

/// Flags every robot-facing command shares (`run`, `teleop`, `calibrate`, `eval`, `train`).
struct SharedOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Robot configuration JSON (serial port, GPIO lines). Without it, the emulated robot is started.",
        valueName: "config.json"))
    var robot: String?

    @Option(help: ArgumentHelp(
        "Calibration file (encoder zero, limits, fitted simulator parameters).",
        valueName: "calibration.json"))
    var calibration: String?

    @Option(help: "How much to log: error, warning, info or debug.")
    var logLevel: LogLevel = .info

    @Option(help: "Seed for every random draw (network initialisation, sampling, simulator noise).")
    var seed: UInt64 = 1
}

/// Verbosity of a command's log lines on standard error.
enum LogLevel: String, ExpressibleByArgument, CaseIterable, Comparable {
    case error, warning, info, debug

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}
