import Control
import Glibc
import TestSupport
import SystemSupport
import Testing

@testable import Hardware

/// The pipelined link against the real robot-emulator with `--latency-ms`: issue 13 measured
/// 100 % failed ticks at 3 ms one-way latency. Up to the documented bound (a round trip of two
/// periods less a fifth: 9 ms at 200 Hz) every tick gets a state and the control thread still
/// allocates nothing; beyond it, `configure` refuses with one line giving both figures.
extension EmulatorEndToEndTests {
    @Suite("The motor-bus link under latency (robot-emulator --latency-ms)", .serialized)
    struct LinkLatencyTests {
        static func emulator(latencyMillis: Double) throws -> EmulatorProcess {
            try EmulatorProcess(
                executable: try EmulatorProcess.locateBesideExecutable(),
                arguments: ["--seed", "3", "--latency-ms", "\(latencyMillis)"], realtimePriority: 50)
        }

        struct Run {
            var ticks = 0
            var ok = 0
            var echoAge: [Int] = []  // [n]: states answering the command of tick k-1-n, read at tick k
            var allocations: UInt64 = 0
            var roundTrip = LinkRoundTrip()
        }

        /// `ticks` ticks of read → write at 200 Hz on a SCHED_FIFO thread when permitted;
        /// allocations counted after 100 warm-up ticks.
        static func drive(_ robot: MotorBusRobot, ticks: Int) -> Run {
            var oldPolicy: Int32 = 0
            var oldParam = sched_param()
            pthread_getschedparam(pthread_self(), &oldPolicy, &oldParam)
            var param = sched_param(sched_priority: 60)
            let raised = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0
            defer { if raised { pthread_setschedparam(pthread_self(), oldPolicy, &oldParam) } }
            var run = Run()
            var ages = InlineArray<8, Int>(repeating: 0)
            var state = RobotState()
            var command = RobotCommand()
            command.mode = .torque
            command.jointCount = 1
            let period: UInt64 = 5_000_000
            var next = SystemSupport.monotonicNanos() + period
            var before: UInt64 = 0
            for k in 0..<ticks {
                if k == 100 { before = threadAllocationCount() }
                sleepUntil(monotonicNanos: next)
                if robot.read(into: &state) == .ok {
                    run.ok += 1
                    let age = k - Int(state.commandSequenceEcho)
                    if k > 0 && age >= 0 && age < 8 { ages[age] += 1 }
                }
                command.sequence = UInt32(k + 1)
                command.setpoint[0] = 0.1 * sin(Float(k) * 0.05)
                _ = robot.write(command)
                next += period
            }
            run.allocations = threadAllocationCount() - before
            run.ticks = ticks
            run.echoAge = (0..<8).map { ages[$0] }
            run.roundTrip = robot.roundTrip
            return run
        }

        @Test("0, 2 and 4 ms one-way: every tick gets a state, replies one tick late when the round trip needs it, no allocation",
              arguments: [0.0, 2.0, 4.0])
        func withinTheBound(latencyMillis: Double) throws {
            let emulator = try Self.emulator(latencyMillis: latencyMillis)
            defer { _ = emulator.terminate() }
            var c = MotorBusConfiguration(devicePath: emulator.ptyPath)
            c.maxConsecutiveFailures = 40
            let robot = MotorBusRobot(configuration: c)
            try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 250, setpointLimit: [1.0]))
            try robot.activate()
            let r = Self.drive(robot, ticks: 1_200)
            let counters = robot.counters
            try robot.deactivate()
            robot.shutdown()
            print("link latency \(latencyMillis) ms: \(r.ok)/\(r.ticks) ticks with a state; echo age (ticks) \(r.echoAge); \(r.roundTrip); \(counters)")
            // Before: at 3 ms every tick failed. Now the start costs up to two ticks, and a
            // loaded 2-core machine (the emulator or this thread woken late) a few more.
            #expect(r.ok >= r.ticks * 95 / 100, "ticks with a state: \(r.ok)/\(r.ticks)")
            #expect(r.allocations == 0, "the control thread allocated \(r.allocations) times")
            let measured = Double(r.roundTrip.maxNanos) / 1e6
            #expect(measured >= 2 * latencyMillis, "round trip \(measured) ms below twice the one-way latency")
            if latencyMillis >= 3 {
                // A round trip over one period: the state of tick k's command is used at tick k+2.
                #expect(r.roundTrip.pipelinedReplies >= r.ok * 9 / 10, "\(r.roundTrip)")
                #expect(r.echoAge[1] >= r.ok * 9 / 10, "echo ages \(r.echoAge)")
            } else {
                // Within one period: the state answers the previous tick's command.
                #expect(r.echoAge[0] >= r.ok * 9 / 10, "echo ages \(r.echoAge)")
            }
        }

        @Test("beyond the bound (6 ms one-way, 12 ms round trip) configure refuses in one line with both figures")
        func beyondTheBound() throws {
            let emulator = try Self.emulator(latencyMillis: 6)
            defer { _ = emulator.terminate() }
            let robot = MotorBusRobot(configuration: MotorBusConfiguration(devicePath: emulator.ptyPath))
            let error = try #require(throws: HardwareError.self) {
                try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 250, setpointLimit: [1.0]))
            }
            print("beyond the bound: \(error)")
            #expect(error.kind == .noResponse)
            #expect(error.description.contains(emulator.ptyPath))
            #expect(error.description.contains("the robot answers in 12.") || error.description.contains("the robot answers in 13."), "\(error)")
            #expect(error.description.contains("the link allows 9.0 ms at 200 Hz"), "\(error)")
            #expect(!error.description.contains("\n"))
            robot.shutdown()
        }

        @Test("a 400 Hz loop allows 4.5 ms: 3 ms one-way is refused there, accepted at 200 Hz")
        func boundFollowsTheRate() throws {
            let emulator = try Self.emulator(latencyMillis: 3)
            defer { _ = emulator.terminate() }
            var fast = MotorBusConfiguration(devicePath: emulator.ptyPath)
            fast.controlPeriodNanos = 2_500_000
            #expect(fast.roundTripAllowanceNanos == 4_500_000)
            let refused = MotorBusRobot(configuration: fast)
            let error = try #require(throws: HardwareError.self) {
                try refused.configure(RobotConfiguration(mode: .torque, watchdogMillis: 250, setpointLimit: [1.0]))
            }
            #expect(error.description.contains("the link allows 4.5 ms at 400 Hz"), "\(error)")
            refused.shutdown()
            let accepted = MotorBusRobot(configuration: MotorBusConfiguration(devicePath: emulator.ptyPath))
            try accepted.configure(RobotConfiguration(mode: .torque, watchdogMillis: 250, setpointLimit: [1.0]))
            #expect(accepted.roundTrip.setupMinNanos >= 6_000_000)
            accepted.shutdown()
        }
    }
}

