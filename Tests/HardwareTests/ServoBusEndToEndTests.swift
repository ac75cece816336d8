import Control
import Foundation
import Glibc
import Testing
import TestSupport

@testable import Hardware
import SystemSupport

/// The real `servo-emulator` binary (C, firmware-proto/servo-emulator), found next to the tests.
func startServoEmulator(_ arguments: [String]) throws -> EmulatorProcess {
    let path: String
    do {
        path = try EmulatorProcess.locateBesideExecutable(named: "servo-emulator")
    } catch {
        Issue.record("servo-emulator is missing: \(error). `swift build --build-tests` builds every product.")
        throw error
    }
    return try EmulatorProcess(executable: path, arguments: ["--seed", "5"] + arguments, realtimePriority: 50)
}

/// A servo robot on the emulator's pty at `baud`.
func servoRobot(
    _ emu: EmulatorProcess, bus: ServoBusKind, joints: Int, model: ServoModel, baud: Int = 1_000_000,
    torqueConstant: Float = 0, tolerateFailures: Int = 20, fast: Bool = false
) -> ServoBusRobot {
    var c = ServoBusConfiguration.uniform(
        bus: bus, devicePath: emu.ptyPath, count: joints, model: model, torqueConstantNmPerAmp: torqueConstant)
    c.baudRate = baud
    c.maxConsecutiveFailures = tolerateFailures
    c.useFastSyncRead = fast
    return ServoBusRobot(configuration: c) { try TermiosTransport(path: emu.ptyPath, baudRate: baud) }
}

/// What a 200 Hz loop against a servo robot saw.
struct ServoLoopResult {
    var ticks = 0
    var ok = 0
    var faults = 0
    var allocations: UInt64 = 0
    var lastState = RobotState()
    var lastOkNanos: UInt64 = 0
    var firstLinkFaultNanos: UInt64 = 0
    var lateTicks = 0
}

/// read -> write -> sleep to the next absolute 5 ms deadline, `ticks` times (or until
/// `stopAtFault` sees the link fault latched).
func runServoLoop(
    _ robot: ServoBusRobot, ticks: Int, mode: ControlMode, stopAtFault: Bool = false, warmUp: Int = 50,
    setpoint: (Int, Int) -> Float
) -> ServoLoopResult {
    var r = ServoLoopResult()
    var state = RobotState()
    var command = RobotCommand()
    command.mode = mode
    command.jointCount = robot.info.jointCount
    let period: UInt64 = 5_000_000
    var next = SystemSupport.monotonicNanos() + period
    var allocationsAtWarmUp: UInt64 = 0
    for k in 0..<ticks {
        if k == warmUp { allocationsAtWarmUp = threadAllocationCount() }
        sleepUntil(monotonicNanos: next)
        if SystemSupport.monotonicNanos() > next + period { r.lateTicks += 1 }
        next += period
        r.ticks += 1
        let st = robot.read(into: &state)
        if st == .ok {
            r.ok += 1
            r.lastOkNanos = SystemSupport.monotonicNanos()
        } else if st == .fault {
            r.faults += 1
            if state.faults.contains(.link) || robot.consecutiveFailures >= robot.configuration.maxConsecutiveFailures,
                r.firstLinkFaultNanos == 0
            {
                r.firstLinkFaultNanos = SystemSupport.monotonicNanos()
            }
            if stopAtFault { break }
        }
        for j in 0..<command.jointCount { command.setpoint[j] = setpoint(k, j) }
        command.sequence = UInt32(k + 1)
        _ = robot.write(command)
    }
    if ticks > warmUp { r.allocations = threadAllocationCount() &- allocationsAtWarmUp }
    r.lastState = state
    return r
}

/// Lines of the emulator's stderr that contain `needle`, with their "t=... s" time.
func emulatorEvents(_ stderr: String, _ needle: String) -> [(time: Double, line: String)] {
    stderr.split(separator: "\n").compactMap { line in
        guard line.contains(needle), let t = line.range(of: "t="), let s = line.range(of: " s:", range: t.upperBound..<line.endIndex),
            let v = Double(line[t.upperBound..<s.lowerBound])
        else { return nil }
        return (v, String(line))
    }
}

