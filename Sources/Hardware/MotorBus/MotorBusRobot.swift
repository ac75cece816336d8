import Control
import Synchronization
import SystemSupport

/// A robot whose motors hang off a microcontroller speaking firmware-proto v1 over a serial
/// link (or the emulated robot over a pseudo-terminal). Conforms to Control's
/// `RobotInterface`.
///
/// Each tick: `read` returns the STATE answering the last request (the COMMAND of the
/// previous tick, or a STATE_REQUEST it sends itself), resending the request within the tick
/// budget if the reply is late or corrupted; `write` sends the COMMAND for this tick. The
/// link is pipelined (`LinkPipeline`): a reply still out after the budget is used by the next
/// tick, so round trips up to `MotorBusConfiguration.roundTripAllowanceNanos` (9 ms at 200 Hz)
/// cost no failed tick. After `maxConsecutiveFailures` failed ticks the robot sends ESTOP and
/// latches `RobotFaults.link` (lifecycle `.fault`); when the replies did come but too late,
/// `unrecoverableFault` says so. A robot slower than the allowance at the handshake is refused
/// by `configure`.
///
/// Thread contract: set-up calls (`configure`, `activate`, `deactivate`, `clearFault`,
/// `reconnect`, `shutdown`, parameters) must not overlap `read`/`write`/`emergencyStop`; call
/// them between ticks or with the loop stopped. `lifecycle` may be read from any thread.
public final class MotorBusRobot: RobotInterface {
    public let configuration: MotorBusConfiguration
    private let openTransport: () throws -> any ByteTransport
    private(set) var link: MotorBusLink?
    private let lifecycleRaw = Atomic<UInt8>(LifecycleState.unconfigured.rawValue)
    public private(set) var info = RobotInfo(
        jointCount: 0, jointNames: [], encoderCountsPerRevolution: [], firmwareVersion: "", robotID: "")
    /// The firmware's CAPABILITIES, valid after `configure`.
    public private(set) var capabilities = WireCapabilities()
    private var robotConfiguration: RobotConfiguration?
    /// The configured mode, kept apart so the tick never touches the configuration's arrays.
    private var commandMode: ControlMode = .torque
    private var calibration = InlineArray<8, EncoderConversion>(repeating: EncoderConversion())
    private var setpointLimit = zeroJoints()
    private var jointCount = 0

    // Real-time state.
    private var pipeline = LinkPipeline()
    private var lastCommandEcho: UInt32 = 0
    private var hostFaults: RobotFaults = []
    /// Failed ticks in a row (reset by a good reply).
    public private(set) var consecutiveFailures = 0
    /// The round trip of the late replies when the link failed for slowness (0: it did not).
    private var tooSlowRoundTripNanos: UInt64 = 0

    /// Why clearing the fault cannot bring the link back (nil: it can): the link failed
    /// because the robot answers slower than `roundTripAllowanceNanos`. One line naming the
    /// port, the measured and the allowed round trip, and the fix. Set-up call.
    public var unrecoverableFault: String? {
        tooSlowRoundTripNanos == 0 ? nil : "\(configuration.devicePath): \(configuration.tooSlowMessage(roundTripNanos: tooSlowRoundTripNanos))"
    }
    /// The newest STATE as received (raw wire units).
    public private(set) var lastWireState = WireState()

    /// A robot on `configuration.devicePath`, opened by `openSerialTransport` at `configure`.
    public convenience init(configuration: MotorBusConfiguration) {
        self.init(configuration: configuration) {
            try openSerialTransport(path: configuration.devicePath, baudRate: configuration.baudRate)
        }
    }

    /// A robot whose transport `openTransport` creates (at `configure` and `reconnect`).
    public init(configuration: MotorBusConfiguration, openTransport: @escaping () throws -> any ByteTransport)
    {
        self.configuration = configuration
        self.openTransport = openTransport
        _ = CRC32C.table
    }

    deinit { shutdown() }

