import Foundation
import Testing

@testable import Hardware

/// Runs the robotctl binary next to the test bundle; returns (status, stdout, stderr).
private func robotctl(_ arguments: [String]) throws -> (Int32, String, String) {
    let dir = URL(fileURLWithPath: try EmulatorProcess.locateBesideExecutable(named: "robotctl"))
        .deletingLastPathComponent()
    let p = Process()
    p.executableURL = dir.appendingPathComponent("robotctl")
    p.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite("robotctl ports and gpio")
struct HardwareCommandTests {
    @Test("ports lists what libserialport enumerates and says pseudo-terminals are not listed")
    func ports() throws {
        let (status, out, _) = try robotctl(["ports"])
        #expect(status == 0)
        for p in try SerialPorts.list() { #expect(out.contains(p.path)) }
        #expect(
            out.hasSuffix(
                "Pseudo-terminals are not listed (libserialport cannot see them): use the path robot-emulator prints.\n"
            ))
        let (jsonStatus, json, _) = try robotctl(["ports", "--json"])
        #expect(jsonStatus == 0)
        let rows = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        #expect(rows?.count == (try SerialPorts.list()).count)
    }

    @Test(
        "gpio without a chip prints one line naming /dev/gpiochip* and exits 1",
        .enabled(if: GPIOChips.chipPaths().isEmpty))
    func gpioWithoutChip() throws {
        let (status, out, err) = try robotctl(["gpio"])
        #expect(status == 1 && out.isEmpty)
        #expect(
            err
                == "robotctl gpio: /dev/gpiochip*: no GPIO chip found; check that the board's GPIO driver is loaded (`ls /dev/gpiochip*` should list a chip); on a machine without GPIO, leave the e-stop, enable and LED lines unconfigured\n"
        )
    }

    @Test("bench link rejects a nonsense rate")
    func benchValidation() throws {
        let (status, _, err) = try robotctl(["bench", "link", "--rate", "0"])
        #expect(status != 0 && err.contains("--rate must be in [1, 2000] Hz"))
    }
}
