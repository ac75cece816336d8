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
    components.removeLast(3)  // Tests/HardwareTests/ServoRobotFileEndToEndTests.swift
    return try RobotSpec.load(path: components.joined(separator: "/") + "/robots/\(name).json")
}

/// What the bring-up does with a servo robot file: its link and mounting as Hardware's ServoLink.
func servoLink(_ spec: RobotSpec) throws -> ServoLink {
    try ServoLink(
        bus: spec.link.bus.rawValue, port: spec.link.port, baud: spec.link.baud, ids: spec.link.servoIDs,
        models: spec.link.servoModels, jointNames: spec.joints.map(\.name),
        directions: spec.joints.map(\.direction),
        zeroOffsetCounts: spec.joints.map(\.zeroOffsetCounts), robotID: spec.id, file: spec.source)
}

/// The robot file's servo robot on servo-emulator's chain plant, configured in `mode`.
/// `gap`: the file's reality gap (`emulator.params`) after its mechanism, as the bring-up passes it.
private func startRobot(
    _ name: String, mode: ControlMode, gap: Bool = false, extra: [String] = []
) throws -> (EmulatorProcess, ServoBusRobot, RobotSpec) {
    let spec = try robotFile(name)
    let (emu, robot) = try EmulatedServoBus.start(
        link: try servoLink(spec), plantParameters: spec.plantParameters() + (gap ? spec.emulatorGap() : []), seed: 7,
        extraArguments: extra)
    let limits = spec.joints.map { j -> Float in
        switch mode {
        case .torque: Float(j.actuator!.effortLimit)
        case .velocity: Float(j.velocityLimit)
        case .position: Float(j.positionLimits?.upperBound ?? 3)
        }
    }
    do {
        try robot.configure(RobotConfiguration(mode: mode, watchdogMillis: 100, setpointLimit: limits))
    } catch {
        emu.terminate()
        throw error
    }
    return (emu, robot, spec)
}

/// Positions and efforts of every tick of a 200 Hz loop (read, then write `setpoint(tick, joint)`).
private struct Trajectory {
    var elbowPeak: Float { position[1].max() ?? 0 }
    var position: [[Float]] = []
    var effort: [[Float]] = []
    var ok = 0
    var allocations: UInt64 = 0
}

private func drive(
    _ robot: ServoBusRobot, ticks: Int, mode: ControlMode, setpoint: (Int, Int) -> Float
) -> Trajectory {
    var t = Trajectory()
    t.position = Array(repeating: Array(repeating: 0, count: ticks), count: robot.info.jointCount)
    t.effort = t.position
    var state = RobotState()
    var command = RobotCommand()
    command.mode = mode
    command.jointCount = robot.info.jointCount
    var next = SystemSupport.monotonicNanos()
    var before: UInt64 = 0
    for k in 0..<ticks {
        if k == 50 { before = threadAllocationCount() }
        next += 5_000_000
        sleepUntil(monotonicNanos: next)
        if robot.read(into: &state) == .ok { t.ok += 1 }
        for j in 0..<command.jointCount {
            t.position[j][k] = state.position[j]
            t.effort[j][k] = state.effort[j]
            command.setpoint[j] = setpoint(k, j)
        }
        command.sequence = UInt32(k + 1)
        _ = robot.write(command)
    }
    t.allocations = threadAllocationCount() &- before
    return t
}