    public var lifecycle: LifecycleState {
        LifecycleState(rawValue: lifecycleRaw.load(ordering: .acquiring))!
    }
    private func setLifecycle(_ s: LifecycleState) { lifecycleRaw.store(s.rawValue, ordering: .releasing) }

    /// Link counters. Read on the control thread or with the loop stopped.
    public var counters: MotorBusCounters { link?.counters ?? MotorBusCounters() }

    // MARK: Real-time calls

    /// Reads the newest STATE into `state`. Pipelined (PROTOCOL.md section 8): the reply to
    /// the last tick's request is awaited up to `replyBudgetNanos` (resending it within the tick
    /// if it is late or corrupted); if it is still out, it stays in flight and the next tick
    /// uses it (waiting for it until `roundTripAllowanceNanos` after it was sent), taking the
    /// fresher reply as well when that one is in already. So a round trip up to two periods
    /// less a fifth costs one tick of observation age, never a failed tick, and the waiting
    /// never drifts the loop's writes later.
    /// Real-time safe: does not allocate, lock or throw.
    public func read(into state: inout RobotState) -> IOStatus {
        guard let link else { return .disconnected }
        let start = monotonicNanos()
        if pipeline.newest == nil && pipeline.older == nil {
            let (seq, st) = link.send(.stateRequest, deadlineNanos: start &+ configuration.replyBudgetNanos)
            guard st == .ok else { return fail(st == .timeout ? .timeout : .disconnected) }
            pipeline.sent(InFlightRequest(sequence: seq, sentNanos: start, isCommand: false, commandSequence: 0))
        }
        let allowance = configuration.roundTripAllowanceNanos
        // Due now: the older request (pipelined) or else the newest one.
        let pipelined = pipeline.older != nil
        let due = (pipeline.older ?? pipeline.newest)!
        let deadline = pipelined ? min(start &+ configuration.replyBudgetNanos, due.sentNanos &+ allowance)
                                 : start &+ configuration.replyBudgetNanos
        var retries = 0
        var nextRetry = start &+ configuration.retryIntervalNanos
        var sawCorruption = false
        var accepted: IOStatus?
        while true {
            // Resending helps only the newest request (the link keeps its frame).
            let canRetry = !pipelined && accepted == nil && retries < configuration.maxRetriesPerTick
            let waitUntil: UInt64 = accepted != nil ? 0 : (canRetry ? min(nextRetry, deadline) : deadline)
            switch link.receive(deadlineNanos: waitUntil) {
            case .message(.state(let s)):
                guard let request = pipeline.answer(echo: s.echoSequence, now: monotonicNanos()) else {
                    link.counters.staleReplies += 1
                    continue
                }
                accepted = accept(s, answering: request, into: &state)
                // The newest request answered: nothing fresher can be in. Otherwise take what
                // else has arrived already (the newest reply) without waiting for it.
                if pipeline.newest == nil { return accepted! }
            case .message:
                continue  // ACK of an ESTOP, a late set-up reply: not this tick's business.
            case .corrupted:
                sawCorruption = true
                if canRetry {
                    retries += 1
                    link.counters.retries += 1
                    _ = link.resend(deadlineNanos: deadline)
                    nextRetry = monotonicNanos() &+ configuration.retryIntervalNanos
                }
            case .timeout:
                if let accepted { return accepted }
                let now = monotonicNanos()
                if now >= deadline {
                    link.counters.timeouts += 1
                    // Past the allowance a reply is of no use: give the request up. Within it,
                    // the newest stays in flight for the next tick.
                    if pipelined {
                        pipeline.dropOlder()
                    } else if now &- due.sentNanos >= allowance {
                        pipeline.dropNewest()
                    }
                    return fail(sawCorruption ? .corrupted : .timeout)
                }
                if canRetry && now >= nextRetry {
                    retries += 1
                    link.counters.retries += 1
                    _ = link.resend(deadlineNanos: deadline)
                    nextRetry = now &+ configuration.retryIntervalNanos
                }
            case .disconnected:
                pipeline.forget()
                return fail(.disconnected)
            }
        }
    }

