import Control
import Foundation
import Glibc
import H2OTrainer
import Hardware
import Testing
import TestSupport

private func temporaryDirectory(_ tag: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The number after "durable" in the newest status line, or 0.
private func durableRecords(_ stderr: String) -> Int {
    guard let r = stderr.range(of: " durable", options: .backwards) else { return 0 }
    let before = stderr[..<r.lowerBound]
    let digits = before.reversed().prefix { $0.isNumber }
    return Int(String(digits.reversed())) ?? 0
}

/// A pseudo-terminal the test types keys into; the child reads its terminal side as stdin.
private final class KeyTerminal {
    let pty: PseudoTerminal
    let slave: Int32

    init() throws {
        pty = try PseudoTerminal()
        slave = open(pty.slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw POSIXError(.EIO) }
    }

    func type(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(pty.masterFileDescriptor, $0.baseAddress, $0.count) }
    }

    deinit { close(slave) }
}

/// Commands that start the emulated robot and drive it in real time. Serialized as a whole so
/// that two emulators and two 200 Hz loops of this area never compete for the two cores.
@Suite("robotctl commands driving the emulated robot", .serialized)
struct EmulatorDrivingCommandTests {}

extension EmulatorDrivingCommandTests {
@Suite("robotctl teleop against the emulated robot", .serialized)
struct TeleopCommandTests {
    @Test("keys through a pseudo-terminal: next, redo and stop give the expected episodes")
    func keyboardThroughPseudoTerminal() throws {
        let dir = temporaryDirectory("teleop-keys")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/data"
        let pty = try KeyTerminal()
        let p = try LiveProcess(builtProduct("robotctl"), ["teleop", "--record", data, "--reset", "operator"], stdin: pty.slave)
        #expect(p.waitForStderr(timeout: 20) { $0.contains("recording into") }, "teleop did not start: \(p.stderr)")
        pty.type("n")  // episode 0 starts
        usleep(150_000)
        for _ in 0..<3 {  // action 0.25, 0.5, 0.75
            pty.type("d")
            usleep(150_000)
        }
        usleep(400_000)
        pty.type("n")  // episode 0 kept; operator reset phase
        usleep(200_000)
        pty.type("s")  // action 0
        usleep(300_000)
        pty.type("n")  // episode 1 starts
        usleep(400_000)
        pty.type("r")  // episode 1 discarded
        usleep(200_000)
        pty.type("n")  // episode 2 starts
        usleep(400_000)
        pty.type("q")  // stop: episode 2 kept
        let status = p.wait(timeout: 20)
        #expect(status == 0, "exit \(status): \(p.stderr)")
        #expect(p.stdout.contains("(2 kept, 1 discarded)"), "\(p.stdout)")

        let reader = try DatasetReader(directory: data)
        #expect(reader.schema.source == "teleop" && reader.schema.task == "pendulum-swingup")
        let table = try reader.episodeTable()
        #expect(table.entries.map(\.episode) == [0, 1, 2])
        #expect(table.entries.map(\.status) == [.kept, .discarded, .kept])
        #expect(table.entries.map(\.reason) == ["next", "redo", "stop"])
        let all = reader.transitions()
        #expect(all.count == table.entries.map(\.records).reduce(0, +), "no record outside an episode")
        let e0 = all.filter { $0.header.episode == 0 }
        // About 1 s of recording at 200 Hz, with the three key presses in it.
        #expect(e0.count > 150 && e0.count < 260, "episode 0 has \(e0.count) records")
        #expect(Set(e0.map { $0.action[0] }).isSuperset(of: [0, 0.25, 0.5, 0.75]))
        #expect(e0.last!.action[0] == 0.75)
        #expect(all.allSatisfy { $0.header.flags.contains(.teleop) })
        // The pendulum moved under the operator's torque (θ̇ is the third observation).
        #expect(e0.map { abs($0.observation[2]) }.max()! > 0.1)
        let kept = try reader.keptD4RLArrays()
        let keptRecords = all.filter { $0.header.episode != 1 }.count
        #expect(kept.count == keptRecords - 2)
    }

    @Test("N joints: the task file's default keys (a/d first joint, j/l second) drive each joint of a file-defined 2-link arm")
    func twoJointKeys() throws {
        let dir = temporaryDirectory("teleop-arm2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixtures = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/") + "/Fixtures/tasks"
        let data = dir + "/data"
        let pty = try KeyTerminal()
        let p = try LiveProcess(
            builtProduct("robotctl"),
            ["teleop", "--robot", fixtures + "/arm2-robot.json", "--task", fixtures + "/arm2-reach.json", "--record", data, "--reset", "operator"],
            stdin: pty.slave)
        #expect(p.waitForStderr(timeout: 30) { $0.contains("recording into") }, "teleop did not start: \(p.stderr)")
        #expect(p.stderr.contains("a/←−d/→+ shoulder, j−l+ elbow"), "key summary: \(p.stderr.suffix(600))")
        pty.type("n")  // episode 0 starts
        usleep(200_000)
        pty.type("d")  // shoulder +0.25
        usleep(200_000)
        for _ in 0..<2 {  // elbow −0.25, −0.5
            pty.type("j")
            usleep(200_000)
        }
        usleep(300_000)
        pty.type("q")
        let status = p.wait(timeout: 20)
        #expect(status == 0, "exit \(status): \(p.stderr)")
        let reader = try DatasetReader(directory: data)
        #expect(reader.schema.task == "arm2-reach" && reader.schema.actionCount == 2)
        let all = reader.transitions()
        #expect(Set(all.map { $0.action[0] }).isSuperset(of: [0, 0.25]))
        #expect(Set(all.map { $0.action[1] }).isSuperset(of: [0, -0.25, -0.5]))
        #expect(all.last.map { [$0.action[0], $0.action[1]] } == [0.25, -0.5])
    }

