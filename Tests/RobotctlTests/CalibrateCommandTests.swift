import Control
import Foundation
import Testing
import TestSupport

private func scratch(_ tag: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

extension EmulatorDrivingCommandTests {
@Suite("robotctl calibrate against the emulated robot", .serialized)
struct CalibrateCommandTests {
    @Test("the interactive steps, driven by a stdin script with a redone step, write a valid calibration")
    func interactiveScript() throws {
        let dir = scratch("calibrate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/cal.json"
        // direction: Enter, keep; zero: Enter, redo, Enter, keep; range: continuous, keep.
        let script = "\n\n\nr\n\n\nc\n\n"
        let r = try runProcess(builtProduct("robotctl"), ["calibrate", "--output", out, "--robot-id", "bench-pendulum"],
                               input: script, timeout: 90)
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)\n\(r.stdout)")
        #expect(r.stdout.contains("Step 1/3") && r.stdout.contains("Step 3/3"))
        #expect(r.stdout.components(separatedBy: "Step 2/3").count == 3, "the zero step ran twice:\n\(r.stdout)")
        let cal = try RobotCalibration.load(path: out)
        #expect(cal.robotID == "bench-pendulum")
        let j = cal.joints[0]
        #expect(j.direction == 1)
        // The emulator's pendulum hangs at 2048 counts = π with zero 0; nobody holds it, so
        // Coulomb friction (0.1 N·m against 5 N·m·sin θ of gravity) lets it stick up to
        // asin(0.02) = 0.02 rad = 13 counts from the bottom after the direction pulse.
        #expect(abs(j.zeroOffsetCounts) <= 16, "zero offset \(j.zeroOffsetCounts)")
        #expect(j.positionMin == nil && j.positionMax == nil)
        #expect(cal.systemIdentification == nil)
    }

    @Test("q at a prompt aborts and writes nothing")
    func quitWritesNothing() throws {
        let dir = scratch("calibrate-q")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/cal.json"
        let r = try runProcess(builtProduct("robotctl"), ["calibrate", "--output", out], input: "s\n\nq\n", timeout: 60)
        #expect(r.status != 0)
        #expect(r.stderr.contains("aborted"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("system identification recovers the emulator's plant parameters within 10 % and shrinks the prediction error")
    func sysidAgainstEmulator() throws {
        let dir = scratch("sysid")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/cal.json"
        let truth = ["rotor_inertia": 0.05, "damping": 0.08, "coulomb": 0.15, "actuator_gain": 0.85]
        // The emulated pendulum is the chain plant of robots/pendulum.json: its joint 0's names.
        let plantName = ["rotor_inertia": "j0.rotor_inertia", "damping": "j0.viscous", "coulomb": "j0.coulomb", "actuator_gain": "j0.gain"]
        let params = truth.sorted { $0.key < $1.key }.flatMap { ["--emulator-param", "\(plantName[$0.key]!)=\($0.value)"] }
        let r = try runProcess(
            builtProduct("robotctl"), ["calibrate", "--no-interactive", "--sysid", "--sysid-seconds", "40", "--output", out] + params,
            timeout: 120)
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)\n\(r.stdout)")
        print(r.stdout)
        let cal = try RobotCalibration.load(path: out)
        let s = try #require(cal.systemIdentification)
        let expected = ["inertia": 1.0 / 3 + 0.05, "damping": 0.08, "coulomb": 0.15, "actuator_gain": 0.85]
        for (name, value) in expected {
            let got = try #require(s.parameters[name])
            #expect(abs(got - value) / value < 0.10, "\(name): fitted \(got), true \(value)")
        }
        #expect(s.heldOutErrorAfter < s.heldOutErrorBefore, "before \(s.heldOutErrorBefore), after \(s.heldOutErrorAfter)")
        #expect(r.stdout.contains("one-step prediction error"))
    }

    @Test("a missing calibration file gives one error line naming it, and nothing is written")
    func missingCalibration() throws {
        let dir = scratch("calibrate-missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/cal.json"
        let missing = dir + "/nope.json"
        let r = try runProcess(builtProduct("robotctl"), ["calibrate", "--calibration", missing, "--output", out], input: "")
        #expect(r.status != 0)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1 && errors[0].contains(missing), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
}
