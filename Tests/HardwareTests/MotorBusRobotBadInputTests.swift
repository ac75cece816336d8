import Control
import TestSupport
import Testing

@testable import Hardware

/// The CONFIGURE torque limit from a calibration's `torque_limit_nm` (issue 13, item 2): 2.1e6 N·m
/// and more trapped converting to mN·m (`Float(Int32.max)` rounds up to 2^31); the conversion now
/// saturates at Int32.max, and calibration validation keeps real files far below it.
@Suite("MotorBusRobot torque-limit conversion bad input")
struct MotorBusRobotBadInputTests {
    static let cases: [(Float, Int32)] = [
        (1.5, 1500), (2.1e6, 2_100_000_000), (2.2e6, Int32.max), (Float(Int32.max) / 1000, Int32.max), (1e10, Int32.max), (.infinity, Int32.max), (0, 1), (.nan, 1),
    ]

    @Test("torque limits convert to mN·m, saturating instead of trapping", arguments: cases)
    func torqueLimitSaturates(limit: Float, expected: Int32) throws {
        let fake = FakeMotorController()
        var c = MotorBusConfiguration(devicePath: "fake-mcu")
        c.replyBudgetNanos = 3_000_000
        c.retryIntervalNanos = 1_000_000
        c.setupReplyTimeoutNanos = 5_000_000
        let robot = MotorBusRobot(configuration: c) { fake }
        try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [limit]))
        #expect(fake.lastTorqueLimitMilliNm == expected)
    }
}
