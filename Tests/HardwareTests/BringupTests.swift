import Control
import Foundation
import Glibc
import TestSupport
import Testing

@testable import Hardware

/// The repository's emulated-pendulum calibration (beside the test sources).
private let repositoryCalibration: String = {
    var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast(3)  // Tests/HardwareTests/BringupTests.swift
    return components.joined(separator: "/") + "/calibration/emulated-pendulum.json"
}()

private func writeTemporary(_ name: String, _ text: String) throws -> (dir: String, path: String) {
    let dir = makeTemporaryDirectory("bringup")
    let path = dir + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return (dir, path)
}

@Suite("Robot bring-up: one parser, one watchdog policy, one default calibration, one emulator process")
struct BringupTests {
    @Test("emulator parameters: NAME=VALUE parsed strictly (joint names with a dot), passed as --param")
    func emulatorParameters() {
        let p: [(name: String, value: Double)] = [("j0.gain", 1), ("coulomb", 0.2)]
        #expect(EmulatedRobot.arguments(p) == ["--param", "j0.gain=1.0", "--param", "coulomb=0.2"])
        #expect(EmulatedRobot.parse("damping=0.3")! == ("damping", 0.3))
        #expect(EmulatedRobot.parse("j1.viscous=0.05")! == ("j1.viscous", 0.05))
        for bad in ["damping", "=1", "damping=", "damping=abc", "damping=nan", "damp ing=1", "damping=inf"] {
            #expect(EmulatedRobot.parse(bad) == nil, "\(bad)")
        }
        #expect(EmulatedRobot.describe([]) == "as its robot file")
        #expect(EmulatedRobot.describe(p) == "j0.gain=1.0, coulomb=0.2")
    }

    @Test("the same calibration gives the same safety limits and host watchdog, emulated or on a device")
    func sameWatchdogFromSameCalibration() throws {
        let calibration = try RobotCalibration.load(path: repositoryCalibration)
        let emulated = RobotBringup(link: RobotLink(bus: .firmware, port: "emulator"), calibration: calibration, calibrationPath: repositoryCalibration)
        let real = RobotBringup(link: RobotLink(bus: .firmware, port: "/dev/ttyACM0"), calibration: calibration, calibrationPath: repositoryCalibration)
        let servo = RobotBringup(link: RobotLink(bus: .dynamixel, port: "/dev/ttyUSB0"), calibration: calibration, calibrationPath: repositoryCalibration)
        #expect(emulated.emulated && !real.emulated && !servo.emulated)
        #expect(emulated.limits == real.limits && servo.limits == real.limits)
        #expect(emulated.limits == emulated.calibration.safetyLimits)
        #expect(emulated.limits.commandTimeout == 0.1 && real.limits.commandTimeout == 0.1)
        // The host watchdog is the real robot's firmware watchdog; the emulator's firmware gets more.
        #expect(real.firmwareWatchdogMillis == 100 && emulated.firmwareWatchdogMillis == 250)
        #expect(real.watchdogDescription == "host command watchdog 100 ms, firmware 100 ms")
    }

    @Test("a device that is not there fails connect with one line naming it, and leaves nothing open")
    func missingDeviceOneLine() throws {
        let calibration = try RobotCalibration.load(path: repositoryCalibration)
        let b = RobotBringup(link: RobotLink(bus: .firmware, port: "/dev/robotctl-no-such-port"), calibration: calibration, calibrationPath: repositoryCalibration)
        let error = #expect(throws: (any Error).self) { try b.connect(gpio: false) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("/dev/robotctl-no-such-port"))
        #expect(b.robot == nil && b.emulator == nil)
    }

    @Test("default files: found in the working directory, else in the executable's package, for any relative name")
    func defaultFileLookup() throws {
        let root = (repositoryCalibration as NSString).deletingLastPathComponent.replacingOccurrences(of: "/calibration", with: "")
        let exe = root + "/.build/x86_64-unknown-linux-gnu/debug/robotctl"
        #expect(RobotBringup.defaultFile("robots/pendulum.json", environment: [:], workingDirectory: "/tmp", executable: exe) == root + "/robots/pendulum.json")
        #expect(RobotBringup.defaultFile("tasks/pendulum-swingup.json", environment: [:], workingDirectory: root, executable: "/x/robotctl") == "tasks/pendulum-swingup.json")
        #expect(RobotBringup.defaultFile("robots/none.json", environment: [:], workingDirectory: "/tmp", executable: exe) == "robots/none.json")
    }

    @Test("the default calibration: the environment variable, else the working directory, else beside the executable's package")
    func defaultCalibrationLookup() throws {
        #expect(RobotBringup.defaultCalibrationPath(environment: ["ROBOTCTL_CALIBRATION": "/x/y.json"]) == "/x/y.json")
        // The test process's working directory may be anywhere: give an executable inside a
        // package's .build tree, in both layouts SwiftPM makes.
        let root = (repositoryCalibration as NSString).deletingLastPathComponent.replacingOccurrences(of: "/calibration", with: "")
        for exe in [root + "/.build/x86_64-unknown-linux-gnu/release/robotctl", root + "/.build/debug/robotctl"] {
            #expect(RobotBringup.defaultCalibrationPath(environment: [:], workingDirectory: "/tmp", executable: exe) == repositoryCalibration)
        }
        #expect(RobotBringup.defaultCalibrationPath(environment: [:], workingDirectory: root, executable: "/x/robotctl") == RobotBringup.emulatedCalibration)
        #expect(RobotBringup.defaultCalibrationPath(environment: [:], workingDirectory: "/tmp", executable: "/nowhere/bin/robotctl")
                == RobotBringup.emulatedCalibration)
    }

    @Test("terminate is bounded: a child that ignores SIGTERM is killed after the grace period")
    func boundedTerminate() throws {
        let child = try EmulatorProcess(
            executable: "/bin/sh", arguments: ["-c", "trap '' TERM; echo 'fake pty /dev/null'; while :; do sleep 1; done"])
        #expect(child.ptyPath == "/dev/null")
        let start = Date()
        child.terminate(graceNanos: 200_000_000)
        let seconds = Date().timeIntervalSince(start)
        #expect(child.wasKilled)
        #expect(seconds < 10, "terminate took \(seconds) s")
        #expect(kill(child.processID, 0) != 0, "the child is gone")
        child.terminate()  // twice is fine
    }
}
