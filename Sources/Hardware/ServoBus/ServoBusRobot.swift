import Control
import Synchronization
import SystemSupport

/// Counters of a servo-bus robot. Updated by the control thread.
public struct ServoBusCounters: Sendable, Equatable {
    public var syncReads = 0
    public var syncWrites = 0
    /// Status packets used (one per joint per tick; one per tick with Fast Sync Read).
    public var statusPackets = 0
    /// Sync reads sent again within a tick for the servos that had not answered.
    public var retries = 0
    /// Ticks that ended without every joint's status (after retries).
    public var timeouts = 0
    /// Valid status packets the tick could not use (unknown id, wrong length, a duplicate).
    public var unusableReplies = 0
    /// Candidates the receiver rejected (CRC/checksum, framing).
    public var checksumErrors = 0
    public var framingErrors = 0
    /// Torque-off broadcasts sent (entering a fault, and every tick while the link is down).
    public var torqueOffBroadcasts = 0
    public init() {}
}

/// Measured bus time per tick against the wire time the baud rate allows.
public struct ServoBusTiming: Sendable, Equatable {
    /// Ticks measured (successful reads).
    public var ticks = 0
    /// From sending the sync read to the last status packet, nanoseconds.
    public var totalReadNanos: UInt64 = 0
    public var maxReadNanos: UInt64 = 0
    /// Sync writes measured, and the time the host spent handing each to the port (a USB
    /// adapter or the pty buffers it: the bytes then take their wire time without the host).
    public var writes = 0
    public var totalWriteNanos: UInt64 = 0
    public var maxWriteNanos: UInt64 = 0
    /// Bytes of the sync read and its replies at the configured baud, nanoseconds.
    public var theoreticalReadNanos: UInt64 = 0
    /// Sync read, replies and sync write at the configured baud, nanoseconds.
    public var theoreticalTickNanos: UInt64 = 0
    public var meanReadNanos: UInt64 { ticks > 0 ? totalReadNanos / UInt64(ticks) : 0 }
    public var meanWriteNanos: UInt64 { writes > 0 ? totalWriteNanos / UInt64(writes) : 0 }
    public init() {}
}

/// A robot made of Dynamixel (Protocol 2.0) or Feetech (STS/SCS) servos on one half-duplex
/// bus. Conforms to Control's `RobotInterface`; one type for both buses, the protocol
/// specifics behind `ServoBusDialect`.
///
/// Each tick: `read` sends one Sync Read (or Fast Sync Read) for all joints and collects the
/// status packets, resending for the silent ones within the tick budget; `write` sends one
/// Sync Write of this tick's goals (current, velocity or position by mode). After
/// `maxConsecutiveFailures` failed ticks it latches `RobotFaults.link` (lifecycle `.fault`).
///
/// Stopping: entering any fault (link, motor, e-stop) broadcasts Torque Enable = 0, and
/// while the link fault is latched every `read` repeats it (a line that comes back stops the
/// servos at once). On Dynamixel the Bus Watchdog (address 98) is also set, so the servos stop
/// by themselves when the host goes quiet, whatever the host does. Feetech servos have no
/// watchdog: on a cut line they keep their last goal until the line returns or power is cut.
///
/// Thread contract: set-up calls must not overlap `read`/`write`/`emergencyStop`; call them
/// between ticks or with the loop stopped. `lifecycle` may be read from any thread.
public final class ServoBusRobot: RobotInterface {
    public let configuration: ServoBusConfiguration
    private let openTransport: () throws -> any ByteTransport
    private var client: ServoBusClient?
    private let lifecycleRaw = Atomic<UInt8>(LifecycleState.unconfigured.rawValue)
    public private(set) var info = RobotInfo(
        jointCount: 0, jointNames: [], encoderCountsPerRevolution: [], firmwareVersion: "", robotID: "")
    public private(set) var counters = ServoBusCounters()
    public private(set) var timing = ServoBusTiming()
    /// Failed ticks in a row (reset by a complete read).
    public private(set) var consecutiveFailures = 0

    // Fixed at configure.
    private var jointCount = 0
    private var allMask: UInt16 = 0
    private var mode: ControlMode = .torque
    private var robotConfiguration: RobotConfiguration?
    private var ids = InlineArray<8, UInt8>(repeating: 0)
    private var direction = InlineArray<8, Double>(repeating: 1)
    private var zeroCounts = InlineArray<8, Int64>(repeating: 0)
    private var radiansPerCount = InlineArray<8, Double>(repeating: 0)
    private var radiansPerSecondPerUnit = InlineArray<8, Double>(repeating: 0)
    private var ampsPerUnit = InlineArray<8, Double>(repeating: 0)
    private var torqueConstant = InlineArray<8, Double>(repeating: 0)
    private var setpointLimit = zeroJoints()
    private var layout = ServoModel.noLayout
    private var goalRegister = ServoRegister(0, 0)
    private var watchdogNanos: UInt64 = 0
    private var broadcastID: UInt8 = 0xFE

