import Control
import Glibc
import SystemSupport
import Testing
import TestSupport

private func state(_ p: Float = 0, _ v: Float = 0) -> RobotState {
    var s = RobotState()
    s.jointCount = 1
    s.position[0] = p
    s.velocity[0] = v
    return s
}

private func filter(_ mode: ControlMode, limits: SafetyLimits = testLimits()) -> SafetyFilter {
    var f = try! SafetyFilter(limits: limits, mode: mode, jointCount: 1, periodSeconds: 0.005)
    f.begin(state: state(), now: 0)
    return f
}

private func command(_ u: Float) -> RobotCommand {
    var c = RobotCommand()
    c.setpoint[0] = u
    return c
}

@Suite("Safety filter")
struct SafetyFilterTests {
    @Test("clamps torque to the effort limit")
    func torqueLimit() {
        var lim = testLimits()
        lim.joints[0].rateMax = 1e6
        var f = filter(.torque, limits: lim)
        var c = command(5)
        let r1 = f.filter(&c, state: state(), now: 1)
        #expect(r1)
        #expect(c.setpoint[0] == 1)
        c = command(-5)
        _ = f.filter(&c, state: state(), now: 2)
        #expect(c.setpoint[0] == -1)
        c = command(0.5)
        let r2 = f.filter(&c, state: state(), now: 3)
        #expect(!r2)
        #expect(c.setpoint[0] == 0.5)
    }

    @Test("clamps velocity commands to the velocity limit")
    func velocityLimit() {
        var lim = testLimits()
        lim.joints[0].rateMax = 1e6
        var f = filter(.velocity, limits: lim)
        var c = command(9)
        _ = f.filter(&c, state: state(), now: 1)
        #expect(c.setpoint[0] == 2)
    }

    @Test("clamps position commands to the joint range")
    func positionLimit() {
        var lim = testLimits()
        lim.joints[0].rateMax = 1e6
        var f = filter(.position, limits: lim)
        var c = command(3)
        _ = f.filter(&c, state: state(), now: 1)
        #expect(c.setpoint[0] == 1)
        c = command(-3)
        _ = f.filter(&c, state: state(), now: 2)
        #expect(c.setpoint[0] == -1)
    }

    @Test("refuses torque that pushes a joint further past its position or velocity limit")
    func noPushPastLimits() {
        var lim = testLimits()
        lim.joints[0].rateMax = 1e6
        var f = filter(.torque, limits: lim)
        var c = command(0.5)
        _ = f.filter(&c, state: state(1.01, 0), now: 1)
        #expect(c.setpoint[0] == 0)
        c = command(-0.5)
        _ = f.filter(&c, state: state(1.01, 0), now: 2)
        #expect(c.setpoint[0] == -0.5, "torque back into range is allowed")
        c = command(0.5)
        _ = f.filter(&c, state: state(0, 2.1), now: 3)
        #expect(c.setpoint[0] == 0)
    }

    @Test("limits the change of the command per tick to rateMax times the period")
    func rateLimit() {
        var f = filter(.torque)  // 100 N·m/s · 5 ms = 0.5 N·m per tick
        var seen: [Float] = []
        for k in 0..<4 {
            var c = command(1)
            _ = f.filter(&c, state: state(), now: UInt64(k + 1))
            seen.append(c.setpoint[0])
        }
        #expect(seen == [0.5, 1, 1, 1])
        var c = command(-1)
        _ = f.filter(&c, state: state(), now: 10)
        #expect(c.setpoint[0] == 0.5)
    }

    @Test("trips a latched stop when measured position or velocity pass their trip levels")
    func measuredTrips() {
        var f = filter(.torque)
        let r3 = f.checkState(state(1.04, 0), now: 1)
        #expect(r3, "within the 0.05 rad margin")
        let r4 = f.checkState(state(1.06, 0), now: 2)
        #expect(!r4)
        #expect(f.reasons.contains(.positionLimit) && f.isLatched)
        var g = filter(.torque)
        let r5 = g.checkState(state(0, -2.6), now: 1)
        #expect(!r5)
        #expect(g.reasons == .velocityLimit)
    }

    @Test("the command watchdog trips when no fresh command arrives in time")
    func watchdog() {
        var lim = testLimits()
        lim.commandTimeout = 0.05
        var f = filter(.torque, limits: lim)
        f.feedWatchdog(now: 1_000_000_000)
        let r6 = f.checkWatchdog(state: state(), now: 1_040_000_000)
        #expect(r6)
        #expect(!f.isStopping)
        let r7 = f.checkWatchdog(state: state(), now: 1_051_000_000)
        #expect(!r7)
        #expect(f.reasons == .watchdog && f.isStopping)
    }

