import Control
import Glibc
import Testing
import TestSupport

@testable import Hardware
import SystemSupport

/// The real `robot-emulator` binary, found next to the test bundle.
private func startEmulator(_ arguments: [String] = []) throws -> EmulatorProcess {
    let path: String
    do {
        path = try EmulatorProcess.locateBesideExecutable()
    } catch {
        Issue.record(
            "robot-emulator is missing: \(error). Build it with the tests: `swift build -c release -Xswiftc -enable-testing --build-tests` builds every product."
        )
        throw error
    }
    return try EmulatorProcess(
        executable: path, arguments: ["--seed", "7"] + arguments, realtimePriority: 50)
}

/// Runs `body` with the calling thread under SCHED_FIFO when permitted (as the control
/// thread runs on the robot), so that other tests running in parallel on this 2-core machine
/// cannot starve the loop; restores the old policy after.
private func withRealtimeThread<T>(_ body: () throws -> T) rethrows -> (result: T, realtime: Bool) {
    var oldPolicy: Int32 = 0
    var oldParam = sched_param()
    pthread_getschedparam(pthread_self(), &oldPolicy, &oldParam)
    var param = sched_param(sched_priority: 60)
    let raised = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0
    defer { if raised { pthread_setschedparam(pthread_self(), oldPolicy, &oldParam) } }
    return (try body(), raised)
}

private func torqueCommand(_ v: Float, seq: UInt32) -> RobotCommand {
    var c = RobotCommand()
    c.mode = .torque
    c.jointCount = 1
    c.setpoint[0] = v
    c.sequence = seq
    return c
}

private let period: UInt64 = 5_000_000  // 200 Hz

/// A control-loop stand-in: read, write, sleep to the next absolute deadline.
private struct LoopResult {
    var ticks = 0
    var okReads = 0
    var echoMismatches = 0
    var lateTicks = 0
    var statuses: [IOStatus: Int] = [:]
    var allocations: UInt64 = 0
    var seconds = 0.0
}

private func runLoop(_ robot: MotorBusRobot, ticks: Int, countAllocationsAfter warmUp: Int = 50) -> LoopResult
{
    var result = LoopResult()
    var statusCounts = InlineArray<8, Int>(repeating: 0)
    var state = RobotState()
    var lastSent: UInt32 = 0
    var sentAny = false
    let start = SystemSupport.monotonicNanos() + period
    var next = start
    var allocationsAtWarmUp: UInt64 = 0
    for k in 0..<ticks {
        if k == warmUp { allocationsAtWarmUp = threadAllocationCount() }
        sleepUntil(monotonicNanos: next)
        if SystemSupport.monotonicNanos() > next + period { result.lateTicks += 1 }
        let st = robot.read(into: &state)
        statusCounts[Int(st.rawValue)] += 1
        if st == .ok {
            result.okReads += 1
            if sentAny && state.commandSequenceEcho != lastSent { result.echoMismatches += 1 }
        }
        let seq = UInt32(k + 1)
        if robot.write(torqueCommand(0.2 * sin(Float(k) * 0.05), seq: seq)) == .ok {
            lastSent = seq
            sentAny = true
        }
        next += period
    }
    result.allocations = threadAllocationCount() - allocationsAtWarmUp
    result.seconds = Double(SystemSupport.monotonicNanos() - start) / 1e9
    result.ticks = ticks
    for s in [IOStatus.ok, .timeout, .corrupted, .disconnected, .notActive, .fault]
    where statusCounts[Int(s.rawValue)] > 0 {
        result.statuses[s] = statusCounts[Int(s.rawValue)]
    }
    return result
}

private func config(_ path: String) -> MotorBusConfiguration {
    var c = MotorBusConfiguration(devicePath: path)
    c.replyBudgetNanos = 3_000_000
    c.retryIntervalNanos = 1_000_000
    return c
}