    /// Round trips of the link so far (read on the control thread or with the loop stopped).
    public var roundTrip: LinkRoundTrip { pipeline.timing }

    /// Sends this tick's COMMAND (setpoints clamped to the configured limits, converted with
    /// the calibration). Real-time safe: does not allocate, lock or throw.
    public func write(_ command: RobotCommand) -> IOStatus {
        switch lifecycle {
        case .active: break
        case .fault: return .fault
        default: return .notActive
        }
        let mode = commandMode
        guard let link, command.mode == mode else { return link == nil ? .disconnected : .notActive }
        var setpoints = WireInts(repeating: 0)
        for i in 0..<jointCount {
            let limit = setpointLimit[i]
            let v = i < command.jointCount ? min(limit, max(-limit, command.setpoint[i])) : 0
            let c = calibration[i]
            switch mode {
            case .torque: setpoints[i] = c.milliNewtonMetres(newtonMetres: v)
            case .velocity: setpoints[i] = c.countsPerSecond(radiansPerSecond: v)
            case .position:
                setpoints[i] = i < command.jointCount ? c.counts(radians: v) : lastWireState.position[i]
            }
        }
        let (seq, st) = link.send(
            .command(count: jointCount, setpoints: setpoints),
            deadlineNanos: monotonicNanos() &+ configuration.retryIntervalNanos)
        guard st == .ok else { return fail(st == .timeout ? .timeout : .disconnected) }
        pipeline.sent(InFlightRequest(sequence: seq, sentNanos: monotonicNanos(), isCommand: true, commandSequence: command.sequence))
        return .ok
    }

    /// Sends ESTOP (motors off, latched on the MCU) and latches `.estop` here.
    /// Real-time safe: does not allocate, lock or throw.
    public func emergencyStop() -> IOStatus {
        hostFaults.insert(.estop)
        if lifecycle != .unconfigured { setLifecycle(.fault) }
        guard let link else { return .disconnected }
        pipeline.forget()
        let st = link.send(.estop, deadlineNanos: monotonicNanos() &+ configuration.retryIntervalNanos).status
        return st == .ok ? .ok : .disconnected
    }

    private func accept(_ s: WireState, answering request: InFlightRequest, into state: inout RobotState) -> IOStatus {
        consecutiveFailures = 0
        lastWireState = s
        if request.isCommand { lastCommandEcho = request.commandSequence }
        state.hostTimeNanos = monotonicNanos()
        state.deviceTimeMicros = s.timestampMicros
        let n = min(s.count, jointCount)
        state.jointCount = n
        for i in 0..<n {
            let c = calibration[i]
            state.position[i] = c.radians(counts: s.position[i])
            state.velocity[i] = c.radiansPerSecond(countsPerSecond: s.velocity[i])
            state.effort[i] = c.effort(milliamps: s.currentMilliamps[i])
        }
        state.commandSequenceEcho = lastCommandEcho
        let faults = MotorBusRobot.robotFaults(s.faults).union(hostFaults)
        state.faults = faults
        if !faults.isEmpty {
            if lifecycle == .active { setLifecycle(.fault) }
            return .fault
        }
        return lifecycle == .fault ? .fault : .ok
    }

    private func fail(_ status: IOStatus) -> IOStatus {
        consecutiveFailures += 1
        if consecutiveFailures >= configuration.maxConsecutiveFailures && !hostFaults.contains(.link) {
            hostFaults.insert(.link)
            if lifecycle != .unconfigured { setLifecycle(.fault) }
            if let link {
                _ = link.send(.estop, deadlineNanos: monotonicNanos() &+ configuration.retryIntervalNanos)
            }
            pipeline.forget()
            // Replies that came, only too late: the robot is slower than the link allows, and
            // clearing the fault would not help.
            let late = pipeline.timing.lateMinNanos
            if late > configuration.roundTripAllowanceNanos { tooSlowRoundTripNanos = late }
            return .fault
        }
        return hostFaults.contains(.link) ? .fault : status
    }

