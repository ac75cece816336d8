import Control
import Synchronization

/// An e-stop button on a digital input, latched in software.
///
/// It triggers on the asserted level and on *any* edge seen since the last poll, so a press
/// shorter than one tick (a press and a release between two polls) still stops the robot,
/// whatever the line's polarity. A line that cannot be read counts as pressed (fail safe).
///
/// Thread contract: `isTriggered()` is polled by the control thread (real-time safe);
/// `acknowledge()` is a set-up call from any thread. The latch is an atomic.
public final class GPIOEmergencyStop: EmergencyStopInput, Sendable {
    private let input: any DigitalInput
    private let latched = Atomic<Bool>(false)
    private let triggers = Atomic<Int>(0)
    private let readErrors = Atomic<Int>(0)

    /// Watches `input` (a libgpiod line from `GPIOLines.input` or an in-memory fake).
    public init(input: any DigitalInput) {
        self.input = input
    }

    /// Requests the e-stop line through libgpiod. Set-up call; throws a one-line error
    /// naming the chip and line (no chip, busy line, permission).
    public convenience init(line: GPIOLineAddress, consumer: String = "robotctl-estop") throws {
        self.init(input: try GPIOLines.input(line, consumer: consumer))
    }

    /// How many times the latch went from clear to set.
    public var triggerCount: Int { triggers.load(ordering: .relaxed) }
    /// How many polls could not read the line (each counted as pressed).
    public var readErrorCount: Int { readErrors.load(ordering: .relaxed) }

    /// Real-time safe: does not allocate, lock or throw.
    public func isTriggered() -> Bool {
        let edges = input.drainEdges()
        let level = input.level()
        if level < 0 { readErrors.add(1, ordering: .relaxed) }
        if edges > 0 || level != 0 {
            if !latched.exchange(true, ordering: .acquiringAndReleasing) {
                triggers.add(1, ordering: .relaxed)
            }
            return true
        }
        return latched.load(ordering: .acquiring)
    }

    /// Clears the latch if the input is released now; returns false (latch kept) if it is
    /// still asserted or unreadable.
    public func acknowledge() -> Bool {
        _ = input.drainEdges()
        guard input.level() == 0 else {
            latched.store(true, ordering: .releasing)
            return false
        }
        latched.store(false, ordering: .releasing)
        return true
    }
}
