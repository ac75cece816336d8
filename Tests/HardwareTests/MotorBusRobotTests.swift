import Control
import Glibc
import TestSupport
import Testing

@testable import Hardware

private func torqueConfig(_ n: Int = 1) -> RobotConfiguration {
    RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [Float](repeating: 1.5, count: n))
}

private func makeRobot(
    _ fake: FakeMotorController, _ tweak: (inout MotorBusConfiguration) -> Void = { _ in }
) -> MotorBusRobot {
    var c = MotorBusConfiguration(devicePath: "fake-mcu")
    c.replyBudgetNanos = 3_000_000
    c.retryIntervalNanos = 1_000_000
    c.setupReplyTimeoutNanos = 5_000_000
    tweak(&c)
    return MotorBusRobot(configuration: c) { fake }
}

private func command(_ v: Float, seq: UInt32) -> RobotCommand {
    var c = RobotCommand()
    c.mode = .torque
    c.jointCount = 1
    c.setpoint[0] = v
    c.sequence = seq
    return c
}

@Suite("MotorBusRobot against an in-process fake controller")
struct MotorBusRobotTests {
    @Test("configure, activate, command and state follow the lifecycle and the calibration")
    func lifecycle() throws {
        let fake = FakeMotorController()
        fake.position[0] = 1024 + 100  // a quarter turn past the zero offset
        let robot = makeRobot(fake) {
            $0.calibration = [EncoderConversion(zeroOffsetCounts: 100, direction: -1)]
        }
        #expect(robot.lifecycle == .unconfigured)
        try robot.configure(torqueConfig())
        #expect(robot.lifecycle == .inactive)
        #expect(robot.info.jointCount == 1 && robot.info.encoderCountsPerRevolution == [4096])
        #expect(robot.write(command(0.5, seq: 1)) == .notActive)
        var state = RobotState()
        #expect(robot.read(into: &state) == .ok)
        #expect(abs(state.position[0] - (-Float.pi / 2)) < 1e-5)
        try robot.activate()
        #expect(robot.lifecycle == .active && fake.mode == 1)
        #expect(robot.write(command(0.5, seq: 7)) == .ok)
        #expect(robot.read(into: &state) == .ok)
        #expect(state.commandSequenceEcho == 7)
        #expect(fake.lastSetpoints[0] == -500)  // direction -1, N·m -> mN·m
        #expect(robot.write(command(9, seq: 8)) == .ok)  // clamped to the 1.5 N·m limit
        #expect(robot.read(into: &state) == .ok)
        #expect(fake.lastSetpoints[0] == -1500)
        try robot.deactivate()
        #expect(robot.lifecycle == .inactive && fake.mode == 0)
    }

    @Test("a lost reply is recovered by a resend within the same tick")
    func retryOnLoss() throws {
        let fake = FakeMotorController()
        // A generous budget: on a loaded machine a 1 ms sleep can overshoot a 3 ms budget.
        let robot = makeRobot(fake) { $0.replyBudgetNanos = 500_000_000 }
        try robot.configure(torqueConfig())
        try robot.activate()
        fake.dropReplies = 1
        #expect(robot.write(command(0.1, seq: 1)) == .ok)
        var state = RobotState()
        #expect(robot.read(into: &state) == .ok)
        #expect(robot.counters.retries == 1)
        #expect(state.commandSequenceEcho == 1)
    }

    @Test("a corrupted reply is rejected, counted, and the resend's reply is used")
    func retryOnCorruption() throws {
        let fake = FakeMotorController()
        let robot = makeRobot(fake) { $0.replyBudgetNanos = 500_000_000 }
        try robot.configure(torqueConfig())
        try robot.activate()
        fake.corruptReplies = 1
        #expect(robot.write(command(0.1, seq: 1)) == .ok)
        var state = RobotState()
        #expect(robot.read(into: &state) == .ok)
        #expect(robot.counters.crcErrors + robot.counters.framingErrors == 1)
        #expect(robot.counters.resyncs == 1 && robot.counters.retries == 1)
    }

    @Test("consecutive failed ticks escalate to a safe stop: ESTOP sent, lifecycle fault, link fault")
    func escalation() throws {
        let fake = FakeMotorController()
        let robot = makeRobot(fake) { $0.maxConsecutiveFailures = 4 }
        try robot.configure(torqueConfig())
        try robot.activate()
        fake.dropReplies = 1_000
        var state = RobotState()
        var statuses: [IOStatus] = []
        for k in 0..<4 {
            _ = robot.write(command(0.1, seq: UInt32(k)))
            statuses.append(robot.read(into: &state))
        }
        #expect(statuses == [.timeout, .timeout, .timeout, .fault])
        #expect(robot.lifecycle == .fault)
        #expect(robot.counters.timeouts == 4)
        #expect(fake.requestsSeen.last == WireType.estop)
        #expect(robot.write(command(0.1, seq: 9)) == .fault)
        fake.dropReplies = 0
        #expect(robot.read(into: &state) == .fault)
        #expect(state.faults.contains(.link) && state.faults.contains(.estop))
        try robot.clearFault()
        #expect(robot.lifecycle == .inactive && fake.faults == 0)
        try robot.activate()
        #expect(robot.write(command(0.1, seq: 10)) == .ok)
        #expect(robot.read(into: &state) == .ok)
    }