/// The in-flight bookkeeping on its own: which request a reply answers, what is late.
@Suite("LinkPipeline")
struct LinkPipelineTests {
    func request(_ seq: UInt16, at t: UInt64) -> InFlightRequest {
        InFlightRequest(sequence: seq, sentNanos: t, isCommand: true, commandSequence: UInt32(seq) + 100)
    }

    @Test("a reply to the newest settles both; one to the older keeps the newest in flight")
    func answers() {
        var p = LinkPipeline()
        p.sent(request(1, at: 0))
        let droppedAtSecond = p.sent(request(2, at: 5_000_000))
        #expect(!droppedAtSecond)
        #expect(p.older?.sequence == 1 && p.newest?.sequence == 2)
        let first = p.answer(echo: 1, now: 8_000_000)
        #expect(first?.commandSequence == 101)
        #expect(p.older == nil && p.newest?.sequence == 2)
        #expect(p.timing.pipelinedReplies == 1 && p.timing.lastNanos == 8_000_000)
        let droppedAtThird = p.sent(request(3, at: 10_000_000))
        #expect(!droppedAtThird)
        let third = p.answer(echo: 3, now: 10_500_000)
        #expect(third?.sequence == 3)
        #expect(p.older == nil && p.newest == nil)
        #expect(p.timing.replies == 2 && p.timing.maxNanos == 8_000_000)
    }

    @Test("a third request gives the oldest up; its late reply is counted and timed")
    func late() {
        var p = LinkPipeline()
        p.sent(request(7, at: 0))
        p.sent(request(8, at: 5_000_000))
        let dropped = p.sent(request(9, at: 10_000_000))
        #expect(dropped)
        #expect(p.older?.sequence == 8 && p.newest?.sequence == 9)
        let lateReply = p.answer(echo: 7, now: 13_000_000)
        #expect(lateReply == nil)
        #expect(p.timing.lateReplies == 1 && p.timing.lateMinNanos == 13_000_000)
        let unknown = p.answer(echo: 6, now: 13_000_000)  // never sent: counted, not timed
        #expect(unknown == nil)
        #expect(p.timing.lateReplies == 2 && p.timing.lateMinNanos == 13_000_000)
        _ = p.answer(echo: 9, now: 14_000_000)
        #expect(p.timing.lateMinNanos == 0, "a used reply ends the late streak")
    }

    @Test("the allowance is two periods less a fifth, and the message gives both figures")
    func allowance() {
        var c = MotorBusConfiguration(devicePath: "/dev/ttyACM0")
        #expect(c.roundTripAllowanceNanos == 9_000_000)
        #expect(c.tooSlowMessage(roundTripNanos: 12_345_678).hasPrefix("the robot answers in 12.3 ms; the link allows 9.0 ms at 200 Hz"))
        c.controlPeriodNanos = 1_000_000
        #expect(c.roundTripAllowanceNanos == 1_800_000)
        #expect(c.tooSlowMessage(roundTripNanos: 2_000_000).contains("the link allows 1.8 ms at 1000 Hz"))
    }
}
