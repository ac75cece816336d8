import Control
import Foundation
import Hardware
import Tasks
import Testing

@testable import Sessions

private func repositoryFile(_ relative: String) -> String {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    components.removeLast(3)  // Tests/H2OTrainerTests/TeleopEmulatorTests.swift
    return components.joined(separator: "/") + "/" + relative
}

/// Thread-safe box for the loop's result.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<LoopResult, ControlLoopError>?
    func set(_ v: Result<LoopResult, ControlLoopError>) { lock.lock(); value = v; lock.unlock() }
    func get() -> Result<LoopResult, ControlLoopError>? { lock.lock(); defer { lock.unlock() }; return value }
}

@Suite("Teleop for N joints on the emulated robot")
struct TeleopEmulatorTests {
    @Test("scripted key presses through the keyboard reader move the emulated acrobot's elbow (d: +, a: −), the status line shows both joints")
    func keysMoveTheElbow() throws {
        let robotSpec = try RobotSpec.load(path: repositoryFile("robots/acrobot.json"))
        let taskSpec = try TaskSpec.load(path: repositoryFile("tasks/acrobot-swingup.json"), robot: robotSpec)
        let emulated = try EmulatedFileRobot(robotSpec, controlRateHz: taskSpec.controlRateHz, task: taskSpec.name)
        defer { emulated.close() }
        let task = try GenericTask(robot: robotSpec, task: taskSpec)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[1]) }
        let keyboard = KeyboardReader(fileDescriptor: fds[0], mapping: taskSpec.keyboardMapping)
        let source = try OperatorSource(
            inputs: [keyboard], observationSize: task.observationSize, actionSize: task.actionSize, reset: .operator)
        let ring = TransitionRing(capacity: 4096, observationCount: task.observationSize, actionCount: task.actionSize)
        let loop = try ControlLoop(
            robot: emulated.robot, task: task, source: source, limits: emulated.calibration.safetyLimits, mode: .torque, ring: ring,
            configuration: LoopConfiguration(pacing: .deadlines(periodNanos: 5_000_000), maxTicks: 2000))
        func press(_ keys: String) { _ = keys.utf8CString.withUnsafeBufferPointer { write(fds[1], $0.baseAddress!, keys.utf8.count) } }

        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.set(withRealtimePriority { Result { () throws(ControlLoopError) in try loop.run() } })
            done.signal()
        }
        thread.start()
        let names = robotSpec.joints.map(\.name), units = robotSpec.joints.map { $0.body.kind == .revolute ? "rad" : "m" }
        var elbow: [Float] = [], shoulder: [Float] = [], lines: [String] = []
        func sample(seconds: Double) {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                usleep(10_000)
                guard loop.statistics.publishedJointCount == 2 else { continue }
                elbow.append(loop.statistics.jointPosition(1))
                shoulder.append(loop.statistics.jointPosition(0))
                lines.append(TeleopStatus.joints(names: names, units: units, statistics: loop.statistics))
            }
        }
        sample(seconds: 0.3)
        let rest = elbow.map(abs).max() ?? 0
        press("ddd")  // elbow action +0.75 (0.75 N·m)
        sample(seconds: 1.5)
        let afterPlus = elbow
        press("aaaaaa")  // −0.75
        sample(seconds: 1.5)
        press("q")
        #expect(done.wait(timeout: .now() + 20) == .success, "the loop stops on q")
        let result = try #require(box.get()).get()
        #expect(!result.latched, "\(result.reasons)")
        print("teleop on the emulated acrobot: \(lines.last ?? "no status"); elbow at rest \(rest), max \(afterPlus.max() ?? 0), then min \(elbow.min() ?? 0) rad; shoulder max |q| \(shoulder.map(abs).max() ?? 0)")
        #expect(rest < 0.02, "the elbow hangs still before any key")
        #expect((afterPlus.max() ?? 0) > 0.08, "d d d moved the elbow positive")
        #expect((elbow.suffix(from: afterPlus.count).min() ?? 0) < -0.08, "then a ×6 moved it negative")
        let last = try #require(lines.last)
        #expect(last.contains("shoulder ") && last.contains(" | elbow ") && last.contains("rad/s"), "\(last)")
        #expect(TeleopStatus.actions(names: taskSpec.teleopJointNames(robot: robotSpec), source: source) == "action elbow -0.75")
    }
}