    @Test("NaN and infinite values trip the stop and never reach the robot")
    func nonFinite() {
        var f = filter(.torque)
        var values: [Float] = [0, .infinity]
        let r8 = f.checkFinite(&values, count: 2, reason: .nonFiniteAction, state: state(), now: 1)
        #expect(!r8)
        #expect(f.reasons == .nonFiniteAction)
        var g = filter(.torque)
        var c = command(.nan)
        _ = g.filter(&c, state: state(), now: 1)
        #expect(c.setpoint[0] == 0)
        #expect(g.reasons == .nonFiniteAction)
        var h = filter(.torque)
        let r9 = h.checkState(state(.nan, 0), now: 1)
        #expect(!r9)
        #expect(h.reasons == .nonFiniteObservation)
    }

    @Test("a latch cannot be cleared while the stop behaviour runs, only after it")
    func latchClearing() {
        var f = filter(.torque)
        f.trip(.operatorRequest, state: state(0.3), now: 0)
        let r10 = f.clear()
        #expect(!r10)
        var c = RobotCommand()
        let r11 = f.stopCommand(state: state(0.3), now: 10_000_000, into: &c)
        #expect(!r11)
        let r12 = f.clear()
        #expect(!r12)
        let r13 = f.stopCommand(state: state(0.3), now: 30_000_000, into: &c)
        #expect(r13)
        #expect(f.phase == .torqueOff && f.isLatched)
        let r14 = f.clear()
        #expect(r14)
        #expect(!f.isLatched && f.phase == .running)
    }

    @Test("hold: a PD law holds the position where the stop began, then torque off")
    func holdBehaviour() {
        var lim = testLimits()
        lim.stopStiffness = 5
        lim.stopDamping = 0.5
        var f = filter(.torque, limits: lim)
        f.trip(.watchdog, state: state(0.4, 0), now: 0)
        var c = RobotCommand()
        _ = f.stopCommand(state: state(0.3, 0.2), now: 1_000_000, into: &c)
        #expect(abs(c.setpoint[0] - (5 * 0.1 - 0.5 * 0.2)) < 1e-6)
        _ = f.stopCommand(state: state(-0.5, 0), now: 2_000_000, into: &c)
        #expect(c.setpoint[0] == 1, "clamped to the effort limit")
        let r15 = f.stopCommand(state: state(0.4, 0), now: 20_000_000, into: &c)
        #expect(r15)
        #expect(c.setpoint[0] == 0, "torque off after the hold")
    }

    @Test("park: the target ramps toward the park position, torque off only once there")
    func parkBehaviour() {
        var lim = testLimits()
        lim.stop = .park([0.5])
        lim.parkSpeed = 1
        lim.stopStiffness = 10
        lim.stopDamping = 0
        lim.joints[0].effortMax = 100
        var f = filter(.torque, limits: lim)
        f.trip(.requested, state: state(0, 0), now: 0)
        var c = RobotCommand()
        let r16 = f.stopCommand(state: state(0, 0), now: 100_000_000, into: &c)
        #expect(!r16)
        #expect(abs(c.setpoint[0] - 10 * 0.1) < 1e-5, "target 0.1 rad after 0.1 s at 1 rad/s")
        let r17 = f.stopCommand(state: state(0.3, 0), now: 1_000_000_000, into: &c)
        #expect(!r17, "not there yet")
        #expect(abs(c.setpoint[0] - 10 * 0.2) < 1e-5)
        let r18 = f.stopCommand(state: state(0.495, 0), now: 1_100_000_000, into: &c)
        #expect(r18)
        #expect(c.setpoint[0] == 0)
        #expect(!f.isLatched, "an orderly stop is not a latched fault")
    }

    @Test("position mode: torque off keeps the measured position instead of jumping to zero")
    func positionModeTorqueOff() {
        var f = filter(.position)
        f.trip(.requested, state: state(0.7), now: 0)
        var c = RobotCommand()
        let r19 = f.stopCommand(state: state(0.7), now: 100_000_000, into: &c)
        #expect(r19)
        #expect(c.setpoint[0] == 0.7)
    }