    // Preallocated buffers.
    private static let txCapacity = 1024
    private static let rxCapacity = 512
    private let tx = UnsafeMutablePointer<UInt8>.allocate(capacity: ServoBusRobot.txCapacity)
    private let params = UnsafeMutablePointer<UInt8>.allocate(capacity: ServoBusRobot.txCapacity)
    private let rx = UnsafeMutableRawPointer.allocate(byteCount: ServoBusRobot.rxCapacity, alignment: 8)
    private let syncRead = UnsafeMutablePointer<UInt8>.allocate(capacity: ServoBusRobot.txCapacity)
    private var syncReadCount = 0
    private let torqueOff = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
    private var torqueOffCount = 0

    // Real-time state.
    private var rawPosition = InlineArray<8, Int32>(repeating: 0)
    private var unwrapped = InlineArray<8, Int64>(repeating: 0)
    private var rawVelocity = InlineArray<8, Int32>(repeating: 0)
    private var rawCurrent = InlineArray<8, Int32>(repeating: 0)
    private var servoError = InlineArray<8, UInt8>(repeating: 0)
    private var havePosition = false
    private var hostFaults: RobotFaults = []
    private var lastCommandSequence: UInt32 = 0
    private var lastExchangeNanos: UInt64 = 0
    /// Joints that had not answered when the last tick failed (bit per joint).
    public private(set) var missingJoints: UInt16 = 0
    /// The joint whose status reported a hardware error, and the error byte.
    private var faultJoint = -1
    private var faultError: UInt8 = 0
    private var watchdogGapNanos: UInt64 = 0

    /// A robot on `configuration.devicePath`, opened with `openSerialTransport` at `configure`.
    public convenience init(configuration: ServoBusConfiguration) {
        self.init(configuration: configuration) {
            try openSerialTransport(path: configuration.devicePath, baudRate: configuration.baudRate)
        }
    }

    /// A robot whose transport `openTransport` creates at `configure`.
    public init(configuration: ServoBusConfiguration, openTransport: @escaping () throws -> any ByteTransport) {
        self.configuration = configuration
        self.openTransport = openTransport
        _ = Dynamixel.crcTable
    }

    deinit {
        shutdown()
        tx.deallocate()
        params.deallocate()
        rx.deallocate()
        syncRead.deallocate()
        torqueOff.deallocate()
    }

    public var lifecycle: LifecycleState { LifecycleState(rawValue: lifecycleRaw.load(ordering: .acquiring))! }
    private func setLifecycle(_ s: LifecycleState) { lifecycleRaw.store(s.rawValue, ordering: .releasing) }

    // MARK: Real-time calls

    /// One Sync Read of every joint into `state`. Real-time safe: does not allocate, lock or throw.
    public func read(into state: inout RobotState) -> IOStatus {
        guard let client, jointCount > 0 else { return .disconnected }
        if hostFaults.contains(.link) {
            sendTorqueOff(client.transport)
            return .fault
        }
        let transport = client.transport
        let dialect = client.dialect
        let start = monotonicNanos()
        if lifecycle == .active && watchdogNanos > 0 && lastExchangeNanos != 0
            && start &- lastExchangeNanos > watchdogNanos && !hostFaults.contains(.watchdog)
        {
            // The host was quiet longer than the Bus Watchdog: the servos have stopped.
            watchdogGapNanos = start &- lastExchangeNanos
            hostFaults.insert(.watchdog)
            enterFault()
        }
        let deadline = start &+ configuration.replyBudgetNanos
        transport.discardInput()
        dialect.resetReceiver()
        var pending = allMask
        let w = transport.write(UnsafeRawBufferPointer(start: syncRead, count: syncReadCount), deadlineNanos: deadline)
        guard w.status == .ok else { return fail(w.status == .timeout ? .timeout : .disconnected, pending) }
        lastExchangeNanos = start
        counters.syncReads += 1
        var retries = 0
        var nextRetry = start &+ configuration.retryIntervalNanos
        var sawCorruption = false
        let before = dialect.receiverCounters
        while pending != 0 {
            let canRetry = retries < configuration.maxRetriesPerTick
            let waitUntil = canRetry ? min(nextRetry, deadline) : deadline
            let r = transport.read(
                into: UnsafeMutableRawBufferPointer(start: rx, count: ServoBusRobot.rxCapacity), deadlineNanos: waitUntil)
            switch r.status {
            case .ok:
                dialect.append(UnsafeRawBufferPointer(start: rx, count: r.count))
                drain: while true {
                    switch dialect.nextStatus() {
                    case .packet: pending = accept(dialect, pending: pending)
                    case .corrupted: sawCorruption = true
                    case .needMore: break drain
                    }
                }
            case .timeout:
                let now = monotonicNanos()
                if now >= deadline {
                    counters.timeouts += 1
                    noteReceiver(dialect, since: before)
                    return fail(sawCorruption ? .corrupted : .timeout, pending)
                }
                if canRetry && now >= nextRetry {
                    retries += 1
                    counters.retries += 1
                    resend(for: pending, transport: transport, dialect: dialect, deadline: deadline)
                    nextRetry = now &+ configuration.retryIntervalNanos
                }
            case .disconnected, .ioError:
                noteReceiver(dialect, since: before)
                return fail(.disconnected, pending)
            }
        }
        let end = monotonicNanos()
        noteReceiver(dialect, since: before)
        let busNanos = end &- start
        timing.ticks += 1
        timing.totalReadNanos &+= busNanos
        timing.maxReadNanos = max(timing.maxReadNanos, busNanos)
        consecutiveFailures = 0
        missingJoints = 0
        return publish(into: &state, at: end)
    }