    @Test("gamepad events through a FIFO drive the torque and the episode buttons")
    func gamepadThroughFIFO() throws {
        let dir = temporaryDirectory("teleop-js")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/data"
        let js = try JoystickFIFO(directory: dir)
        // The driver's initial-state events, then nothing pressed.
        js.event(type: 0x82, number: 0, value: 0)
        js.event(type: 0x81, number: 0, value: 0)
        let p = try LiveProcess(builtProduct("robotctl"), ["teleop", "--record", data, "--joystick", js.path, "--reset", "operator"])
        #expect(p.waitForStderr(timeout: 20) { $0.contains("recording into") }, "teleop did not start: \(p.stderr)")
        js.press(0)  // episode 0 starts
        usleep(100_000)
        js.event(type: 2, number: 0, value: -16384)  // about -0.47 after the dead zone
        usleep(600_000)
        js.press(0)  // episode 0 kept
        js.event(type: 2, number: 0, value: 0)
        usleep(300_000)
        js.press(0)  // episode 1
        usleep(300_000)
        js.press(1)  // redo: discarded
        usleep(200_000)
        js.press(0)  // episode 2
        usleep(300_000)
        js.press(2)  // stop
        let status = p.wait(timeout: 20)
        #expect(status == 0, "exit \(status): \(p.stderr)")

        let reader = try DatasetReader(directory: data)
        let table = try reader.episodeTable()
        #expect(table.entries.map(\.status) == [.kept, .discarded, .kept])
        let e0 = reader.transitions().filter { $0.header.episode == 0 }
        let expected = GamepadTeleopMapping().action(axisValue: -16384.0 / 32767)
        #expect(e0.contains { $0.action[0] == expected }, "episode 0 never recorded the axis value \(expected)")
        #expect(abs(expected + 0.474) < 0.01)
    }

    @Test("SIGKILL mid-episode keeps every durable record; the dataset reopens and takes a new session")
    func killedMidEpisode() throws {
        let dir = temporaryDirectory("teleop-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/data"
        let js = try JoystickFIFO(directory: dir)
        let p = try LiveProcess(builtProduct("robotctl"), ["teleop", "--record", data, "--joystick", js.path, "--reset", "operator"])
        #expect(p.waitForStderr(timeout: 20) { $0.contains("recording into") }, "teleop did not start: \(p.stderr)")
        js.press(0)
        js.event(type: 2, number: 0, value: 8000)
        #expect(p.waitForStderr(timeout: 20) { durableRecords($0) >= 300 }, "never saw 300 durable records: \(p.stderr)")
        let durable = durableRecords(p.stderr)
        p.send(SIGKILL)
        #expect(p.wait() == -9 || p.process.terminationReason == .uncaughtSignal)

        let reader = try DatasetReader(directory: data)
        let records = reader.transitions()
        #expect(records.count >= durable, "\(records.count) records on disk, \(durable) were reported durable")
        #expect(records.allSatisfy { $0.header.episode == 0 })
        #expect(zip(records, records.dropFirst()).allSatisfy { $1.header.tick > $0.header.tick })
        #expect(records.first?.header.flags.contains(.episodeStart) == true)
        #expect(try reader.episodeTable().entries.isEmpty, "the killed episode never ended")

        // A new session appends to the same dataset and numbers its episodes after the old ones.
        try FileManager.default.createDirectory(atPath: dir + "/second", withIntermediateDirectories: true)
        let js2 = try JoystickFIFO(directory: dir + "/second")
        let q = try LiveProcess(builtProduct("robotctl"), ["teleop", "--record", data, "--joystick", js2.path, "--reset", "operator"])
        #expect(q.waitForStderr(timeout: 20) { $0.contains("recording into") }, "\(q.stderr)")
        #expect(q.stderr.contains("from episode 1"))
        js2.press(0)
        usleep(300_000)
        js2.press(2)
        #expect(q.wait(timeout: 20) == 0, "\(q.stderr)")
        let after = try DatasetReader(directory: data)
        #expect(after.transitions().count > records.count)
        #expect(try after.episodeTable().entries.map(\.episode) == [1])
    }
}
}