    @Test("invalid limits are rejected with the joint named")
    func invalidLimits() {
        var lim = testLimits(jointCount: 2)
        lim.joints[1].positionMin = 2
        #expect(throws: SafetyLimitsError.self) { try lim.validate(jointCount: 2) }
        do { try lim.validate(jointCount: 2) } catch { #expect(error.description.contains("joint 1")) }
    }
}

@Suite("Safety in the loop")
struct LoopSafetyTests {
    @Test("an e-stop press latches: stop behaviour, torque off, and it stays latched until cleared on purpose")
    func estopLatch() throws {
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 100_000))
        fx.estop.press()
        let r = try fx.loop.run()
        #expect(r.latched && r.reasons.contains(.estopInput))
        #expect(!fx.outputs.motorEnabled)
        #expect(fx.robot.lifecycle == .inactive)
        #expect(throws: ControlLoopError.latched(.estopInput)) { _ = try fx.loop.run() }
        let loop = fx.loop
        #expect(throws: ControlLoopError.estopStillAsserted) { try loop.clearStop() }
        fx.estop.release()
        #expect(fx.loop.latchedReasons.contains(.estopInput), "releasing the button does not clear the latch")
        try fx.loop.clearStop()
        #expect(fx.loop.latchedReasons.isEmpty)
    }

    @Test("an operator e-stop from another thread stops a running loop")
    func operatorStop() throws {
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .deadlines(periodNanos: 1_000_000)))
        let loop = fx.loop
        let t = try NativeThread(name: "stopper") {
            usleep(30_000)
            loop.requestEmergencyStop()
        }
        let r = try fx.loop.run()
        t.join()
        #expect(r.reasons == .operatorRequest && r.latched)
        try fx.loop.clearStop()
        let t2 = try NativeThread(name: "stopper") {
            usleep(30_000)
            loop.requestStop()
        }
        let again = try fx.loop.run()
        t2.join()
        #expect(again.reasons == .requested && !again.latched, "a cleared loop runs again until the next stop")
    }

    @Test("a NaN observation trips the stop and no NaN command reaches the robot")
    func nanObservation() throws {
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 1000))
        fx.robot.nanPositionFromRead = 50
        let r = try fx.loop.run()
        #expect(r.reasons.contains(.nonFiniteObservation) && r.latched)
        #expect(fx.robot.setpoints(joint: 0).allSatisfy { $0.isFinite })
        #expect(r.ticks < 100)
        let recorded = fx.drainRing()
        #expect(recorded.last?.header.flags.contains(.aborted) == true)
    }

    @Test("a NaN action trips the stop; the robot gets the hold command instead")
    func nanAction() throws {
        let policy = LinearTestPolicy(observationSize: 2, actionSize: 1, fill: 0.1)
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 1000), initialPolicy: policy)
        let (front, _, _) = fx.slot.acquire()
        front.nanActionFromCall = 20
        let r = try fx.loop.run()
        #expect(r.reasons == .nonFiniteAction)
        #expect(fx.robot.setpoints(joint: 0).allSatisfy { $0.isFinite })
    }

    @Test("a stalled robot link trips the command watchdog")
    func watchdogInLoop() throws {
        var lim = testLimits()
        lim.commandTimeout = 0.02
        let fx = try LoopFixture(limits: lim, configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 10_000))
        fx.robot.stallAtRead = 30
        fx.robot.stallNanos = 40_000_000
        let r = try fx.loop.run()
        #expect(r.reasons == .watchdog)
    }

    @Test("a robot fault trips the stop")
    func robotFault() throws {
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 1000))
        fx.robot.faultAtRead = 10
        let r = try fx.loop.run()
        #expect(r.reasons.contains(.robotFault))
    }

    @Test("repeated read failures trip a link-failure stop")
    func readFailures() throws {
        let fx = try LoopFixture(configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 1000))
        fx.robot.failReadsFrom = 10
        let r = try fx.loop.run()
        #expect(r.reasons.contains(.ioFailure))
        #expect(fx.loop.statistics.value(.readFailures) >= 10)
    }

    @Test("an orderly stop holds, then turns torque off: the last command is zero torque, and nothing latches")
    func orderlyStopEndsWithTorqueOff() throws {
        var lim = testLimits()
        lim.commandTimeout = 0.05
        lim.stopDuration = 0.2  // longer than the watchdog timeout: the hold must not trip it
        let fx = try LoopFixture(limits: lim, configuration: LoopConfiguration(pacing: .asFastAsPossible, maxTicks: 200))
        fx.robot.mock.disturb(joint: 0, position: 0.5)
        let r = try fx.loop.run()
        #expect(r.reasons == .requested && !r.latched)
        #expect(fx.robot.mock.lastCommand.setpoint[0] == 0, "the last command written is torque off")
        #expect(fx.robot.commandLogCount > 200, "the hold ran after the policy ticks")
        #expect(!fx.outputs.motorEnabled)
    }
}
