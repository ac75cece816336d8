import Control

/// A servo that answered a scan.
public struct FoundServo: Sendable, Equatable, CustomStringConvertible {
    public var bus: ServoBusKind
    public var id: UInt8
    public var baudRate: Int
    public var modelNumber: UInt16
    /// The model's name if robotctl knows the number.
    public var modelName: String? { ServoModel.withNumber(modelNumber, bus: bus)?.name }
    public var description: String {
        "servo \(id) at \(baudRate) baud: \(modelName ?? "unknown model") (model number \(modelNumber))"
    }
}

/// Finding servos and giving them ids and baud rates (what `lerobot-setup-motors` does), for
/// `robotctl motors scan|setup`. Set-up only: opens and closes the port itself.
public enum ServoBusSetup {
    /// Opens `path` at `baud`. Pseudo-terminals through termios, real ports through libserialport.
    public typealias Opener = (_ path: String, _ baud: Int) throws -> any ByteTransport

    public static func defaultOpener(_ path: String, _ baud: Int) throws -> any ByteTransport {
        try openSerialTransport(path: path, baudRate: baud)
    }

    /// How long a ping waits at `baud`: both packets on the wire, the factory return delay
    /// (500 µs) and scheduling slack.
    static func pingTimeoutNanos(bus: ServoBusKind, baud: Int) -> UInt64 {
        let bytes = bus == .dynamixel ? 10 + 14 : 6 + 6 + 8 + 8  // Feetech also reads the model number
        return UInt64(bytes) * 10 * 1_000_000_000 / UInt64(baud) + 500_000 + 4_000_000
    }

    /// Pings every id in `ids` at every baud rate in `baudRates` (the bus's list by default)
    /// and returns the servos that answered.
    public static func scan(
        bus: ServoBusKind, devicePath: String, baudRates: [Int]? = nil, ids: ClosedRange<UInt8> = 1...20,
        open: Opener = defaultOpener
    ) throws -> [FoundServo] {
        var found: [FoundServo] = []
        for baud in baudRates ?? bus.baudRates.map(\.baud) {
            _ = try bus.checkedBaudRegisterValue(for: baud, device: devicePath)
            let client = ServoBusClient(
                bus: bus, transport: try open(devicePath, baud), replyTimeoutNanos: pingTimeoutNanos(bus: bus, baud: baud),
                attempts: 1)
            defer { client.transport.close() }
            for id in ids {
                if id == (bus == .dynamixel ? Dynamixel.broadcastID : Feetech.broadcastID) { continue }
                if let number = try client.ping(id, attempts: 2) {
                    found.append(FoundServo(bus: bus, id: id, baudRate: baud, modelNumber: number))
                }
            }
        }
        return found
    }

    /// Gives `servo` the id `newID` and the baud rate `newBaud`: torque off, (Feetech: EEPROM
    /// unlocked), id and baud rate written, then (Feetech: locked again) checked by a ping at
    /// the new id and baud rate. Returns the servo as it now answers.
    public static func assign(
        _ servo: FoundServo, devicePath: String, newID: UInt8, newBaud: Int, open: Opener = defaultOpener
    ) throws -> FoundServo {
        let bus = servo.bus
        let maxID: UInt8 = bus == .dynamixel ? 252 : 253
        guard newID <= maxID else {
            throw HardwareError(
                .invalidArgument, device: devicePath, problem: "id \(newID) is not a servo id",
                fix: "choose an id from 0 to \(maxID)")
        }
        let baudValue = try bus.checkedBaudRegisterValue(for: newBaud, device: devicePath)
        let model = ServoModel.withNumber(servo.modelNumber, bus: bus) ?? (bus == .dynamixel
            ? DynamixelControlTable.models[1] : FeetechMemoryTable.sts3215)
        let client = ServoBusClient(bus: bus, transport: try open(devicePath, servo.baudRate))
        defer { client.transport.close() }
        if newID != servo.id, try client.ping(newID, attempts: 2) != nil {
            throw HardwareError(
                .invalidArgument, device: devicePath, problem: "another servo already answers as id \(newID)",
                fix: "connect one servo at a time, or choose a free id (see `robotctl motors scan`)")
        }
        try client.write(servo.id, model.torqueEnable, 0, what: "torque enable")
        if let lock = model.eepromLock { try client.write(servo.id, lock, 0, what: "EEPROM lock") }
        var id = servo.id
        if newID != id {
            try client.write(id, model.id, Int64(newID), what: "id")
            id = newID
        }
        if newBaud != servo.baudRate {
            try client.write(id, model.baudRate, Int64(baudValue), what: "baud rate")
            try client.reopen { try open(devicePath, newBaud) }
        }
        guard let number = try client.ping(id, attempts: 5) else {
            throw HardwareError(
                .noResponse, device: devicePath,
                problem: "servo did not answer as id \(id) at \(newBaud) baud after the change",
                fix: "run `robotctl motors scan --bus \(bus.rawValue) --port \(devicePath)` to see where it is")
        }
        if let lock = model.eepromLock { try client.write(id, lock, 1, what: "EEPROM lock") }
        return FoundServo(bus: bus, id: id, baudRate: newBaud, modelNumber: number)
    }
}
