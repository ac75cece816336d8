import Control

/// The motor-driver enable line and the status LED on digital outputs.
///
/// A line is written only when its value changes, so a steady state costs no syscall per
/// tick. A failed write is counted and retried on the next call. Enable is driven off at
/// creation and on `deinit`.
///
/// Thread contract: set-up on any thread, then used from the control thread only.
public final class GPIOStatusOutputs: StatusOutputs {
    private let enable: any DigitalOutput
    private let led: (any DigitalOutput)?
    private var enableState: Bool?
    private var ledState: Bool?
    /// Writes that failed (the value is retried on the next call).
    public private(set) var writeErrorCount = 0

    /// Drives `enable` and, if given, `led` (libgpiod lines or in-memory fakes).
    public init(enable: any DigitalOutput, led: (any DigitalOutput)?) {
        self.enable = enable
        self.led = led
        setMotorEnable(false)
        setStatusLED(false)
    }

    /// Requests the lines through libgpiod. Set-up call; throws a one-line error naming the
    /// chip and line.
    public convenience init(enable: GPIOLineAddress, led: GPIOLineAddress?) throws {
        let enableLine = try GPIOLines.output(enable, consumer: "robotctl-enable", initial: false)
        let ledLine = try led.map { try GPIOLines.output($0, consumer: "robotctl-led", initial: false) }
        self.init(enable: enableLine, led: ledLine)
    }

    deinit { _ = enable.drive(false) }

    /// Real-time safe: does not allocate, lock or throw.
    public func setMotorEnable(_ enabled: Bool) {
        guard enableState != enabled else { return }
        if enable.drive(enabled) { enableState = enabled } else { writeErrorCount &+= 1 }
    }

    /// Real-time safe: does not allocate, lock or throw.
    public func setStatusLED(_ on: Bool) {
        guard let led, ledState != on else { return }
        if led.drive(on) { ledState = on } else { writeErrorCount &+= 1 }
    }
}