    /// Maps wire fault flags to Control's.
    static func robotFaults(_ wire: UInt16) -> RobotFaults {
        var f: RobotFaults = []
        if wire & WireFault.watchdog != 0 { f.insert(.watchdog) }
        if wire & WireFault.estop != 0 { f.insert(.estop) }
        if wire & WireFault.motorFault != 0 { f.insert(.motor) }
        if wire & (WireFault.velocityLimit | WireFault.positionLimit) != 0 { f.insert(.limit) }
        return f
    }

    // MARK: Set-up calls

    public func configure(_ configuration: RobotConfiguration) throws {
        guard lifecycle == .unconfigured || lifecycle == .inactive else {
            throw setupError(
                .invalidArgument, "cannot configure while \(lifecycle)",
                "deactivate first (or clear the fault)")
        }
        if link == nil { link = MotorBusLink(transport: try openTransport()) }
        let caps = try handshake()
        let n = caps.motorCount
        let cal = self.configuration.calibration
        guard cal.isEmpty || cal.count == n else {
            throw setupError(
                .invalidArgument, "calibration has \(cal.count) joints, the firmware reports \(n) motors",
                "give one calibration entry per motor")
        }
        guard configuration.setpointLimit.count == n else {
            throw setupError(
                .invalidArgument,
                "setpointLimit has \(configuration.setpointLimit.count) values, the firmware reports \(n) motors",
                "give one limit per motor")
        }
        let wireMode = configuration.mode.rawValue + 1
        guard caps.modes & (1 << wireMode) != 0 else {
            throw setupError(
                .invalidArgument,
                "firmware does not support \(configuration.mode) mode (modes bitmask \(caps.modes))",
                "choose a mode the firmware supports")
        }
        jointCount = n
        for i in 0..<n {
            calibration[i] = (cal.isEmpty ? EncoderConversion() : cal[i]).resolved(
                firmwareCountsPerRevolution: caps.countsPerRevolution[i])
            setpointLimit[i] = abs(configuration.setpointLimit[i])
        }
        robotConfiguration = configuration
        commandMode = configuration.mode
        try sendConfigure(mode: 0)
        // The handshake's quickest round trip: slower than the pipelined link allows, every
        // tick would fail. Refuse now, before any motion, with the figures.
        let setupRoundTrip = pipeline.timing.setupMinNanos
        if setupRoundTrip > self.configuration.roundTripAllowanceNanos {
            throw setupError(
                .noResponse, self.configuration.tooSlowProblem(roundTripNanos: setupRoundTrip), MotorBusConfiguration.tooSlowFix)
        }
        capabilities = caps
        let names =
            self.configuration.jointNames.count == n
            ? self.configuration.jointNames : (0..<n).map { "joint\($0)" }
        info = RobotInfo(
            jointCount: n, jointNames: names,
            encoderCountsPerRevolution: (0..<n).map { Int(calibration[$0].countsPerRevolution) },
            firmwareVersion: "\(caps.firmwareMajor).\(caps.firmwareMinor).\(caps.firmwarePatch)",
            robotID: self.configuration.robotID)
        pipeline.forget()
        setLifecycle(.inactive)
    }

    public func activate() throws {
        guard lifecycle == .inactive, let mode = robotConfiguration?.mode else {
            throw setupError(
                .invalidArgument, "cannot activate while \(lifecycle)",
                lifecycle == .fault ? "clear the fault first" : "configure first")
        }
        try sendConfigure(mode: mode.rawValue + 1)
        pipeline.forget()
        consecutiveFailures = 0
        setLifecycle(.active)
    }

    public func deactivate() throws {
        guard lifecycle == .active else { return }
        try sendConfigure(mode: 0)
        pipeline.forget()
        setLifecycle(.inactive)
    }

