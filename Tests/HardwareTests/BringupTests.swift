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
    @Test("emulator parameters: defaults overridden by name, NAME=VALUE parsed strictly, passed as --param")
    func emulatorParameters() {
        #expect(EmulatedRobot.defaultParameters.map(\.name) == ["actuator_gain"])
        let p = EmulatedRobot.parameters(overriding: [("actuator_gain", 1), ("coulomb", 0.2)])
        #expect(p.map(\.name) == ["actuator_gain", "coulomb"] && p.map(\.value) == [1, 0.2])
        #expect(EmulatedRobot.arguments(p) == ["--param", "actuator_gain=1.0", "--param", "coulomb=0.2"])
        #expect(EmulatedRobot.parse("damping=0.3")! == ("damping", 0.3))
        for bad in ["damping", "=1", "damping=", "damping=abc", "damping=nan", "damp ing=1", "damping=inf"] {
            #expect(EmulatedRobot.parse(bad) == nil, "\(bad)")
        }
        #expect(EmulatedRobot.describe([]) == "reference robot")
    }

    @Test("the same calibration gives the same safety limits and host watchdog, emulated or from a robot file")
    func sameWatchdogFromSameCalibration() throws {
        let emulated = try RobotBringup.prepare(robotConfig: nil, calibration: repositoryCalibration)
        let (dir, config) = try writeTemporary(
            "robot.json", #"{"schema_version": 1, "serial_port": "/dev/ttyACM0", "calibration": "\#(repositoryCalibration)"}"#)
        defer { removeTemporaryDirectory(dir) }
        let real = try RobotBringup.prepare(robotConfig: config, calibration: nil)
        #expect(emulated.emulated && !real.emulated)
        #expect(emulated.calibration == real.calibration)
        #expect(emulated.limits == real.limits)
        #expect(emulated.limits == emulated.calibration.safetyLimits)
        #expect(emulated.limits.commandTimeout == 0.1 && real.limits.commandTimeout == 0.1)
        // The host watchdog is the real robot's firmware watchdog; the emulator's firmware gets more.
        #expect(real.firmwareWatchdogMillis == 100 && emulated.firmwareWatchdogMillis == 250)
        #expect(real.watchdogDescription == "host command watchdog 100 ms, firmware 100 ms")
    }

    @Test("a robot file the one parser rejects names the file and the field, whoever reads it")
    func oneParserRejects() throws {
        for (text, field) in [
            (#"{"serial_port": "/dev/ttyUSB0"}"#, "schema_version"),
            (#"{"schema_version": 1, "serial_port": "/dev/ttyUSB0", "baud_rate": -5}"#, "baud_rate"),
            (#"{"schema_version": 1, "serial_port": "/dev/ttyUSB0", "speed": 5}"#, "speed"),
            (#"{"schema_version": 1}"#, "serial_port"),
        ] {
            let (dir, path) = try writeTemporary("robot.json", text)
            defer { removeTemporaryDirectory(dir) }
            let error = #expect(throws: CalibrationError.self) { _ = try RobotBringup.prepare(robotConfig: path, calibration: repositoryCalibration) }
            #expect(error?.field == field, "\(text)")
            #expect(error?.description.hasPrefix(path) == true)
        }
        let (dir, path) = try writeTemporary("robot.json", #"{"schema_version": 1, "serial_port": "/dev/ttyUSB0"}"#)
        defer { removeTemporaryDirectory(dir) }
        let missing = #expect(throws: CalibrationError.self) { _ = try RobotBringup.prepare(robotConfig: path, calibration: nil) }
        #expect(missing?.field == "calibration")
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