    /// One Sync Write of this tick's goals (clamped to the configured limits).
    /// Real-time safe: does not allocate, lock or throw.
    public func write(_ command: RobotCommand) -> IOStatus {
        switch lifecycle {
        case .active: break
        case .fault: return .fault
        default: return .notActive
        }
        guard let client else { return .disconnected }
        guard command.mode == mode else { return .notActive }
        let aw = client.dialect.addressWidth
        let len = goalRegister.length
        var p = 0
        putAddress(goalRegister.address, width: aw, at: &p)
        putAddress(UInt16(len), width: aw, at: &p)
        for i in 0..<jointCount {
            params[p] = ids[i]
            p += 1
            let limit = setpointLimit[i]
            let has = i < command.jointCount
            let v = has ? Double(min(limit, max(-limit, command.setpoint[i]))) : 0
            let goal = goalValue(joint: i, setpoint: v, given: has)
            for b in 0..<len { params[p + b] = UInt8(truncatingIfNeeded: goal >> (8 * b)) }
            p += len
        }
        let n = client.dialect.encode(
            id: broadcastID, instruction: 0x83, parameters: UnsafeRawBufferPointer(start: params, count: p), into: tx,
            capacity: ServoBusRobot.txCapacity)
        let start = monotonicNanos()
        let w = client.transport.write(
            UnsafeRawBufferPointer(start: tx, count: n), deadlineNanos: start &+ configuration.replyBudgetNanos)
        guard w.status == .ok else { return fail(w.status == .timeout ? .timeout : .disconnected, 0) }
        let spent = monotonicNanos() &- start
        timing.writes += 1
        timing.totalWriteNanos &+= spent
        timing.maxWriteNanos = max(timing.maxWriteNanos, spent)
        counters.syncWrites += 1
        lastCommandSequence = command.sequence
        return .ok
    }

    /// Broadcasts Torque Enable = 0 and latches `.estop`.
    /// Real-time safe: does not allocate, lock or throw.
    public func emergencyStop() -> IOStatus {
        hostFaults.insert(.estop)
        guard let client else { return .disconnected }
        if lifecycle != .unconfigured { setLifecycle(.fault) }
        return sendTorqueOff(client.transport) ? .ok : .disconnected
    }

    // MARK: Tick helpers

    @inline(__always)
    private func putAddress(_ v: UInt16, width: Int, at p: inout Int) {
        params[p] = UInt8(truncatingIfNeeded: v)
        if width == 2 { params[p + 1] = UInt8(truncatingIfNeeded: v >> 8) }
        p += width
    }

    /// The goal register value for joint `i` (two's complement or sign-magnitude).
    @inline(__always)
    private func goalValue(joint i: Int, setpoint v: Double, given: Bool) -> Int64 {
        let dir = direction[i]
        switch mode {
        case .torque:
            let amps = torqueConstant[i] != 0 ? v / torqueConstant[i] : 0
            return encodeSigned(saturate(dir * amps / max(1e-9, ampsPerUnit[i]), bits: 15))
        case .velocity:
            return encodeSigned(saturate(dir * v / max(1e-12, radiansPerSecondPerUnit[i]), bits: layout.signBit != 0 ? layout.signBit : 31))
        case .position:
            let target = given ? Double(zeroCounts[i]) + dir * v / max(1e-12, radiansPerCount[i]) : Double(unwrapped[i])
            if layout.positionWraps {
                // The servo knows one turn: aim at the target relative to where it is now.
                let raw = Double(rawPosition[i]) + (target - Double(unwrapped[i]))
                return Int64(min(Double(layout.countsPerRevolution - 1), max(0, raw.rounded())))
            }
            return Int64(saturate(target, bits: 31))
        }
    }