@Suite("Servo buses end to end over the C servo emulator", .serialized)
struct ServoBusEndToEndTests {
    /// Position mode, two joints, 5 s at 200 Hz; checks tracking, allocations, bus time.
    func fiveSeconds(_ bus: ServoBusKind, model: ServoModel, emulatorModel: String) throws {
        let emu = try startServoEmulator(["--bus", bus.rawValue, "--joints", "2", "--model", emulatorModel, "--baud", "1000000", "--stats"])
        let robot = servoRobot(emu, bus: bus, joints: 2, model: model)
        try robot.configure(RobotConfiguration(mode: .position, watchdogMillis: 100, setpointLimit: [4, 4]))
        #expect(robot.info.jointCount == 2)
        var s = RobotState()
        _ = robot.read(into: &s)
        let start = (s.position[0], s.position[1])
        try robot.activate()
        // Each joint swings ±0.4 rad around where it hangs, at 0.5 Hz.
        let r = runServoLoop(robot, ticks: 1000, mode: .position) { k, j in
            (j == 0 ? start.0 : start.1) + 0.4 * sin(2 * Float.pi * 0.5 * Float(k) * 0.005 + Float(j))
        }
        let counters = robot.counters
        let timing = robot.timing
        try robot.deactivate()
        robot.shutdown()
        let stats = emu.terminate()
        #expect(r.ticks == 1000)
        #expect(r.ok >= 950, "\(r.ok) of 1000 reads ok, \(counters)")
        #expect(r.faults == 0)
        #expect(r.allocations == 0, "read/write allocated \(r.allocations) times")
        #expect(counters.syncReads >= 1000 && counters.syncWrites >= 990)
        // The last command was at phase 2*pi*0.5*4.995 + j; the servo lags a little.
        for j in 0..<2 {
            let want = (j == 0 ? start.0 : start.1) + 0.4 * sin(2 * Float.pi * 0.5 * 999 * 0.005 + Float(j))
            #expect(abs(r.lastState.position[j] - want) < 0.25, "joint \(j) at \(r.lastState.position[j]), commanded \(want)")
        }
        // Bus time: the emulator paces bytes at 1 Mbaud, so the measured sync read exchange can
        // not beat the wire time and should be near it (generous bound for a loaded machine).
        #expect(timing.ticks >= 950)
        #expect(timing.meanReadNanos >= timing.theoreticalReadNanos * 8 / 10, "\(timing)")
        #expect(timing.meanReadNanos <= timing.theoreticalReadNanos + 2_000_000, "\(timing)")
        print(
            "servo bus \(bus): 2 joints at 1 Mbaud: sync read exchange measured mean \(timing.meanReadNanos / 1000) µs (max \(timing.maxReadNanos / 1000) µs), theoretical \(timing.theoreticalReadNanos / 1000) µs; whole tick on the wire \(timing.theoreticalTickNanos / 1000) µs; ok \(r.ok)/1000; \(counters)"
        )
        #expect(stats.contains("servo 1:") && stats.contains("servo 2:"))
    }

    @Test("Dynamixel: two XM430-W350 in position mode, 200 Hz for 5 s: tracks, 0 allocations, bus time near the wire time")
    func dynamixelFiveSeconds() throws {
        try fiveSeconds(.dynamixel, model: ServoModel.named("XM430-W350")!, emulatorModel: "xm430-w350")
    }

    @Test("Feetech: two STS3215 in position mode, 200 Hz for 5 s: tracks, 0 allocations, bus time near the wire time")
    func feetechFiveSeconds() throws {
        try fiveSeconds(.feetech, model: FeetechMemoryTable.sts3215, emulatorModel: "sts3215")
    }

