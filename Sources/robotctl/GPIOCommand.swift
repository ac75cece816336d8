import ArgumentParser
import Foundation
import Hardware

/// `robotctl gpio`: the GPIO chips and lines, to pick the e-stop, enable and LED lines.
struct GPIOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpio",
        abstract: "List GPIO chips and their lines (libgpiod 1.6).",
        discussion: """
            Shows each line's offset, name, direction and who holds it. With no GPIO chip \
            (a desktop machine, a container) it prints one line saying so and exits with \
            status 1.

            Example: robotctl gpio
            """
    )

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let chips: [GPIOChipInfo]
        do {
            chips = try GPIOChips.list()
        } catch let error as HardwareError {
            FileHandle.standardError.write(Data("robotctl gpio: \(error)\n".utf8))
            throw ExitCode.failure
        }
        if json {
            var out: [[String: Any]] = []
            for c in chips {
                out.append([
                    "path": c.path, "name": c.name, "label": c.label,
                    "lines": c.lines.map {
                        [
                            "offset": $0.offset, "name": $0.name, "consumer": $0.consumer,
                            "direction": $0.direction, "active_low": $0.activeLow, "used": $0.isUsed,
                        ] as [String: Any]
                    },
                ])
            }
            let data = try JSONSerialization.data(
                withJSONObject: out, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for c in chips {
            print("\(c.path) [\(c.label)] \(c.lines.count) lines")
            for l in c.lines {
                let name = l.name.isEmpty ? "unnamed" : "\"\(l.name)\""
                let holder =
                    l.isUsed ? "used by \(l.consumer.isEmpty ? "kernel" : "\"\(l.consumer)\"")" : "free"
                print(
                    "  line \(l.offset): \(name) \(l.direction)\(l.activeLow ? " active-low" : "") \(holder)")
            }
        }
    }
}