    public func clearFault() throws {
        guard lifecycle == .fault else { return }
        if link == nil { link = MotorBusLink(transport: try openTransport()) }
        let reply = try request(.clearFault, what: "CLEAR_FAULT")
        if case .nack(_, _, let e) = reply {
            throw setupError(
                .ioFailure,
                e == WireNackError.faultActive.rawValue
                    ? "the motor driver still reports a fault" : "CLEAR_FAULT refused (NACK \(e))",
                "check the motor driver (over-current, over-temperature), then clear again")
        }
        try sendConfigure(mode: 0)
        hostFaults = []
        tooSlowRoundTripNanos = 0
        consecutiveFailures = 0
        pipeline.forget()
        setLifecycle(.inactive)
    }

    /// Closes the transport, opens it again and repeats the handshake. An active robot
    /// comes back in `.fault` (`.link`), an inactive one configured and inactive.
    public func reconnect() throws {
        link?.transport.close()
        let transport = try openTransport()
        if let link { link.replaceTransport(transport) } else { link = MotorBusLink(transport: transport) }
        _ = try handshake()
        link?.counters.reconnects += 1
        pipeline.forget()
        consecutiveFailures = 0
        switch lifecycle {
        case .active:
            hostFaults.insert(.link)
            setLifecycle(.fault)
        case .inactive:
            try sendConfigure(mode: 0)
        default: break
        }
    }

    public func shutdown() {
        if let link {
            if lifecycle == .active || lifecycle == .fault {
                _ = link.send(
                    .configure(
                        WireConfigure(
                            mode: 0, watchdogMillis: 100, torqueLimitMilliNm: 1,
                            velocityLimitCountsPerSecond: 0)),
                    deadlineNanos: monotonicNanos() &+ 10_000_000)
            }
            link.transport.close()
        }
        link = nil
        pipeline.forget()
        setLifecycle(.unconfigured)
    }

    /// Reads a firmware parameter (PROTOCOL.md section 6). Set-up call.
    public func parameter(_ id: UInt16, index: UInt8 = 0) throws -> Int32 {
        try parameterReply(try request(.paramGet(id: id, index: index), what: "PARAM_GET \(id)"), id: id)
    }

    /// Writes a firmware parameter; returns the value now stored. Set-up call.
    @discardableResult
    public func setParameter(_ id: UInt16, index: UInt8 = 0, value: Int32) throws -> Int32 {
        try parameterReply(
            try request(.paramSet(id: id, index: index, value: value), what: "PARAM_SET \(id)"), id: id)
    }

    private func parameterReply(_ reply: WireMessage, id: UInt16) throws -> Int32 {
        switch reply {
        case .paramValue(_, _, _, let v): return v
        case .nack(_, _, let e):
            throw setupError(
                .invalidArgument, "parameter \(id) refused (NACK \(e))",
                "check the id, index and range in PROTOCOL.md section 6")
        default:
            throw setupError(
                .ioFailure, "unexpected reply to a parameter request", "check the firmware version")
        }
    }

    // MARK: Set-up helpers

    private func handshake() throws -> WireCapabilities {
        guard let link else { throw setupError(.ioFailure, "no link", "configure first") }
        link.discardInput()
        _ = link.sendDelimiter(deadlineNanos: monotonicNanos() &+ configuration.setupReplyTimeoutNanos)
        let reply: WireMessage
        do {
            reply = try request(.hello, what: "HELLO")
        } catch let e as HardwareError where e.kind == .noResponse && link.lastForeignVersion != 0 {
            throw MotorBusRobot.protocolMismatch(
                configuration.devicePath, firmwareVersion: link.lastForeignVersion)
        }
        switch reply {
        case .capabilities(let c):
            guard c.protocolVersion == WireLimits.version else {
                throw MotorBusRobot.protocolMismatch(
                    configuration.devicePath, firmwareVersion: c.protocolVersion)
            }
            return c
        case .nack(_, _, let e) where e == WireNackError.badVersion.rawValue:
            throw MotorBusRobot.protocolMismatch(configuration.devicePath, firmwareVersion: 0)
        default:
            throw setupError(
                .protocolMismatch, "unexpected reply to HELLO",
                "check that the device is a firmware-proto motor controller")
        }
    }

