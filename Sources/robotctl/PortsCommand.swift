import ArgumentParser
import Foundation
import Hardware

/// `robotctl ports`: the serial ports libserialport finds, to pick the motor controller's.
struct PortsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ports",
        abstract: "List serial ports with their description and USB vendor/product id.",
        discussion: """
            Uses libserialport's enumeration. Pseudo-terminals (such as the emulated robot's \
            /dev/pts/N) are not listed: pass their path directly where a port is asked for.

            Example: robotctl ports --json
            """
    )

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let ports = try SerialPorts.list()
        if json {
            struct Row: Encodable {
                var path, description, transport: String
                var usbVendorID, usbProductID: String?
                var manufacturer, product, serialNumber: String?
            }
            let rows = ports.map {
                Row(
                    path: $0.path, description: $0.description, transport: $0.transport,
                    usbVendorID: $0.usbVendorID.map(hex4), usbProductID: $0.usbProductID.map(hex4),
                    manufacturer: $0.manufacturer, product: $0.product, serialNumber: $0.serialNumber)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print(PortsCommand.table(ports))
    }

    /// The human-readable listing, one port per line, and a note on pseudo-terminals.
    static func table(_ ports: [SerialPortInfo]) -> String {
        var lines: [String] = []
        if ports.isEmpty {
            lines.append(
                "No serial ports found. Plug in the motor controller (USB) and check `dmesg | tail`.")
        } else {
            let header = ["PORT", "TRANSPORT", "USB VID:PID", "DESCRIPTION"]
            var rows = [header]
            for p in ports {
                let usb = p.usbVendorID.map { "\(hex4($0)):\(hex4(p.usbProductID ?? 0))" } ?? "-"
                var description = p.description
                if let m = p.manufacturer, !description.contains(m) { description += " (\(m))" }
                if let s = p.serialNumber { description += " serial \(s)" }
                rows.append([p.path, p.transport, usb, description])
            }
            let widths = (0..<3).map { c in rows.map { $0[c].count }.max() ?? 0 }
            for r in rows {
                lines.append(
                    (0..<3).map { r[$0].padding(toLength: widths[$0] + 2, withPad: " ", startingAt: 0) }
                        .joined() + r[3])
            }
        }
        lines.append(
            "Pseudo-terminals are not listed (libserialport cannot see them): use the path robot-emulator prints."
        )
        return lines.joined(separator: "\n")
    }
}

private func hex4(_ v: UInt16) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}
