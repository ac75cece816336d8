import Foundation

/// Log lines, live status lines and progress bars on standard error. Standard output is kept
/// for results (JSON, tables), so `robotctl ... --json > out.json` stays clean.
///
/// Thread contract: main thread (or one thread at a time); never called from the control
/// thread.
final class Console: @unchecked Sendable {
    static let shared = Console()

    var level: LogLevel = .info
    /// True when standard error is a terminal: status lines redraw in place. Otherwise each
    /// status update is a new line, printed at most every `plainInterval` seconds.
    let interactive = isatty(STDERR_FILENO) == 1
    var plainInterval: Double = 5
    private var statusShown = false
    private var lastPlain = Date.distantPast

    func log(_ level: LogLevel, _ message: String) {
        guard level <= self.level else { return }
        clearStatus()
        let prefix = level == .info ? "" : "\(level.rawValue): "
        FileHandle.standardError.write(Data((prefix + message + "\n").utf8))
    }

    /// Shows `text` as the one-line live status (replacing the previous one).
    func status(_ text: String) {
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            statusShown = true
        } else if Date().timeIntervalSince(lastPlain) >= plainInterval {
            lastPlain = Date()
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Removes the live status line so that the next output starts on a clean line.
    func clearStatus() {
        if statusShown {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            statusShown = false
        }
    }
}

/// A progress bar for long operations: `label [#####.....] 52% 520/1000 eta 12s`.
struct ProgressBar {
    let label: String
    let total: Int
    private let start = Date()

    init(label: String, total: Int) {
        self.label = label
        self.total = max(1, total)
    }

    /// Redraws the bar for `done` units finished, with an extra note (e.g. a loss).
    func update(_ done: Int, note: String = "") {
        let fraction = min(1, Double(done) / Double(total))
        let width = 24
        let filled = Int(fraction * Double(width))
        let elapsed = Date().timeIntervalSince(start)
        let eta = fraction > 0 ? elapsed / fraction - elapsed : .nan
        let etaText = eta.isFinite ? " eta \(formatDuration(eta))" : ""
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        Console.shared.status("\(label) [\(bar)] \(Int(fraction * 100))% \(done)/\(total)\(etaText)\(note.isEmpty ? "" : " " + note)")
    }

    func finish(_ message: String) {
        Console.shared.clearStatus()
        Console.shared.log(.info, "\(label): \(message) in \(formatDuration(Date().timeIntervalSince(start)))")
    }
}

/// "1h02m", "3m05s", "12s", "0.4s".
func formatDuration(_ seconds: Double) -> String {
    if seconds < 10 { return String(format: "%.1fs", seconds) }
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}
