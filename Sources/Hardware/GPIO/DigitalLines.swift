/// A digital input with edge detection, as the e-stop sees it.
///
/// Thread contract: any thread; both requirements are real-time safe: they do not
/// allocate, lock or throw.
public protocol DigitalInput: AnyObject, Sendable {
    /// Consumes the edges seen since the last call without blocking; returns how many.
    func drainEdges() -> Int
    /// The logical level: 1 asserted, 0 released, -1 when it cannot be read.
    func level() -> Int32
}

/// A digital output line.
///
/// Thread contract: one thread at a time; `drive` is real-time safe: it does not allocate,
/// lock or throw.
public protocol DigitalOutput: AnyObject {
    /// Drives the line to its logical `on`/off value; returns false if the write failed.
    func drive(_ on: Bool) -> Bool
}

// @unchecked: the handle is immutable after the request; each call is one ioctl or read on
// the line fd, which the kernel serialises.
extension GPIODLine: DigitalInput, DigitalOutput, @unchecked Sendable {
    func drainEdges() -> Int { drainEdges(limit: 16) }
    func level() -> Int32 { value() }
    func drive(_ on: Bool) -> Bool { setValue(on) == 0 }
}

/// Opens real GPIO lines through libgpiod. Set-up calls; errors name the chip and line.
public enum GPIOLines {
    /// Requests `address` as an input with both-edge events.
    public static func input(
        _ address: GPIOLineAddress, consumer: String = "robotctl"
    ) throws -> any DigitalInput {
        try GPIODLine.requestInput(address, consumer: consumer)
    }

    /// Requests `address` as an output, initially `initial`.
    public static func output(
        _ address: GPIOLineAddress, consumer: String = "robotctl", initial: Bool = false
    ) throws -> any DigitalOutput {
        try GPIODLine.requestOutput(address, consumer: consumer, initial: initial)
    }
}