    @inline(__always)
    private func saturate(_ x: Double, bits: Int) -> Int32 {
        guard x.isFinite else { return 0 }
        let m = Double((Int64(1) << bits) - 1)
        return Int32(min(m, max(-m, x.rounded())))
    }

    @inline(__always)
    private func encodeSigned(_ v: Int32) -> Int64 {
        layout.signBit != 0 ? Int64(Feetech.signMagnitude(v, signBit: layout.signBit)) : Int64(v)
    }

    @inline(__always)
    private func decodeSigned(_ data: UnsafeRawBufferPointer, _ r: ServoRegister) -> Int32 {
        var u: UInt32 = 0
        for b in 0..<r.length { u |= UInt32(data[Int(r.address) + b]) << (8 * UInt32(b)) }
        if layout.signBit != 0 { return Feetech.fromSignMagnitude(UInt16(truncatingIfNeeded: u), signBit: layout.signBit) }
        switch r.length {
        case 1: return Int32(Int8(truncatingIfNeeded: u))
        case 2: return Int32(Int16(truncatingIfNeeded: u))
        default: return Int32(bitPattern: u)
        }
    }

    @inline(__always)
    private func jointIndex(_ id: UInt8) -> Int {
        for i in 0..<jointCount where ids[i] == id { return i }
        return -1
    }

    /// Takes one status packet: returns `pending` without the joint(s) it answered.
    private func accept(_ dialect: any ServoBusDialect, pending: UInt16) -> UInt16 {
        let data = dialect.statusData
        let blockLength = layout.stateBlock.length
        if dialect.statusID == broadcastID && configuration.useFastSyncRead {
            var left = pending
            let ok = Dynamixel.forEachFastSyncReadEntry(
                dialect.statusBody,
                count: jointCount, dataLength: blockLength
            ) { _, error, id, block in
                let j = jointIndex(id)
                guard j >= 0, left & (1 << j) != 0 else { return }
                take(joint: j, error: error, block: block)
                left &= ~(1 << j)
            }
            if ok { counters.statusPackets += 1 } else { counters.unusableReplies += 1 }
            return ok ? left : pending
        }
        let j = jointIndex(dialect.statusID)
        guard j >= 0, pending & (1 << j) != 0, data.count == blockLength else {
            counters.unusableReplies += 1
            return pending
        }
        take(joint: j, error: dialect.statusError, block: data)
        counters.statusPackets += 1
        return pending & ~(1 << j)
    }

    @inline(__always)
    private func take(joint j: Int, error: UInt8, block: UnsafeRawBufferPointer) {
        let pos = decodePosition(block)
        if layout.positionWraps {
            let cpr = Int64(layout.countsPerRevolution)
            var delta = Int64(pos) - Int64(rawPosition[j])
            if !havePosition { delta = 0 }
            delta = ((delta + cpr / 2) % cpr + cpr) % cpr - cpr / 2
            unwrapped[j] = havePosition ? unwrapped[j] + delta : Int64(pos)
        } else {
            unwrapped[j] = Int64(pos)
        }
        rawPosition[j] = pos
        rawVelocity[j] = decodeSigned(block, layout.velocityInBlock)
        if let c = layout.currentInBlock { rawCurrent[j] = decodeSigned(block, c) } else { rawCurrent[j] = 0 }
        servoError[j] = error
    }

    @inline(__always)
    private func decodePosition(_ block: UnsafeRawBufferPointer) -> Int32 {
        let r = layout.positionInBlock
        if layout.positionWraps {
            let u = UInt32(block[Int(r.address)]) | UInt32(block[Int(r.address) + 1]) << 8
            return Int32(u % UInt32(layout.countsPerRevolution))
        }
        var u: UInt32 = 0
        for b in 0..<r.length { u |= UInt32(block[Int(r.address) + b]) << (8 * UInt32(b)) }
        return r.length == 4 ? Int32(bitPattern: u) : Int32(Int16(truncatingIfNeeded: u))
    }