@Suite(
    "Servo robot files end to end: the robot file's link and mechanism on servo-emulator's chain", .serialized
)
struct ServoRobotFileEndToEndTests {
    @Test(
        "Koch (XM430-W350 + XL330-M288, current mode): torque on the elbow alone swings the shoulder the other way — one coupled chain"
    )
    func kochCoupled() throws {
        let (emu, robot, _) = try startRobot("koch-dynamixel", mode: .torque)
        defer { emu.terminate() }
        #expect(robot.info.jointNames == ["shoulder", "elbow"])
        #expect(
            robot.info.firmwareVersion.contains("1:XM430-W350")
                && robot.info.firmwareVersion.contains("2:XL330-M288"))
        var s = RobotState()
        #expect(robot.read(into: &s) == .ok)
        #expect(
            abs(s.position[0]) < 0.02 && abs(s.position[1]) < 0.02,
            "hangs at the file's zero: \(s.position[0]), \(s.position[1])")
        try robot.activate()
        let t = drive(robot, ticks: 1000, mode: .torque) { k, j in j == 1 && k < 600 ? 0.03 : 0 }
        print(robot.busTimeSummary)
        try robot.deactivate()
        robot.shutdown()
        #expect(t.ok >= 950, "\(t.ok) of 1000 reads ok, \(robot.counters)")
        #expect(t.allocations == 0, "read/write allocated \(t.allocations) times")
        // The elbow turns up under its 0.03 N·m (link 2's gravity moment is 0.025 N·m at
        // horizontal) and the shoulder, unpowered, is pushed back by the reaction: servos with a
        // pendulum each would leave it at 0 (±1 count of noise).
        let elbowPeak = t.elbowPeak
        #expect(elbowPeak > 0.5, "elbow reached only \(elbowPeak) rad")
        #expect(
            t.position[0][599] < -0.01, "shoulder at \(t.position[0][599]) rad: no reaction from the elbow")
        // Present current × the XL330-M288's torque constant reads back the commanded torque.
        let effort = t.effort[1][100..<600].reduce(0, +) / 500
        #expect(abs(effort - 0.03) < 0.01, "elbow effort \(effort) N·m for 0.03 commanded")
        // Unpowered after 3 s, the elbow falls back towards hanging.
        #expect(t.position[1][999] < elbowPeak - 0.2, "elbow did not fall back: \(t.position[1][999])")
    }

    @Test(
        "SO-101 (two STS3215, position mode): the servos' own position loops carry the coupled arm to the goals"
    )
    func so101Position() throws {
        let (emu, robot, spec) = try startRobot("so101-feetech", mode: .position)
        defer { emu.terminate() }
        #expect(robot.info.jointNames == spec.joints.map(\.name))
        var s = RobotState()
        #expect(robot.read(into: &s) == .ok)
        #expect(
            abs(s.position[0]) < 0.02 && abs(s.position[1]) < 0.02,
            "hangs at the file's zero: \(s.position[0]), \(s.position[1])")
        try robot.activate()
        let goal: [Float] = [0.7, -0.5]
        let t = drive(robot, ticks: 600, mode: .position) { _, j in goal[j] }
        print(robot.busTimeSummary)
        let timing = robot.timing
        try robot.deactivate()
        robot.shutdown()
        #expect(t.ok >= 570, "\(t.ok) of 600 reads ok, \(robot.counters)")
        #expect(t.allocations == 0)
        // P gain 10.7 N·m/rad against up to 0.27 N·m of gravity: within a few hundredths.
        for j in 0..<2 {
            let q = t.position[j][599]
            #expect(abs(q - goal[j]) < 0.08, "joint \(j) at \(q), goal \(goal[j])")
        }
        // The shoulder holds the raised arm against gravity: a load on its present current.
        let load = t.effort[0][400..<600].reduce(0, +) / 200
        #expect(load > 0.02, "shoulder effort \(load) N·m while holding the arm up")
        #expect(
            timing.meanReadNanos >= timing.theoreticalReadNanos * 8 / 10
                && timing.meanReadNanos <= timing.theoreticalReadNanos + 2_000_000, "\(timing)")
    }

    @Test(
        "robots/pendulum-dynamixel.json (one XM430-W350 in current mode before the pendulum, its gap): energy pumping at 200 Hz raises the rod from hanging to above horizontal"
    )
    func dynamixelPendulumSwingUp() throws {
        let (emu, robot, spec) = try startRobot("pendulum-dynamixel", mode: .torque, gap: true)
        defer { emu.terminate() }
        #expect(spec.id == "emulated-pendulum" && robot.info.jointNames == ["pendulum"])
        #expect(robot.info.firmwareVersion.contains("1:XM430-W350"), "\(robot.info.firmwareVersion)")
        var s = RobotState()
        #expect(robot.read(into: &s) == .ok)
        #expect(abs(abs(s.position[0]) - Float.pi) < 0.1, "hangs down at ±π (the file's gap j0.start), read \(s.position[0])")
        try robot.activate()
        // Push along the velocity with the 2 N·m limit (0.7 of it delivered: j0.gain): the rod
        // swings higher each half period.
        var highest: Float = -1
        var command = RobotCommand()
        command.mode = .torque
        command.jointCount = 1
        var next = SystemSupport.monotonicNanos()
        var ok = 0
        var before: UInt64 = 0
        for k in 0..<1600 {
            if k == 50 { before = threadAllocationCount() }
            next += 5_000_000
            sleepUntil(monotonicNanos: next)
            if robot.read(into: &s) == .ok { ok += 1 }
            highest = max(highest, cos(s.position[0]))
            command.setpoint[0] = s.velocity[0] >= 0 ? 2 : -2
            command.sequence = UInt32(k + 1)
            _ = robot.write(command)
        }
        let allocations = threadAllocationCount() &- before
        print(robot.busTimeSummary)
        robot.shutdown()
        #expect(ok >= 1500, "\(ok) of 1600 reads ok, \(robot.counters)")
        #expect(allocations == 0, "read/write allocated \(allocations) times")
        #expect(highest > 0, "the rod never rose above horizontal (highest cos θ \(highest))")
    }

    @Test("Tasks' list of servo models a robot file may name is Hardware's ServoModel.known, bus by bus")
    func modelListsAgree() {
        for bus in ServoBusKind.allCases {
            let hardware = ServoModel.known.filter { $0.bus == bus }.map(\.name)
            let tasks = RobotSpec.servoModels[RobotSpec.Bus(rawValue: bus.rawValue)!] ?? []
            #expect(hardware == tasks, "\(bus): Hardware \(hardware), Tasks \(tasks)")
        }
    }

    @Test(
        "ServoLink: defaults from the models, emulator arguments, and one-line errors naming the file and field"
    )
    func servoLinkChecks() throws {
        let link = try servoLink(try robotFile("koch-dynamixel"))
        #expect(link.isEmulator)
        #expect(link.zeroOffsetCounts == [2048, 2048] && link.directions == [1, 1])
        #expect(
            abs(link.torqueConstantsNmPerAmp[0] - 4.1 / 2.3) < 1e-4
                && abs(link.torqueConstantsNmPerAmp[1] - 0.52 / 1.47) < 1e-4)
        let args = EmulatedServoBus.arguments(link: link, plantParameters: [("j0.mass", 0.2)], seed: 3)
        #expect(
            args.joined(separator: " ").contains(
                "--ids 1,2 --model xm430-w350,xl330-m288 --baud 1000000 --plant chain"))
        #expect(args.suffix(2) == ["--param", "j0.mass=0.2"])
        let c = link.configuration(devicePath: "/dev/pts/9")
        #expect(c.devicePath == "/dev/pts/9" && c.baudRate == 1_000_000 && c.robotID == "koch-dynamixel")
        func error(_ body: () throws -> ServoLink) -> String {
            do {
                _ = try body()
                return "accepted"
            } catch { return "\(error)" }
        }
        let names = ["a", "b"]
        let bare = try ServoLink(bus: "feetech", port: "/dev/ttyACM0", baud: 1_000_000, ids: [1, 2], models: [], jointNames: names, file: "r.json")
        #expect(bare.models.map(\.name) == ["STS3215", "STS3215"] && !bare.isEmulator)
        var e = error {
            try ServoLink(
                bus: "dynamixel", port: "emulator", baud: 1_000_000, ids: [1, 2],
                models: ["XM430-W350", "STS3215"], jointNames: names, file: "r.json")
        }
        #expect(
            e.contains("r.json") && e.contains("link.models[1]")
                && e.contains("\"STS3215\" is not a Dynamixel Protocol 2.0 model") && !e.contains("\n"),
            "\(e)")
        e = error {
            try ServoLink(
                bus: "feetech", port: "emulator", baud: 2_000_000, ids: [1, 2],
                models: ["STS3215", "STS3215"], jointNames: names, file: "r.json")
        }
        #expect(e.contains("link.baud") && e.contains("cannot run at 2000000 baud"), "\(e)")
        e = error {
            try ServoLink(
                bus: "feetech", port: "emulator", baud: 1_000_000, ids: [1, 1],
                models: ["STS3215", "STS3215"], jointNames: names, file: "r.json")
        }
        #expect(e.contains("link.ids[1]") && e.contains("id 1 is given twice"), "\(e)")
        e = error {
            try ServoLink(
                bus: "can", port: "emulator", baud: 1_000_000, ids: [1, 2], models: ["STS3215", "STS3215"],
                jointNames: names, file: "r.json")
        }
        #expect(e.contains("\"can\" is not a servo bus"), "\(e)")
    }
}