    @Test("a firmware fault latches the robot in fault until cleared")
    func firmwareFault() throws {
        let fake = FakeMotorController()
        let robot = makeRobot(fake)
        try robot.configure(torqueConfig())
        try robot.activate()
        fake.faults = WireFault.watchdog
        _ = robot.write(command(0.1, seq: 1))
        var state = RobotState()
        #expect(robot.read(into: &state) == .fault)
        #expect(state.faults == .watchdog && robot.lifecycle == .fault)
        #expect(throws: HardwareError.self) { try robot.activate() }
        try robot.clearFault()
        #expect(robot.lifecycle == .inactive)
    }

    @Test("emergencyStop sends ESTOP and latches the fault")
    func emergencyStop() throws {
        let fake = FakeMotorController()
        let robot = makeRobot(fake)
        try robot.configure(torqueConfig())
        try robot.activate()
        #expect(robot.emergencyStop() == .ok)
        #expect(robot.lifecycle == .fault && fake.faults & WireFault.estop != 0)
    }

    @Test("a firmware speaking another protocol version is refused with one clear line")
    func protocolMismatch() throws {
        let fake = FakeMotorController()
        fake.protocolVersion = 2
        let robot = makeRobot(fake)
        let error = #expect(throws: HardwareError.self) { try robot.configure(torqueConfig()) }
        #expect(error?.kind == .protocolMismatch)
        #expect(
            error?.description
                == "fake-mcu: firmware speaks protocol version 2, robotctl speaks version 1; flash the firmware built from this robotctl's firmware-proto (or install the robotctl matching the firmware)"
        )
        #expect(error?.description.contains("\n") == false)
    }

    @Test("a silent device gives a no-response error naming the port and the baud rate")
    func noResponse() throws {
        let fake = FakeMotorController()
        fake.dropReplies = 100
        let robot = makeRobot(fake) { $0.setupAttempts = 2 }
        let error = #expect(throws: HardwareError.self) { try robot.configure(torqueConfig()) }
        #expect(error?.kind == .noResponse)
        #expect(
            error?.description
                == "fake-mcu: no reply to HELLO within 5 ms (2 tries); check that the firmware runs, the baud rate (1000000) and the cable"
        )
    }

    @Test("after a hang-up, reconnect restores the link and an active robot comes back faulted")
    func reconnect() throws {
        var fakes = [FakeMotorController(), FakeMotorController()]
        let first = fakes[0]
        var c = MotorBusConfiguration(devicePath: "fake-mcu")
        c.setupReplyTimeoutNanos = 5_000_000
        let robot = MotorBusRobot(configuration: c) { fakes.removeFirst() }
        try robot.configure(torqueConfig())
        try robot.activate()
        first.hungUp = true
        var state = RobotState()
        #expect(robot.write(command(0.1, seq: 1)) == .disconnected)
        #expect(robot.read(into: &state) == .disconnected)
        try robot.reconnect()
        #expect(robot.counters.reconnects == 1)
        #expect(robot.lifecycle == .fault)
        try robot.clearFault()
        try robot.activate()
        #expect(robot.write(command(0.1, seq: 2)) == .ok)
        #expect(robot.read(into: &state) == .ok)
    }

    @Test("configure checks the joint count of the limits and the calibration")
    func configurationChecks() throws {
        let fake = FakeMotorController()
        let robot = makeRobot(fake)
        let e = #expect(throws: HardwareError.self) { try robot.configure(torqueConfig(2)) }
        #expect(
            e?.description
                == "fake-mcu: setpointLimit has 2 values, the firmware reports 1 motors; give one limit per motor"
        )
    }
}

@Suite("EncoderConversion")
struct JointCalibrationTests {
    @Test("counts and radians convert both ways with offset, direction and resolution")
    func roundTrip() {
        let c = EncoderConversion(zeroOffsetCounts: -250, direction: -1, countsPerRevolution: 2000)
        #expect(abs(c.radians(counts: 250) - (-2 * Float.pi * 500 / 2000)) < 1e-6)
        for counts: Int32 in [-100_000, -1, 0, 1, 777, 123_456] {
            #expect(c.counts(radians: c.radians(counts: counts)) == counts)
        }
        #expect(c.countsPerSecond(radiansPerSecond: 2 * .pi) == -2000)
        #expect(abs(c.radiansPerSecond(countsPerSecond: 1000) + .pi) < 1e-6)
        #expect(c.milliNewtonMetres(newtonMetres: 1.25) == -1250)
        #expect(c.counts(radians: .nan) == 0 && c.milliNewtonMetres(newtonMetres: .infinity) == 0)
        #expect(c.milliNewtonMetres(newtonMetres: 1e12) == Int32.min)
        #expect(EncoderConversion(torqueConstantNmPerAmp: 0.5).effort(milliamps: 2000) == 1)
        #expect(EncoderConversion().effort(milliamps: -1500) == -1.5)
    }
}