    private func publish(into state: inout RobotState, at now: UInt64) -> IOStatus {
        if jointCount > 0 { havePosition = true }
        state.hostTimeNanos = now
        state.deviceTimeMicros = UInt32(truncatingIfNeeded: now / 1000)
        state.jointCount = jointCount
        for i in 0..<jointCount {
            let d = direction[i]
            state.position[i] = Float(d * Double(unwrapped[i] - zeroCounts[i]) * radiansPerCount[i])
            state.velocity[i] = Float(d * Double(rawVelocity[i]) * radiansPerSecondPerUnit[i])
            let amps = d * Double(rawCurrent[i]) * ampsPerUnit[i]
            state.effort[i] = Float(torqueConstant[i] != 0 ? amps * torqueConstant[i] : amps)
        }
        state.commandSequenceEcho = lastCommandSequence
        if faultJoint < 0, let dialect = client?.dialect {
            for i in 0..<jointCount where dialect.isHardwareFault(servoError[i]) {
                faultJoint = i
                faultError = servoError[i]
                hostFaults.insert(.motor)
                enterFault()
                break
            }
        }
        state.faults = hostFaults
        return hostFaults.isEmpty && lifecycle != .fault ? .ok : .fault
    }

    private func resend(for pending: UInt16, transport: any ByteTransport, dialect: any ServoBusDialect, deadline: UInt64) {
        let aw = dialect.addressWidth
        var p = 0
        putAddress(layout.stateBlock.address, width: aw, at: &p)
        putAddress(UInt16(layout.stateBlock.length), width: aw, at: &p)
        for i in 0..<jointCount where pending & (1 << i) != 0 {
            params[p] = ids[i]
            p += 1
        }
        // A Fast Sync Read answers in one packet: ask every servo again.
        let fast = configuration.useFastSyncRead
        let n =
            fast
            ? syncReadCount
            : dialect.encode(
                id: broadcastID, instruction: 0x82, parameters: UnsafeRawBufferPointer(start: params, count: p), into: tx,
                capacity: ServoBusRobot.txCapacity)
        if fast { dialect.resetReceiver() }
        _ = transport.write(UnsafeRawBufferPointer(start: fast ? UnsafePointer(syncRead) : UnsafePointer(tx), count: n), deadlineNanos: deadline)
    }

    private func noteReceiver(_ dialect: any ServoBusDialect, since before: ServoReceiverCounters) {
        let c = dialect.receiverCounters
        counters.checksumErrors += c.checksumErrors - before.checksumErrors
        counters.framingErrors += c.framingErrors - before.framingErrors
    }

    private func fail(_ status: IOStatus, _ pending: UInt16) -> IOStatus {
        consecutiveFailures += 1
        missingJoints = pending
        if consecutiveFailures >= configuration.maxConsecutiveFailures && !hostFaults.contains(.link) {
            hostFaults.insert(.link)
            enterFault()
            return .fault
        }
        return hostFaults.contains(.link) ? .fault : status
    }

    private func enterFault() {
        if lifecycle != .unconfigured { setLifecycle(.fault) }
        if let client { sendTorqueOff(client.transport) }
    }

    @discardableResult
    private func sendTorqueOff(_ transport: any ByteTransport) -> Bool {
        guard torqueOffCount > 0 else { return false }
        counters.torqueOffBroadcasts += 1
        let w = transport.write(
            UnsafeRawBufferPointer(start: torqueOff, count: torqueOffCount),
            deadlineNanos: monotonicNanos() &+ configuration.retryIntervalNanos)
        return w.status == .ok
    }

    /// One line: the measured sync read exchange per tick beside the wire time at the baud
    /// rate, for run summaries. Set-up call.
    public var busTimeSummary: String {
        let t = timing
        return "servo bus (\(configuration.bus), \(jointCount) joints at \(configuration.baudRate) baud): sync read exchange \(t.meanReadNanos / 1000) µs mean, \(t.maxReadNanos / 1000) µs max over \(t.ticks) ticks; sync write \(t.meanWriteNanos / 1000) µs mean of host time; wire time \(t.theoreticalReadNanos / 1000) µs (whole tick with the sync write \(t.theoreticalTickNanos / 1000) µs); retries \(counters.retries), timeouts \(counters.timeouts)"
    }

    // MARK: Fault description (set-up)