    @Test("Dynamixel current mode with Fast Sync Read: positive torque turns the joint positive, effort in N·m")
    func dynamixelCurrentFastSyncRead() throws {
        let emu = try startServoEmulator(["--bus", "dynamixel", "--joints", "1", "--baud", "1000000"])
        let robot = servoRobot(emu, bus: .dynamixel, joints: 1, model: ServoModel.named("XM430-W350")!, torqueConstant: 1.78, fast: true)
        try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [1.0]))
        var s = RobotState()
        _ = robot.read(into: &s)
        let p0 = s.position[0]
        try robot.activate()
        let r = runServoLoop(robot, ticks: 200, mode: .torque) { _, _ in 0.5 }
        robot.shutdown()
        emu.terminate()
        #expect(r.ok >= 140, "\(r.ok) ok, \(robot.counters)")
        #expect(r.allocations == 0)
        #expect(r.lastState.position[0] > p0 + 0.2, "moved from \(p0) to \(r.lastState.position[0])")
        #expect(robot.counters.statusPackets >= 140 && robot.counters.statusPackets <= 400, "one status packet per tick")
    }

    @Test("byte drops and corruption on the line: retries inside the tick keep the loop running")
    func retries() throws {
        let emu = try startServoEmulator(["--bus", "feetech", "--joints", "3", "--drop", "0.002", "--corrupt", "0.002"])
        let robot = servoRobot(emu, bus: .feetech, joints: 3, model: FeetechMemoryTable.sts3215)
        try robot.configure(RobotConfiguration(mode: .position, watchdogMillis: 100, setpointLimit: [4, 4, 4]))
        var s = RobotState()
        _ = robot.read(into: &s)
        try robot.activate()
        let hold = s
        let r = runServoLoop(robot, ticks: 600, mode: .position) { _, j in hold.position[j] }
        let fault = robot.faultDescription ?? "no fault"
        robot.shutdown()
        emu.terminate()
        #expect(robot.counters.retries > 0, "\(robot.counters)")
        #expect(robot.counters.checksumErrors + robot.counters.timeouts > 0)
        // About 90 bytes a tick at 0.4 % loss or damage each: a third of the first attempts
        // fail; the retry inside the tick saves most.
        #expect(r.ok >= 480, "\(r.ok) of 600 ok, \(robot.counters)")
        #expect(r.faults == 0, "\(fault)")
    }

    @Test("Dynamixel cut line: the host latches a named link fault, the Bus Watchdog stops the servos within 100 ms")
    func dynamixelCutLine() throws {
        let emu = try startServoEmulator(["--bus", "dynamixel", "--joints", "2", "--baud", "1000000", "--cut-at", "2.0"])
        let robot = servoRobot(emu, bus: .dynamixel, joints: 2, model: ServoModel.named("XM430-W350")!, tolerateFailures: 5)
        try robot.configure(RobotConfiguration(mode: .velocity, watchdogMillis: 60, setpointLimit: [2, 2]))
        try robot.activate()
        let r = runServoLoop(robot, ticks: 800, mode: .velocity, stopAtFault: true) { _, _ in 0.5 }
        #expect(robot.lifecycle == .fault)
        #expect(r.firstLinkFaultNanos > 0)
        #expect(r.allocations == 0, "the fault path (latch, torque-off broadcast) allocated \(r.allocations) times")
        let latency = Double(r.firstLinkFaultNanos &- r.lastOkNanos) / 1e6
        #expect(latency <= 100, "link fault latched \(latency) ms after the last good read")
        let line = robot.faultDescription ?? ""
        #expect(line.contains("link fault") && line.contains("no servo answered") && line.contains("Bus Watchdog"), "\(line)")
        #expect(!line.contains("\n"))
        // The host keeps reading (latched) while the servos, cut off, stop by themselves.
        var st = RobotState()
        #expect(robot.read(into: &st) == .fault)
        usleep(300_000)
        robot.shutdown()
        let log = emu.terminate()
        let trips = emulatorEvents(log, "bus watchdog expired")
        #expect(trips.count == 2, "\(log)")
        for t in trips {
            let gap = t.line.split(separator: "(").last.flatMap { Double($0.split(separator: " ").first ?? "") } ?? 1e9
            #expect(gap <= 100, "\(t.line)")
            #expect(t.time >= 2.0 && t.time <= 2.1, "\(t.line)")
        }
    }

    @Test("Feetech silent servo: the host latches a link fault naming it and torques the others off within 100 ms")
    func feetechSilentServo() throws {
        let emu = try startServoEmulator(["--bus", "feetech", "--joints", "3", "--silent", "2", "--silent-at", "2.0"])
        let robot = servoRobot(emu, bus: .feetech, joints: 3, model: FeetechMemoryTable.sts3215, tolerateFailures: 5)
        try robot.configure(RobotConfiguration(mode: .position, watchdogMillis: 100, setpointLimit: [4, 4, 4]))
        var s = RobotState()
        _ = robot.read(into: &s)
        try robot.activate()
        let hold = s
        let r = runServoLoop(robot, ticks: 800, mode: .position, stopAtFault: true) { _, j in hold.position[j] }
        #expect(robot.lifecycle == .fault)
        let latency = Double(r.firstLinkFaultNanos &- r.lastOkNanos) / 1e6
        #expect(r.firstLinkFaultNanos > 0 && latency <= 100, "latched \(latency) ms after the last good read")
        let line = robot.faultDescription ?? ""
        #expect(line.contains("servo 2 (joint1) did not answer") && line.contains("torque off was broadcast"), "\(line)")
        // Let the emulator (a process that a loaded machine may not have run yet) take the
        // broadcast before it is stopped; the servo's own clock dates the torque-off.
        usleep(300_000)
        robot.shutdown()
        let log = emu.terminate()
        let silent = emulatorEvents(log, "stops answering").first?.time ?? -1
        #expect(silent >= 2.0)
        for id in [1, 3] {
            let off = emulatorEvents(log, "servo \(id): torque off (host)").first?.time ?? 1e9
            #expect(off - silent <= 0.1, "servo \(id) torque off at \(off), silent from \(silent)\n\(log)")
        }
    }

    @Test("Dynamixel silent servo: a link fault naming it within 100 ms; torque off reaches every servo, the silent one too")
    func dynamixelSilentServo() throws {
        let emu = try startServoEmulator(["--bus", "dynamixel", "--joints", "3", "--baud", "1000000", "--silent", "3", "--silent-at", "2.0"])
        let robot = servoRobot(emu, bus: .dynamixel, joints: 3, model: ServoModel.named("XM430-W350")!, tolerateFailures: 5)
        try robot.configure(RobotConfiguration(mode: .velocity, watchdogMillis: 60, setpointLimit: [2, 2, 2]))
        try robot.activate()
        let r = runServoLoop(robot, ticks: 800, mode: .velocity, stopAtFault: true) { _, _ in 0.3 }
        #expect(robot.lifecycle == .fault)
        let latency = Double(r.firstLinkFaultNanos &- r.lastOkNanos) / 1e6
        #expect(r.firstLinkFaultNanos > 0 && latency <= 100, "latched \(latency) ms after the last good read")
        #expect(r.allocations == 0)
        let line = robot.faultDescription ?? ""
        #expect(line.contains("servo 3 (joint2) did not answer") && line.contains("Bus Watchdog") && !line.contains("\n"), "\(line)")
        usleep(300_000)
        robot.shutdown()
        let log = emu.terminate()
        let silent = emulatorEvents(log, "stops answering").first?.time ?? -1
        #expect(silent >= 2.0)
        // A silent servo still hears: the broadcast stops it as it stops the others.
        for id in [1, 2, 3] {
            let off = emulatorEvents(log, "servo \(id): torque off (host)").first?.time ?? 1e9
            #expect(off - silent <= 0.1, "servo \(id) torque off at \(off), silent from \(silent)\n\(log)")
        }
    }

    @Test("Feetech cut line: a named link fault within 100 ms; the repeated torque-off broadcast stops the servos the moment the line returns")
    func feetechCutLine() throws {
        let emu = try startServoEmulator(["--bus", "feetech", "--joints", "2", "--cut-at", "2.0", "--cut-for", "0.5"])
        let robot = servoRobot(emu, bus: .feetech, joints: 2, model: FeetechMemoryTable.sts3215, tolerateFailures: 5)
        try robot.configure(RobotConfiguration(mode: .position, watchdogMillis: 100, setpointLimit: [4, 4]))
        var s = RobotState()
        _ = robot.read(into: &s)
        try robot.activate()
        let hold = s
        let r = runServoLoop(robot, ticks: 800, mode: .position, stopAtFault: true) { _, j in hold.position[j] }
        #expect(robot.lifecycle == .fault)
        let latency = Double(r.firstLinkFaultNanos &- r.lastOkNanos) / 1e6
        #expect(r.firstLinkFaultNanos > 0 && latency <= 100, "latched \(latency) ms after the last good read")
        #expect(r.allocations == 0)
        let line = robot.faultDescription ?? ""
        #expect(line.contains("link fault: no servo answered") && line.contains("torque off was broadcast") && !line.contains("\n"), "\(line)")
        // Latched: every read repeats the broadcast; keep reading past the line's return at 2.5 s.
        var st = RobotState()
        let until = SystemSupport.monotonicNanos() + 900_000_000
        var reads = 0
        while SystemSupport.monotonicNanos() < until {
            if robot.read(into: &st) == .fault { reads += 1 }
            usleep(5_000)
        }
        #expect(reads > 0 && robot.lifecycle == .fault, "the fault stays latched when the line returns")
        robot.shutdown()
        let log = emu.terminate()
        for id in [1, 2] {
            let off = emulatorEvents(log, "servo \(id): torque off (host)").first?.time ?? 1e9
            #expect(off >= 2.5 && off <= 2.6, "servo \(id) torque off at \(off) s; the line returned at 2.5 s\n\(log)")
        }
    }

    @Test("Dynamixel overload error bit: a latched motor fault naming the servo and 'overload'; reboot clears it")
    func dynamixelOverload() throws {
        let emu = try startServoEmulator(["--bus", "dynamixel", "--joints", "2", "--baud", "1000000", "--overload", "2", "--overload-at", "1.5"])
        let robot = servoRobot(emu, bus: .dynamixel, joints: 2, model: ServoModel.named("XM430-W350")!)
        try robot.configure(RobotConfiguration(mode: .position, watchdogMillis: 100, setpointLimit: [4, 4]))
        var s = RobotState()
        _ = robot.read(into: &s)
        try robot.activate()
        let hold = s
        _ = runServoLoop(robot, ticks: 800, mode: .position, stopAtFault: true) { _, j in hold.position[j] }
        #expect(robot.lifecycle == .fault)
        var st = RobotState()
        #expect(robot.read(into: &st) == .fault)
        #expect(st.faults.contains(.motor))
        let line = robot.describeFault() ?? ""
        #expect(line.contains("servo 2 (joint1) reports overload"), "\(line)")
        try robot.clearFault()
        #expect(robot.lifecycle == .inactive)
        try robot.activate()
        #expect(robot.read(into: &st) == .ok)
        robot.shutdown()
        let log = emu.terminate()
        #expect(log.contains("servo 2: rebooted"))
    }

    @Test("configure names a wrong model, a missing servo and a too-slow baud rate in one line")
    func setupErrors() throws {
        let emu = try startServoEmulator(["--bus", "dynamixel", "--joints", "1", "--model", "xl430-w250", "--baud", "1000000"])
        let wrong = servoRobot(emu, bus: .dynamixel, joints: 1, model: ServoModel.named("XM430-W350")!)
        #expect { try wrong.configure(RobotConfiguration(mode: .position, setpointLimit: [1])) } throws: { e in
            "\(e)".contains("servo 1 (joint0) is a XL430-W250, the robot file says XM430-W350")
        }
        wrong.shutdown()
        let missing = servoRobot(emu, bus: .dynamixel, joints: 2, model: ServoModel.named("XL430-W250")!)
        #expect { try missing.configure(RobotConfiguration(mode: .position, setpointLimit: [1, 1])) } throws: { e in
            "\(e)".contains("servo 2 (joint1) does not answer a ping at 1000000 baud") && "\(e)".contains("robotctl motors scan")
        }
        missing.shutdown()
        let noCurrent = servoRobot(emu, bus: .dynamixel, joints: 1, model: ServoModel.named("XL430-W250")!, torqueConstant: 1)
        #expect { try noCurrent.configure(RobotConfiguration(mode: .torque, setpointLimit: [1])) } throws: { e in
            "\(e)".contains("has no torque mode")
        }
        noCurrent.shutdown()
        let slow = servoRobot(emu, bus: .dynamixel, joints: 1, model: ServoModel.named("XL430-W250")!, baud: 9600)
        #expect { try slow.configure(RobotConfiguration(mode: .position, setpointLimit: [1])) } throws: { e in
            "\(e)".contains("at 9600 baud one tick needs") && "\(e)".contains("raise the baud rate")
        }
        emu.terminate()
    }
}
