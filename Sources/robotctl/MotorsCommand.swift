import ArgumentParser
import Foundation
import Hardware

/// `robotctl motors`: find Dynamixel or Feetech servos on a bus and give them ids and baud rates.
struct MotorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "motors",
        abstract: "Find servos on a Dynamixel or Feetech bus and set their ids and baud rates.",
        discussion: """
            `scan` pings every id at every baud rate of the bus; `setup` gives one servo a new \
            id and baud rate (like lerobot-setup-motors: connect the servos one at a time). \
            docs/buses/dynamixel.md and docs/buses/feetech.md walk through a first bring-up.

            Example: robotctl motors scan --bus feetech --port /dev/ttyACM0
            """,
        subcommands: [MotorsScanCommand.self, MotorsSetupCommand.self]
    )
}

/// Options every `motors` subcommand takes.
struct ServoBusOptions: ParsableArguments {
    @Option(help: "The bus protocol: dynamixel or feetech.")
    var bus: ServoBusKind

    @Option(help: "The serial port of the bus adapter (see `robotctl ports`) or an emulator's pty.")
    var port: String
}

extension ServoBusKind: ExpressibleByArgument {}

/// Parses "1-20", "7" or "1,3,5".
private func parseIDs(_ text: String) throws -> [UInt8] {
    var ids: [UInt8] = []
    for part in text.split(separator: ",") {
        let ends = part.split(separator: "-").map { UInt8($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(ends.count), let lo = ends.first!, let hi = ends.last!, lo <= hi, hi <= 253 else {
            throw ValidationError("--ids \(text): expected ids 0...253 such as 1-20, 7 or 1,3,5")
        }
        ids += Array(lo...hi)
    }
    return ids
}

struct MotorsScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "List the servos that answer a ping, with their id, baud rate and model.",
        discussion: """
            Tries each baud rate the bus's servos support (or those given with --baud) and \
            pings each id of --ids. A full scan of ids 0-252 at low baud rates takes a while.

            Example: robotctl motors scan --bus dynamixel --port /dev/ttyUSB0 --baud 57600 --baud 1000000
            """
    )

    @OptionGroup var options: ServoBusOptions

    @Option(help: "A baud rate to try (repeatable; default: every rate the bus supports).")
    var baud: [Int] = []

    @Option(help: "The ids to ping: a range, a list or both, e.g. 1-20 or 1,2,10-12.")
    var ids: String = "1-20"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let ids = try parseIDs(self.ids)
        var found: [FoundServo] = []
        do {
            for range in contiguousRanges(ids) {
                found += try ServoBusSetup.scan(
                    bus: options.bus, devicePath: options.port, baudRates: baud.isEmpty ? nil : baud, ids: range)
            }
        } catch let error as HardwareError {
            FileHandle.standardError.write(Data("robotctl motors scan: \(error)\n".utf8))
            throw ExitCode.failure
        }
        found.sort { ($0.baudRate, $0.id) < ($1.baudRate, $1.id) }
        if json {
            let rows = found.map {
                ["bus": $0.bus.rawValue, "id": Int($0.id), "baud": $0.baudRate, "model_number": Int($0.modelNumber),
                 "model": $0.modelName ?? "unknown"] as [String: Any]
            }
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if found.isEmpty {
            print(
                "No \(options.bus) servo answered on \(options.port) (ids \(self.ids)). Check the power supply, the adapter and the wiring (docs/buses/\(options.bus.rawValue).md)."
            )
            return
        }
        print("ID   BAUD      MODEL")
        for f in found {
            let model = f.modelName.map { "\($0) (\(f.modelNumber))" } ?? "unknown model \(f.modelNumber)"
            print(String(f.id).padding(toLength: 5, withPad: " ", startingAt: 0)
                + String(f.baudRate).padding(toLength: 10, withPad: " ", startingAt: 0) + model)
        }
    }

    private func contiguousRanges(_ ids: [UInt8]) -> [ClosedRange<UInt8>] {
        var out: [ClosedRange<UInt8>] = []
        for id in Set(ids).sorted() {
            if let last = out.last, last.upperBound &+ 1 == id {
                out[out.count - 1] = last.lowerBound...id
            } else {
                out.append(id...id)
            }
        }
        return out
    }
}

struct MotorsSetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Give one servo a new id and baud rate.",
        discussion: """
            Connect only the servo to set up (a new servo has the factory id 1). Without --id \
            ids 1-30 are scanned and exactly one servo must answer. The servo's torque is turned \
            off; on Feetech its EEPROM is unlocked for the change and locked again after.

            Example: robotctl motors setup --bus feetech --port /dev/ttyACM0 --new-id 3 --new-baud 1000000
            """
    )

    @OptionGroup var options: ServoBusOptions

    @Option(help: "The servo's present id (default: scan ids 1-30 for the only servo on the bus).")
    var id: UInt8?

    @Option(help: "The servo's present baud rate (default: scan every rate).")
    var baud: Int?

    @Option(name: .customLong("new-id"), help: "The id to give it.")
    var newID: UInt8

    @Option(name: .customLong("new-baud"), help: "The baud rate to give it (default 1000000).")
    var newBaud: Int = 1_000_000

    func run() throws {
        do {
            let ids: ClosedRange<UInt8> = id.map { $0...$0 } ?? 1...30
            let found = try ServoBusSetup.scan(
                bus: options.bus, devicePath: options.port, baudRates: baud.map { [$0] }, ids: ids)
            guard found.count == 1, let servo = found.first else {
                let what =
                    found.isEmpty
                    ? "no servo answered" : "\(found.count) servos answered (\(found.map(\.description).joined(separator: "; ")))"
                FileHandle.standardError.write(
                    Data(
                        "robotctl motors setup: \(options.port): \(what); connect exactly one servo (or pass --id and --baud)\n"
                            .utf8))
                throw ExitCode.failure
            }
            let now = try ServoBusSetup.assign(servo, devicePath: options.port, newID: newID, newBaud: newBaud)
            print("\(servo) is now servo \(now.id) at \(now.baudRate) baud")
        } catch let error as HardwareError {
            FileHandle.standardError.write(Data("robotctl motors setup: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