    /// One line naming the latched fault: which servo, what, what the servos did, what to do.
    /// Nil when no fault is latched. Set-up call (allocates).
    public var faultDescription: String? {
        let dev = configuration.devicePath
        let joints = configuration.joints
        func name(_ i: Int) -> String { "servo \(joints[i].id) (\(joints[i].name))" }
        if hostFaults.contains(.motor), faultJoint >= 0, let client {
            let stop = configuration.bus == .dynamixel ? "the servo turned its torque off" : "the servo stopped"
            return
                "\(dev): \(name(faultJoint)) reports \(client.dialect.errorText(faultError)); \(stop), torque-off broadcast to all; remove the cause, then clear the fault"
        }
        if hostFaults.contains(.link) {
            let silent = (0..<joints.count).filter { missingJoints & (1 << $0) != 0 }.map(name)
            let who =
                silent.isEmpty || silent.count == joints.count
                ? "no servo answered" : silent.joined(separator: ", ") + " did not answer"
            let ms = Double(configuration.maxConsecutiveFailures) * 5
            let stop =
                configuration.bus == .dynamixel
                ? "the Bus Watchdog stops the servos \(watchdogNanos / 1_000_000) ms after the last packet, and torque off was broadcast"
                : "torque off was broadcast (Feetech servos have no watchdog: on a cut line they hold their last goal)"
            return "\(dev): link fault: \(who) for \(configuration.maxConsecutiveFailures) ticks (\(Int(ms)) ms); \(stop); check the cable and power, then clear the fault"
        }
        if hostFaults.contains(.watchdog) {
            return
                "\(dev): the host was quiet for \(watchdogGapNanos / 1_000_000) ms, longer than the Bus Watchdog (\(watchdogNanos / 1_000_000) ms): the servos stopped themselves; clear the fault and activate again"
        }
        if hostFaults.contains(.estop) { return "\(dev): emergency stop: torque off broadcast; clear the fault to continue" }
        return nil
    }

    /// `faultDescription`, with a Dynamixel hardware error spelled out: reads the faulted
    /// servo's Hardware Error Status (address 70), e.g. "overload". Set-up call (bus I/O;
    /// call with the loop stopped).
    public func describeFault() -> String? {
        guard let line = faultDescription else { return nil }
        guard hostFaults.contains(.motor), faultJoint >= 0, let client,
            let reg = configuration.joints[faultJoint].model.hardwareError,
            let bits = try? client.readValue(configuration.joints[faultJoint].id, reg, what: "hardware error status")
        else { return line }
        return line.replacingOccurrences(
            of: "reports hardware error (alert)", with: "reports \(DynamixelDialect.hardwareErrorText(UInt8(truncatingIfNeeded: bits)))")
    }

    // MARK: Set-up calls

    private func setupError(_ kind: HardwareError.Kind, _ problem: String, _ fix: String) -> HardwareError {
        HardwareError(kind, device: configuration.devicePath, problem: problem, fix: fix)
    }

    public func configure(_ rc: RobotConfiguration) throws {
        guard lifecycle == .unconfigured || lifecycle == .inactive else {
            throw setupError(.invalidArgument, "cannot configure while \(lifecycle)", "deactivate first (or clear the fault)")
        }
        let joints = configuration.joints
        try validate(rc, joints: joints)
        if client == nil {
            client = ServoBusClient(
                bus: configuration.bus, transport: try openTransport(),
                replyTimeoutNanos: configuration.setupReplyTimeoutNanos, attempts: configuration.setupAttempts)
        }
        guard let client else { return }
        let model0 = joints[0].model
        for j in joints {
            guard let number = try client.ping(j.id) else {
                throw setupError(
                    .noResponse, "servo \(j.id) (\(j.name)) does not answer a ping at \(configuration.baudRate) baud",
                    "find the servos' ids and baud rate with `robotctl motors scan --bus \(configuration.bus.rawValue) --port \(configuration.devicePath)`"
                )
            }
            if number != j.model.modelNumber {
                let found = ServoModel.withNumber(number, bus: configuration.bus)?.name ?? "model \(number)"
                throw setupError(
                    .protocolMismatch, "servo \(j.id) (\(j.name)) is a \(found), the robot file says \(j.model.name)",
                    "fix the model of joint \(j.name) in the robot file")
            }
        }
        // Torque off, then the registers that need it off.
        for j in joints { try client.write(j.id, j.model.torqueEnable, 0, what: "torque enable") }
        for j in joints {
            if let lock = j.model.eepromLock { try client.write(j.id, lock, 0, what: "EEPROM lock") }
            if let wd = j.model.busWatchdog { try client.write(j.id, wd, 0, what: "bus watchdog") }
            try writeIfDifferent(client, j, j.model.returnDelay, 0, what: "return delay time")
            try writeIfDifferent(client, j, j.model.operatingMode, Int64(j.model.modeValue(rc.mode)!), what: "operating mode")
        }
        // Fixed per-tick state.
        jointCount = joints.count
        allMask = UInt16((1 << jointCount) - 1)
        mode = rc.mode
        robotConfiguration = rc
        layout = model0
        goalRegister =
            switch rc.mode {
            case .torque: model0.goalCurrent!
            case .velocity: model0.goalVelocity
            case .position: model0.goalPosition
            }
        broadcastID = configuration.bus == .dynamixel ? Dynamixel.broadcastID : Feetech.broadcastID
        for (i, j) in joints.enumerated() {
            ids[i] = j.id
            direction[i] = Double(j.direction)
            zeroCounts[i] = Int64(j.zeroOffsetCounts)
            radiansPerCount[i] = 2 * Double.pi / Double(j.model.countsPerRevolution)
            radiansPerSecondPerUnit[i] = j.model.radiansPerSecondPerVelocityUnit
            ampsPerUnit[i] = j.model.ampsPerCurrentUnit
            torqueConstant[i] = Double(j.torqueConstantNmPerAmp)
            setpointLimit[i] = abs(rc.setpointLimit[i])
        }
        watchdogNanos =
            model0.busWatchdog != nil
            ? UInt64(DynamixelControlTable.busWatchdogValue(millis: Int(rc.watchdogMillis))) * 20_000_000 : 0
        encodeFixedPackets(client.dialect, model0)
        hostFaults = []
        faultJoint = -1
        havePosition = false
        consecutiveFailures = 0
        timing = ServoBusTiming()
        timing.theoreticalReadNanos = configuration.theoreticalReadNanos(mode: rc.mode)
        timing.theoreticalTickNanos = configuration.theoreticalBusNanosPerTick(mode: rc.mode)
        info = RobotInfo(
            jointCount: jointCount, jointNames: joints.map(\.name),
            encoderCountsPerRevolution: joints.map { Int($0.model.countsPerRevolution) },
            firmwareVersion: "\(configuration.bus) " + joints.map { "\($0.id):\($0.model.name)" }.joined(separator: " "),
            robotID: configuration.robotID)
        setLifecycle(.inactive)
        try primePositions()
    }