    /// The one-line error for a firmware that speaks another protocol version.
    public static func protocolMismatch(_ device: String, firmwareVersion: UInt8) -> HardwareError {
        let theirs = firmwareVersion == 0 ? "another protocol version" : "protocol version \(firmwareVersion)"
        return HardwareError(
            .protocolMismatch, device: device,
            problem: "firmware speaks \(theirs), robotctl speaks version \(WireLimits.version)",
            fix:
                "flash the firmware built from this robotctl's firmware-proto (or install the robotctl matching the firmware)"
        )
    }

    private func sendConfigure(mode: UInt8) throws {
        guard let rc = robotConfiguration else { return }
        // In Double and saturated: Float(Int32.max) rounds up to 2^31, which Int32() traps on.
        let milliNm = Double(rc.setpointLimit.max() ?? 0) * 1000
        let torqueLimit: Int32 =
            rc.mode == .torque
            ? (milliNm.isNaN ? 1 : Int32(min(Double(Int32.max), max(1, milliNm)).rounded()))
            : Int32.max
        let reply = try request(
            .configure(
                WireConfigure(
                    mode: mode, watchdogMillis: rc.watchdogMillis, torqueLimitMilliNm: torqueLimit,
                    velocityLimitCountsPerSecond: 0)),
            what: "CONFIGURE")
        switch reply {
        case .ack: return
        case .nack(_, _, let e):
            let why =
                switch WireNackError(rawValue: e) {
                case .badMode?: "mode not supported"
                case .outOfRange?: "watchdog or limit out of range"
                case .faultActive?: "a fault is latched"
                default: "error \(e)"
                }
            throw setupError(
                .ioFailure, "CONFIGURE refused: \(why)",
                e == WireNackError.faultActive.rawValue
                    ? "clear the fault first" : "check the configuration against PROTOCOL.md section 3.3")
        default:
            throw setupError(.ioFailure, "unexpected reply to CONFIGURE", "check the firmware version")
        }
    }

    /// Sends `message` and waits for the reply echoing its sequence number, retrying.
    private func request(_ message: WireMessage, what: String) throws -> WireMessage {
        guard let link else { throw setupError(.ioFailure, "no link", "configure first") }
        for _ in 0..<max(1, configuration.setupAttempts) {
            // Whatever has arrived answers older requests: count it and move past it.
            link.drainArrived()
            let sent = monotonicNanos()
            let deadline = sent &+ configuration.setupReplyTimeoutNanos
            let (seq, st) = link.send(message, deadlineNanos: deadline)
            if st == .disconnected || st == .ioError {
                throw setupError(
                    .ioFailure, "link lost while sending \(what)", "check the cable, then reconnect")
            }
            waiting: while true {
                switch link.receive(deadlineNanos: deadline) {
                case .message(let m):
                    if MotorBusRobot.echo(of: m) == seq {
                        pipeline.setupRoundTrip(monotonicNanos() &- sent)
                        return m
                    }
                case .corrupted: continue
                case .timeout: break waiting
                case .disconnected:
                    throw setupError(
                        .ioFailure, "link lost while waiting for the reply to \(what)",
                        "check the cable, then reconnect")
                }
            }
        }
        throw setupError(
            .noResponse,
            "no reply to \(what) within \(configuration.setupReplyTimeoutNanos / 1_000_000) ms (\(configuration.setupAttempts) tries)",
            "check that the firmware runs, the baud rate (\(configuration.baudRate)) and the cable")
    }

    private static func echo(of m: WireMessage) -> UInt16? {
        switch m {
        case .capabilities(let c): c.echoSequence
        case .state(let s): s.echoSequence
        case .paramValue(let e, _, _, _): e
        case .ack(let e, _): e
        case .nack(let e, _, _): e
        default: nil
        }
    }

    private func setupError(_ kind: HardwareError.Kind, _ problem: String, _ fix: String) -> HardwareError {
        HardwareError(kind, device: configuration.devicePath, problem: problem, fix: fix)
    }
}
