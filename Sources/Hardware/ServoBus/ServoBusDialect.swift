import Control

/// The protocol-specific part of a servo bus, behind which `ServoBusRobot` is one type for
/// both buses: packet encoding, the incremental receiver, the address width of Read/Write/Sync
/// parameters and the meaning of a status packet's error byte. Instruction codes (Ping 0x01,
/// Read 0x02, Write 0x03, Sync Read 0x82, Sync Write 0x83) are the same on both buses.
///
/// Thread contract: one thread at a time; every method is real-time safe (no allocation,
/// lock or throw) except `errorText`, a set-up helper.
protocol ServoBusDialect: AnyObject {
    var kind: ServoBusKind { get }
    /// Bytes of a register address and of a length in Read/Write/Sync parameters.
    var addressWidth: Int { get }
    /// Bytes a packet adds around its instruction parameters (or status data), the
    /// instruction (or status marker and error) included.
    var instructionOverhead: Int { get }
    var statusOverhead: Int { get }
    /// Encodes an instruction packet; returns its length (0: does not fit).
    func encode(
        id: UInt8, instruction: UInt8, parameters: UnsafeRawBufferPointer,
        into out: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int
    func append(_ bytes: UnsafeRawBufferPointer)
    /// The next status packet in the received bytes (`.packet` only for status packets;
    /// other valid packets, e.g. an instruction echo, are skipped).
    func nextStatus() -> ServoReceiveEvent
    var statusID: UInt8 { get }
    var statusError: UInt8 { get }
    /// The status packet's data (after the error byte).
    var statusData: UnsafeRawBufferPointer { get }
    /// The status packet from its error byte on (Dynamixel Fast Sync Read entries start there).
    var statusBody: UnsafeRawBufferPointer { get }
    func resetReceiver()
    var receiverCounters: ServoReceiverCounters { get }
    /// True if a status error byte means a servo hardware fault (the motor is or will be off).
    func isHardwareFault(_ error: UInt8) -> Bool
    /// One phrase for a status error byte, e.g. "overload". Set-up helper (allocates).
    func errorText(_ error: UInt8) -> String
}

/// DYNAMIXEL Protocol 2.0 (see `Dynamixel`).
final class DynamixelDialect: ServoBusDialect {
    let receiver: DynamixelReceiver
    init(maximumPacketLength: Int) {
        receiver = DynamixelReceiver(capacity: max(1024, 4 * maximumPacketLength), maximumPacketLength: maximumPacketLength)
        _ = Dynamixel.crcTable
    }
    var kind: ServoBusKind { .dynamixel }
    var addressWidth: Int { 2 }
    var instructionOverhead: Int { Dynamixel.overheadBytes + 1 }
    var statusOverhead: Int { Dynamixel.overheadBytes + 2 }

    func encode(
        id: UInt8, instruction: UInt8, parameters: UnsafeRawBufferPointer,
        into out: UnsafeMutablePointer<UInt8>, capacity: Int
    ) -> Int {
        Dynamixel.encodeInstruction(id: id, instruction, parameters: parameters, into: out, capacity: capacity)
    }
    func append(_ bytes: UnsafeRawBufferPointer) { receiver.append(bytes) }
    func nextStatus() -> ServoReceiveEvent {
        while true {
            let e = receiver.next()
            guard e == .packet else { return e }
            if receiver.code == Dynamixel.Instruction.status.rawValue && receiver.parameterCount >= 1 { return .packet }
        }
    }
    var statusID: UInt8 { receiver.id }
    var statusError: UInt8 { receiver.parameters[0] }
    var statusData: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: receiver.parameters[1...]) }
    var statusBody: UnsafeRawBufferPointer { receiver.parameters }
    func resetReceiver() { receiver.reset() }
    var receiverCounters: ServoReceiverCounters { receiver.counters }
    func isHardwareFault(_ error: UInt8) -> Bool { error & Dynamixel.alertBit != 0 }
    func errorText(_ error: UInt8) -> String {
        var parts: [String] = []
        if error & Dynamixel.alertBit != 0 { parts.append("hardware error (alert)") }
        let n = error & 0x7F
        if n != 0 { parts.append(Dynamixel.ErrorNumber(rawValue: n)?.description ?? "error \(n)") }
        return parts.isEmpty ? "no error" : parts.joined(separator: ", ")
    }

    /// One phrase for a Hardware Error Status value (address 70). Set-up helper.
    static func hardwareErrorText(_ bits: UInt8) -> String {
        typealias H = DynamixelControlTable.HardwareError
        let names: [(UInt8, String)] = [
            (H.inputVoltage, "input voltage error"), (H.overheating, "overheating"),
            (H.motorEncoder, "motor encoder error"), (H.electricalShock, "electrical shock"),
            (H.overload, "overload"),
        ]
        let set = names.filter { bits & $0.0 != 0 }.map(\.1)
        return set.isEmpty ? "hardware error 0x\(String(bits, radix: 16))" : set.joined(separator: ", ")
    }
}

/// Feetech STS/SCS (see `Feetech`).
final class FeetechDialect: ServoBusDialect {
    let receiver: FeetechReceiver
    init(maximumPacketLength: Int) {
        receiver = FeetechReceiver(capacity: max(1024, 4 * maximumPacketLength), maximumPacketLength: maximumPacketLength)
    }
    var kind: ServoBusKind { .feetech }
    var addressWidth: Int { 1 }
    var instructionOverhead: Int { Feetech.overheadBytes }
    var statusOverhead: Int { Feetech.overheadBytes }

    func encode(
        id: UInt8, instruction: UInt8, parameters: UnsafeRawBufferPointer,
        into out: UnsafeMutablePointer<UInt8>, capacity: Int
    ) -> Int {
        Feetech.encode(id: id, code: instruction, parameters: parameters, into: out, capacity: capacity)
    }
    func append(_ bytes: UnsafeRawBufferPointer) { receiver.append(bytes) }
    func nextStatus() -> ServoReceiveEvent { receiver.next() }
    var statusID: UInt8 { receiver.id }
    var statusError: UInt8 { receiver.code }
    var statusData: UnsafeRawBufferPointer { receiver.parameters }
    var statusBody: UnsafeRawBufferPointer { receiver.parameters }
    func resetReceiver() { receiver.reset() }
    var receiverCounters: ServoReceiverCounters { receiver.counters }
    func isHardwareFault(_ error: UInt8) -> Bool { error != 0 }
    func errorText(_ error: UInt8) -> String {
        typealias S = FeetechMemoryTable.StatusBit
        let names: [(UInt8, String)] = [
            (S.voltage, "voltage error"), (S.sensor, "sensor error"), (S.temperature, "overheating"),
            (S.current, "overcurrent"), (S.angle, "angle error"), (S.overload, "overload"),
        ]
        let set = names.filter { error & $0.0 != 0 }.map(\.1)
        return set.isEmpty ? (error == 0 ? "no error" : "error 0x\(String(error, radix: 16))") : set.joined(separator: ", ")
    }
}
