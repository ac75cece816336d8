import Control
import Foundation
import Glibc
import Tasks
import TestSupport
import SystemSupport
import Testing

@testable import Hardware

/// robots/<name>.json from the repository root.
private func robotFile(_ name: String) throws -> RobotSpec {
    var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast(3)  // Tests/HardwareTests/MCUEmulatorEndToEndTests.swift
    return try RobotSpec.load(path: components.joined(separator: "/") + "/robots/\(name).json")
}

/// What a 200 Hz MotorBusRobot loop against the MCU saw.
private struct MCULoop {
    var ticks = 0
    var ok = 0
    var echoMismatches = 0
    var allocations: UInt64 = 0
    var firstPosition: Float = 0
    var lastPosition: Float = 0
    var hz = 0.0
}

/// read → write → sleep to the next absolute 5 ms deadline, `ticks` times, torque `torque(k)` on joint `joint`.
private func drive(_ robot: MotorBusRobot, ticks: Int, joint: Int, torque: (Int) -> Float) -> MCULoop {
    var r = MCULoop()
    var state = RobotState()
    var command = RobotCommand()
    command.mode = .torque
    command.jointCount = robot.info.jointCount
    var lastSent: UInt32 = 0
    let start = SystemSupport.monotonicNanos() + 5_000_000
    var next = start
    var before: UInt64 = 0
    for k in 0..<ticks {
        if k == 50 { before = threadAllocationCount() }
        sleepUntil(monotonicNanos: next)
        next += 5_000_000
        if robot.read(into: &state) == .ok {
            r.ok += 1
            if lastSent != 0 && state.commandSequenceEcho != lastSent { r.echoMismatches += 1 }
            if r.ok == 1 { r.firstPosition = state.position[joint] }
            r.lastPosition = state.position[joint]
        }
        command.setpoint[joint] = torque(k)
        command.sequence = UInt32(k + 1)
        if robot.write(command) == .ok { lastSent = command.sequence }
    }
    r.allocations = threadAllocationCount() &- before
    r.ticks = ticks
    r.hz = Double(ticks) / (Double(SystemSupport.monotonicNanos() - start) / 1e9)
    return r
}

private func motorBus(_ emulator: EmulatorProcess) -> MotorBusRobot {
    var c = MotorBusConfiguration(devicePath: emulator.ptyPath)
    c.replyBudgetNanos = 3_000_000
    c.retryIntervalNanos = 1_000_000
    c.maxConsecutiveFailures = 40  // 200 ms: QEMU descheduled on a loaded host is not a broken link
    return MotorBusRobot(configuration: c)
}

@Suite(
    "The reference firmware on the STM32F405 under qemu-system-arm, driven by MotorBusRobot",
    .serialized,
    .enabled(
        if: MCUEmulator.missingTools() == nil,
        "skipped: qemu-system-arm or arm-none-eabi-gcc is missing (`make cross-test` installs qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi)"
    ))
