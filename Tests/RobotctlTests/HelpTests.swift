import Foundation
import Testing
import TestSupport

/// Subcommand names listed in the SUBCOMMANDS section of a `--help` page.
private func subcommands(inHelp help: String) -> [String] {
    guard let section = help.range(of: "SUBCOMMANDS:") else { return [] }
    var names: [String] = []
    for line in help[section.upperBound...].split(separator: "\n") {
        if !line.hasPrefix(" ") { break }  // next section
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.split(separator: " ").first, !first.hasPrefix("See"), !first.hasPrefix("-") else {
            continue
        }
        // Continuation lines of a long abstract are indented further than names.
        if line.hasPrefix("      ") && !line.hasPrefix("  \(first)") { continue }
        names.append(String(first))
    }
    return names
}

/// Every command path reachable from the root, found by walking `--help` pages.
private func allCommandPaths(_ robotctl: String) throws -> [[String]] {
    var paths: [[String]] = [[]]
    var queue: [[String]] = [[]]
    while let path = queue.popLast() {
        let help = try runProcess(robotctl, path + ["--help"])
        for name in subcommands(inHelp: help.stdout) where name != "help" {
            paths.append(path + [name])
            queue.append(path + [name])
        }
    }
    return paths
}

@Test("every command's --help exits 0 and gives an abstract and an example")
func everyCommandHasHelpWithAnExample() throws {
    let robotctl = builtProduct("robotctl")
    let paths = try allCommandPaths(robotctl)
    #expect(paths.count >= 3, "expected the root and at least two subcommands, found \(paths)")
    for path in paths {
        let result = try runProcess(robotctl, path + ["--help"])
        let name = (["robotctl"] + path).joined(separator: " ")
        #expect(result.status == 0, "\(name) --help exited \(result.status)")
        #expect(result.stdout.contains("OVERVIEW:"), "\(name) --help has no abstract")
        #expect(result.stdout.contains("Example"), "\(name) --help gives no example")
    }
}

@Test("an unknown subcommand or option exits non-zero with a one-line reason")
func unknownCommand() throws {
    let robotctl = builtProduct("robotctl")
    let result = try runProcess(robotctl, ["no-such-command"])
    #expect(result.status != 0)
    #expect(result.stderr.contains("no-such-command"))
}

@Test("report on a missing directory names it and exits non-zero without writing anything")
func reportMissingDirectory() throws {
    let robotctl = builtProduct("robotctl")
    let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-run-\(UUID().uuidString)").path
    let result = try runProcess(robotctl, ["report", missing])
    #expect(result.status != 0)
    let errorLines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
    #expect(errorLines.count == 1)
    #expect(errorLines.first?.contains(missing) == true)
    #expect(!FileManager.default.fileExists(atPath: missing))
}