    private func validate(_ rc: RobotConfiguration, joints: [ServoJoint]) throws {
        guard !joints.isEmpty, joints.count <= maxJoints else {
            throw setupError(.invalidArgument, "\(joints.count) joints configured", "give 1 to \(maxJoints) joints")
        }
        guard rc.setpointLimit.count == joints.count else {
            throw setupError(
                .invalidArgument, "setpointLimit has \(rc.setpointLimit.count) values for \(joints.count) joints",
                "give one limit per joint")
        }
        _ = try configuration.bus.checkedBaudRegisterValue(for: configuration.baudRate, device: configuration.devicePath)
        var seen = Set<UInt8>()
        for j in joints {
            guard j.model.bus == configuration.bus else {
                throw setupError(
                    .invalidArgument, "joint \(j.name) is a \(j.model.name) (\(j.model.bus)), the bus is \(configuration.bus)",
                    "put servos of one protocol on one bus")
            }
            guard seen.insert(j.id).inserted else {
                throw setupError(
                    .invalidArgument, "two joints use servo id \(j.id)",
                    "give each servo its own id with `robotctl motors setup`")
            }
            guard j.model.sharesLayout(with: joints[0].model) else {
                throw setupError(
                    .invalidArgument, "joint \(j.name) (\(j.model.name)) has another control table layout than \(joints[0].model.name)",
                    "put models with the same present-state registers on one bus")
            }
            guard j.model.modeValue(rc.mode) != nil else {
                throw setupError(
                    .invalidArgument, "the \(j.model.name) of joint \(j.name) has no \(rc.mode) mode",
                    j.model.bus == .feetech ? "use position or velocity mode" : "use velocity or position mode, or a model with current control")
            }
            if rc.mode == .torque && j.torqueConstantNmPerAmp == 0 {
                throw setupError(
                    .invalidArgument, "joint \(j.name) has no torque constant", "set torqueConstantNmPerAmp (N·m per A) for torque mode")
            }
        }
        if configuration.useFastSyncRead && configuration.bus != .dynamixel {
            throw setupError(.invalidArgument, "Fast Sync Read is a Dynamixel instruction", "turn useFastSyncRead off for Feetech")
        }
        let busNanos = configuration.theoreticalReadNanos(mode: rc.mode)
        if busNanos > configuration.replyBudgetNanos {
            throw setupError(
                .invalidArgument,
                "at \(configuration.baudRate) baud one tick needs \(busNanos / 1000) µs of bus time for \(joints.count) joints, more than the \(configuration.replyBudgetNanos / 1000) µs read budget",
                "raise the baud rate (`robotctl motors setup --baud 1000000`) or use fewer joints per bus")
        }
    }

    private func writeIfDifferent(_ client: ServoBusClient, _ j: ServoJoint, _ r: ServoRegister, _ value: Int64, what: String) throws {
        let now = try client.readValue(j.id, r, what: what)
        if Int64(now) != value { try client.write(j.id, r, value, what: what) }
    }