@Suite("End to end over a pseudo-terminal against the real robot-emulator", .serialized)
struct EmulatorEndToEndTests {
    @Test("200 Hz command/state exchange for 10 s: no lost frame, no allocation in the loop")
    func tenSeconds() throws {
        let emulator = try startEmulator()
        var cfg = config(emulator.ptyPath)
        cfg.maxConsecutiveFailures = 40  // 200 ms: a starved emulator is not a broken link
        let robot = MotorBusRobot(configuration: cfg)
        try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [1.0]))
        #expect(robot.info.jointCount == 1 && robot.info.encoderCountsPerRevolution == [4096])
        try robot.activate()
        let (r, realtime) = withRealtimeThread { runLoop(robot, ticks: 2_000) }
        try robot.deactivate()
        let c = robot.counters
        // The firmware counts a frame when it arrives, and a reply after sending it.
        let mcuReceived = try robot.parameter(0x0110)  // includes this PARAM_GET
        let mcuCRCErrors = try robot.parameter(0x0111)
        let mcuSent = try robot.parameter(0x0116)  // includes the replies to the two PARAM_GETs before
        robot.shutdown()
        _ = emulator.terminate()
        print(
            "e2e 10 s: \(r.okReads)/\(r.ticks) ticks answered in time, \(String(format: "%.2f", Double(r.ticks) / r.seconds)) Hz, late ticks \(r.lateTicks), \(c), firmware received \(mcuReceived) sent \(mcuSent)"
        )
        // No lost frame: every frame the host sent reached the firmware intact, and every
        // frame the firmware sent reached the host intact.
        #expect(Int(mcuReceived) == c.framesSent + 1)
        #expect(Int(mcuSent) == c.framesReceived + 2)
        #expect(mcuCRCErrors == 0 && c.crcErrors == 0 && c.framingErrors == 0)
        #expect(r.echoMismatches == 0)
        // Timing: on an idle machine every reply comes within the 3 ms budget; on this shared
        // 2-core machine a descheduled emulator can miss one now and then (a retry or a stale
        // reply, never a lost frame).
        // Without SCHED_FIFO (not permitted), other tests running in parallel can starve the
        // emulator for a few ticks: a looser bound then.
        let inTime = realtime && emulator.isRealtime ? 1_990 : 1_900
        #expect(r.okReads >= inTime, "ticks answered in time: \(r.statuses)")
        #expect(abs(Double(r.ticks) / r.seconds - 200) < 2)
        #expect(r.allocations == 0, "the control thread allocated \(r.allocations) times in 1950 ticks")
    }

    @Test("1 % of bytes corrupted each way: every bad frame rejected and counted, the loop keeps its rate")
    func corruptedLink() throws {
        // Host -> MCU: the emulator flips 1 % of the bytes it receives. MCU -> host: the
        // wrapper flips 1 % of the bytes the host reads, keeping the clean stream to compare.
        let emulator = try startEmulator(["--corrupt-to-mcu", "0.01"])
        var wrapper: CorruptingTransport?
        var c = config(emulator.ptyPath)
        c.maxConsecutiveFailures = 50
        c.setupAttempts = 10  // set-up requests on a link this noisy need more tries
        let robot = MotorBusRobot(configuration: c) {
            let w = CorruptingTransport(
                try TermiosTransport(path: emulator.ptyPath), probability: 0.01, seed: 11)
            wrapper = w
            return w
        }
        try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [1.0]))
        try robot.activate()
        let (r, _) = withRealtimeThread { runLoop(robot, ticks: 1_000) }
        try robot.deactivate()
        let mcuCRC = try robot.parameter(0x0111)
        let mcuCOBS = try robot.parameter(0x0112)
        let unfed = robot.link?.unfedByteCount ?? 0
        let counters = robot.counters
        robot.shutdown()
        _ = emulator.terminate()
        let w = try #require(wrapper)

        // Offline: decode both streams. Every frame the host accepted must be byte-identical
        // to a frame the emulator really sent, in the same order.
        func frames(_ bytes: [UInt8]) -> (frames: [[UInt8]], errors: Int) {
            let rx = FrameReceiver()
            var out: [[UInt8]] = []
            var errors = 0
            for b in bytes {
                switch rx.feed(b) {
                case .frame(let f)?:
                    out.append([f.type, UInt8(f.sequence & 0xFF), UInt8(f.sequence >> 8)] + Array(f.body))
                case .error?: errors += 1
                case nil: break
                }
            }
            return (out, errors)
        }
        // Only the bytes the robot fed to its receiver (a few may still sit in its buffer).
        let clean = frames(Array(w.clean.dropLast(unfed)))
        let received = frames(Array(w.corrupted.dropLast(unfed)))
        var j = 0
        var bogus = 0
        for f in received.frames {
            while j < clean.frames.count && clean.frames[j] != f { j += 1 }
            if j == clean.frames.count { bogus += 1 } else { j += 1 }
        }
        let damaged = clean.frames.count - received.frames.count
        print(
            "e2e corrupted: \(w.flippedBytes) bytes flipped to host, \(damaged) frames damaged, \(received.errors) rejected; mcu crc \(mcuCRC) cobs \(mcuCOBS); \(r.okReads)/\(r.ticks) ok at \(String(format: "%.2f", Double(r.ticks) / r.seconds)) Hz, late \(r.lateTicks); \(counters)"
        )
        #expect(clean.errors == 0, "the emulator's own output is clean")
        #expect(w.flippedBytes > 100)
        #expect(bogus == 0, "no damaged frame accepted")
        #expect(received.errors > 0 && received.errors >= damaged / 2)
        #expect(
            counters.crcErrors + counters.framingErrors == received.errors,
            "the robot counted every rejection")
        #expect(mcuCRC + mcuCOBS > 0, "the firmware rejected the frames damaged on the way in")
        // The pace holds: retries stay inside the 3 ms reply budget of the 5 ms period. (Late
        // ticks come from the shared machine's load, not the link; the clean run has them too.)
        #expect(abs(Double(r.ticks) / r.seconds - 200) < 2 && r.lateTicks <= r.ticks * 15 / 100)
        #expect(r.okReads >= 850, "retries recover most ticks: \(r.statuses)")
        #expect(r.allocations == 0)
    }

    @Test("after the emulator restarts behind the same path, reconnect brings the link back")
    func reconnect() throws {
        let link = "/tmp/robotctl-e2e-\(getpid())-tty"
        var first: EmulatorProcess? = try startEmulator(["--link", link])
        let robot = MotorBusRobot(configuration: config(link))
        try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [1.0]))
        try robot.activate()
        var state = RobotState()
        _ = robot.write(torqueCommand(0.1, seq: 1))
        #expect(robot.read(into: &state) == .ok)
        first?.terminate()
        first = nil
        _ = robot.write(torqueCommand(0.1, seq: 2))
        #expect(robot.read(into: &state) == .disconnected)
        let second = try startEmulator(["--link", link])
        try robot.reconnect()
        #expect(robot.counters.reconnects == 1 && robot.lifecycle == .fault)
        try robot.clearFault()
        try robot.activate()
        _ = robot.write(torqueCommand(0.1, seq: 3))
        #expect(robot.read(into: &state) == .ok && state.commandSequenceEcho == 3)
        robot.shutdown()
        second.terminate()
    }

    @Test(
        "when the host stops sending, the motors go off within the watchdog period and the fault stays latched until cleared"
    )
    func watchdog() throws {
        let emulator = try startEmulator()
        let robot = MotorBusRobot(configuration: config(emulator.ptyPath))
        try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 50, setpointLimit: [1.0]))
        try robot.activate()
        var state = RobotState()
        var lastCommandDeviceTime: UInt32 = 0
        // 0.3 s of commands: the motors are on.
        for k in 0..<60 {
            _ = robot.write(torqueCommand(0.3, seq: UInt32(k + 1)))
            sleepUntil(monotonicNanos: SystemSupport.monotonicNanos() + period)
            #expect(robot.read(into: &state) == .ok)
            lastCommandDeviceTime = state.deviceTimeMicros
        }
        #expect(robot.lastWireState.status & WireStatus.motorsOn != 0)
        // Stop commanding; only ask for state every millisecond.
        let stopped = SystemSupport.monotonicNanos()
        var offAfterMicros: UInt32?
        var faultStatus: IOStatus = .ok
        while SystemSupport.monotonicNanos() - stopped < 200_000_000 {
            let st = robot.read(into: &state)
            if offAfterMicros == nil && robot.lastWireState.status & WireStatus.motorsOn == 0 {
                offAfterMicros = state.deviceTimeMicros &- lastCommandDeviceTime
                faultStatus = st
                #expect(state.faults.contains(.watchdog))
            }
            sleepUntil(monotonicNanos: SystemSupport.monotonicNanos() + 1_000_000)
        }
        let off = try #require(offAfterMicros, "the motors never went off")
        print(
            "e2e watchdog: motors off \(off) µs (device clock) after the last command's state; watchdog 50 ms"
        )
        #expect(
            off <= 50_000 + 1_000 + 5_000, "off within the watchdog period (+1 firmware tick, +1 host period)"
        )
        #expect(off >= 45_000)
        #expect(faultStatus == .fault && robot.lifecycle == .fault)
        // Latched: still faulted 0.2 s later, commands refused.
        #expect(robot.read(into: &state) == .fault && state.faults.contains(.watchdog))
        #expect(robot.write(torqueCommand(0.3, seq: 999)) == .fault)
        try robot.clearFault()
        #expect(robot.lifecycle == .inactive)
        #expect(robot.read(into: &state) == .ok && state.faults.isEmpty)
        robot.shutdown()
        _ = emulator.terminate()
    }
}
