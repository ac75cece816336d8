import Synchronization

/// An e-stop pressed in software (the live view's button, a supervisor): `trigger()` from any
/// thread latches it; the loop sees it through `EmergencyStopInput` like the GPIO e-stop and
/// stops the motors through the safety layer. Acknowledging clears it (the loop's restart
/// policy decides when).
///
/// Thread contract: `trigger` from any thread; `isTriggered`/`acknowledge` on the control
/// thread, real-time safe (one atomic load or exchange).
public final class SoftwareEmergencyStop: EmergencyStopInput, Sendable {
    private let latched = Atomic<Bool>(false)
    private let presses = Atomic<Int>(0)

    public init() {}

    /// Latches the stop. Any thread.
    public func trigger() {
        presses.add(1, ordering: .relaxed)
        latched.store(true, ordering: .releasing)
    }

    /// Times `trigger` was called.
    public var pressCount: Int { presses.load(ordering: .relaxed) }

    public func isTriggered() -> Bool { latched.load(ordering: .acquiring) }

    public func acknowledge() -> Bool {
        latched.store(false, ordering: .releasing)
        return true
    }
}

/// Several e-stop inputs as one: triggered when any is; acknowledged only when every one
/// accepts (a still-asserted GPIO line keeps the stop latched).
///
/// Thread contract: as `EmergencyStopInput`; the list is fixed at `init`, so the control
/// thread only iterates it (no allocation, no lock).
public final class EmergencyStopGroup: EmergencyStopInput {
    private let inputs: [any EmergencyStopInput]

    public init(_ inputs: [any EmergencyStopInput]) { self.inputs = inputs }

    public func isTriggered() -> Bool {
        for i in inputs where i.isTriggered() { return true }
        return false
    }

    public func acknowledge() -> Bool {
        var all = true
        for i in inputs where !i.acknowledge() { all = false }
        return all
    }
}