    private func encodeFixedPackets(_ dialect: any ServoBusDialect, _ model: ServoModel) {
        let aw = dialect.addressWidth
        var p = 0
        putAddress(model.stateBlock.address, width: aw, at: &p)
        putAddress(UInt16(model.stateBlock.length), width: aw, at: &p)
        for i in 0..<jointCount {
            params[p] = ids[i]
            p += 1
        }
        let readInstruction: UInt8 = configuration.useFastSyncRead ? Dynamixel.Instruction.fastSyncRead.rawValue : 0x82
        syncReadCount = dialect.encode(
            id: broadcastID, instruction: readInstruction, parameters: UnsafeRawBufferPointer(start: params, count: p),
            into: syncRead, capacity: ServoBusRobot.txCapacity)
        p = 0
        putAddress(model.torqueEnable.address, width: aw, at: &p)
        params[p] = 0
        torqueOffCount = dialect.encode(
            id: broadcastID, instruction: 0x03, parameters: UnsafeRawBufferPointer(start: params, count: p + 1),
            into: torqueOff, capacity: 64)
    }

    /// One read at set-up so position goals and unwrapping start from where the joints are.
    private func primePositions() throws {
        var s = RobotState()
        var last = IOStatus.timeout
        for _ in 0..<max(1, configuration.setupAttempts) {
            last = read(into: &s)
            if last == .ok || last == .fault { break }
        }
        consecutiveFailures = 0
        guard havePosition else {
            throw setupError(
                .noResponse, "the servos answer pings but not the sync read (\(last))",
                "check that every servo supports Sync Read and that the ids are right")
        }
    }

    public func activate() throws {
        guard lifecycle == .inactive, let client, let rc = robotConfiguration else {
            throw setupError(
                .invalidArgument, "cannot activate while \(lifecycle)",
                lifecycle == .fault ? "clear the fault first" : "configure first")
        }
        try primePositions()
        let joints = configuration.joints
        for (i, j) in joints.enumerated() {
            // Start from a goal that does not move the joint.
            let hold = goalValue(joint: i, setpoint: 0, given: false)
            try client.write(j.id, goalRegister, hold, what: "goal")
            try client.write(j.id, j.model.torqueEnable, 1, what: "torque enable")
            if let wd = j.model.busWatchdog {
                try client.write(
                    j.id, wd, Int64(DynamixelControlTable.busWatchdogValue(millis: Int(rc.watchdogMillis))), what: "bus watchdog")
            }
            if let lock = j.model.eepromLock { try client.write(j.id, lock, 1, what: "EEPROM lock") }
        }
        consecutiveFailures = 0
        lastExchangeNanos = monotonicNanos()
        setLifecycle(.active)
    }

    public func deactivate() throws {
        guard lifecycle == .active, let client else { return }
        for j in configuration.joints {
            if let wd = j.model.busWatchdog { try client.write(j.id, wd, 0, what: "bus watchdog") }
            try client.write(j.id, j.model.torqueEnable, 0, what: "torque enable")
        }
        setLifecycle(.inactive)
    }

    public func clearFault() throws {
        guard lifecycle == .fault, let client else { return }
        for (i, j) in configuration.joints.enumerated() {
            if configuration.bus == .dynamixel && faultJoint == i {
                // A hardware error stays latched in the servo until a reboot.
                try client.reboot(j.id)
                var back = false
                for _ in 0..<20 where !back { back = try client.ping(j.id, attempts: 1) != nil }
                if !back { throw client.noAnswer(j.id, what: "a ping after its reboot") }
            }
            if let wd = j.model.busWatchdog { try client.write(j.id, wd, 0, what: "bus watchdog") }
            try client.write(j.id, j.model.torqueEnable, 0, what: "torque enable")
        }
        hostFaults = []
        faultJoint = -1
        consecutiveFailures = 0
        setLifecycle(.inactive)
        try primePositions()
        if lifecycle == .fault {
            let why = faultDescription ?? "a servo still reports an error"
            throw setupError(.ioFailure, "the fault is still there: \(why)", "check the servo, then clear again")
        }
    }

    public func shutdown() {
        if let client {
            if lifecycle == .active || lifecycle == .fault {
                sendTorqueOff(client.transport)
                for j in configuration.joints {
                    if let wd = j.model.busWatchdog { try? client.write(j.id, wd, 0, what: "bus watchdog") }
                }
            }
            client.transport.close()
        }
        client = nil
        setLifecycle(.unconfigured)
    }
}

extension ServoModel {
    /// A placeholder before `configure`.
    static let noLayout = FeetechMemoryTable.sts3215
}