struct MCUEmulatorEndToEndTests {
    @Test(
        "the reference pendulum on the MCU: 3 s at 200 Hz, states answer every command, torque moves the rod, no allocation"
    )
    func pendulumOnTheMCU() throws {
        let emulator = try MCUEmulator.start(
            arguments: EmulatedRobot.arguments([(name: "actuator_gain", value: 0.7)]), seed: 5)
        defer { emulator.terminate() }
        #expect(emulator.ptyPath.hasPrefix("/dev/pts/"))
        let robot = motorBus(emulator)
        try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [2.0]))
        #expect(robot.info.jointCount == 1 && robot.info.encoderCountsPerRevolution == [4096])
        try robot.activate()
        let r = drive(robot, ticks: 600, joint: 0) { _ in 1.0 }
        let counters = robot.counters
        try robot.deactivate()
        robot.shutdown()
        let diagnostics = emulator.terminate()
        print(
            "mcu e2e: \(r.ok)/\(r.ticks) ticks answered at \(String(format: "%.1f", r.hz)) Hz, pendulum \(r.firstPosition) -> \(r.lastPosition) rad, \(counters)"
        )
        #expect(r.ok >= 560, "\(r.ok) of 600 ticks answered in time; \(counters)")
        #expect(r.echoMismatches <= 10, "\(r.echoMismatches) states did not echo the last command")
        #expect(r.allocations == 0, "the loop allocated \(r.allocations) times")
        #expect(abs(r.hz - 200) < 5)
        // 1 N·m commanded, 0.7 delivered (actuator_gain), against the hanging 1 kg, 1 m rod's
        // 5 N·m of gravity at horizontal: it settles near asin(0.7 / 5) = 0.14 rad from π.
        let deflection = abs(r.lastPosition - r.firstPosition)
        #expect(deflection > 0.07 && deflection < 0.28, "pendulum \(r.firstPosition) -> \(r.lastPosition)")
        #expect(
            diagnostics.contains("mcu: boot stm32f405") && diagnostics.contains("task=pendulum"),
            "\(diagnostics.prefix(400))")
    }

    @Test(
        "a robot file on the MCU: robots/acrobot.json's arguments give the chain, 2 axes, the elbow's torque limit, and it runs at 200 Hz"
    )
    func robotFileOnTheMCU() throws {
        let spec = try robotFile("acrobot")
        let emulator = try MCUEmulator.start(arguments: spec.emulatorArguments(), seed: 5)
        defer { emulator.terminate() }
        let robot = motorBus(emulator)
        try robot.configure(
            RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [0.001, 1.0]))
        #expect(robot.info.jointCount == 2 && robot.info.encoderCountsPerRevolution == [4096, 4096])
        // The passive shoulder reports no torque, the elbow its effort_limit (1 N·m).
        #expect(robot.capabilities.torqueMaxMilliNm[0] == 0 && robot.capabilities.torqueMaxMilliNm[1] == 1000)
        try robot.activate()
        let r = drive(robot, ticks: 400, joint: 1) { k in k < 200 ? 1.0 : -1.0 }
        robot.shutdown()
        let diagnostics = emulator.terminate()
        #expect(r.ok >= 370, "\(r.ok) of 400 ticks answered in time")
        #expect(abs(r.lastPosition - r.firstPosition) > 0.05, "elbow \(r.firstPosition) -> \(r.lastPosition)")
        #expect(
            diagnostics.contains("task=chain") && diagnostics.contains("boot_params=applied")
                && diagnostics.contains("motors=2"), "\(diagnostics.prefix(400))")
        #expect(!diagnostics.contains("faults=1"))
    }

    @Test(
        "robots/pendulum-stm32f405.json selects the MCU (link.port) and its arguments are the chain's, which the runner takes"
    )
    func pendulumRobotFile() throws {
        let spec = try robotFile("pendulum-stm32f405")
        #expect(spec.link.bus == .firmware && spec.link.port == MCUEmulator.port)
        let args = spec.emulatorArguments()
        #expect(Array(args.prefix(4)) == ["--task", "chain", "--rate", "1000"])
        #expect(
            args.filter { $0 == "--param" }.count <= 32, "the MCU's boot block holds at most 32 parameters")
        #expect(
            try robotFile("pendulum").emulatorArguments() == args, "the same robot as robots/pendulum.json")
    }

    @Test("bad input: a runner that is not there, and robot-emulator's link-fault options, fail in one line")
    func badInput() throws {
        #expect(throws: HardwareError.self) {
            _ = try MCUEmulator.locateRunner(environment: ["ROBOTCTL_MCU_RUNNER": "/nonexistent/run-qemu.sh"])
        }
        #expect(
            MCUEmulator.missingTools(environment: ["PATH": "/nonexistent"])?.contains(
                "qemu-system-arm and arm-none-eabi-gcc not found") == true)
        do {
            _ = try MCUEmulator.start(arguments: ["--drop", "0.1"], timeoutNanos: 60_000_000_000)
            Issue.record("--drop was accepted")
        } catch {
            let line = "\(error)"
            #expect(line.contains("unknown option --drop") && !line.contains("\n"), "\(line)")
        }
    }
}
