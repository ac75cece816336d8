import Foundation
import Glibc

/// The reference firmware on an emulated STM32F405 (Cortex-M4F) under `qemu-system-arm -M
/// netduinoplus2`, as the emulated robot: firmware-proto/mcu/run-qemu.sh builds the image and
/// the runner when they are missing or stale and keeps robot-emulator's start-up contract (the
/// first stdout line ends with the pty of the MCU's USART1), so the returned
/// `EmulatorProcess` is driven exactly like robot-emulator's, by `MotorBusRobot`.
///
/// Bring-up: a robot file whose `link` is `{"bus": "firmware", "port": "qemu-stm32f405"}`
/// (`MCUEmulator.port`) starts it with `MCUEmulator.start(arguments: spec.emulatorArguments())`
/// (robot-emulator's arguments: `--task chain --rate 1000 --param ...`; the MCU runs the plant
/// at its own 1 kHz tick and takes at most 32 parameters).
///
/// Set-up only.
public enum MCUEmulator {
    /// The robot file `link.port` that selects this emulator.
    public static let port = "qemu-stm32f405"
    /// Names the runner explicitly (a path to run-qemu.sh or robot-mcu-qemu).
    public static let runnerEnvironmentVariable = "ROBOTCTL_MCU_RUNNER"
    /// The runner inside the package.
    public static let runnerInPackage = "firmware-proto/mcu/run-qemu.sh"
    /// The process the runner becomes (run-qemu.sh execs it; it starts and stops QEMU).
    public static let runnerName = "robot-mcu-qemu"

    /// True when `name` is an executable on PATH.
    public static func onPath(
        _ name: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Bool {
        let dirs = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.contains { access("\($0)/\(name)", X_OK) == 0 }
    }

    /// The tools the image and the run need: `qemu-system-arm` and the cross compiler (for a
    /// first build); nil when both are there, else one line naming what is missing and the fix.
    public static func missingTools(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        let missing = ["qemu-system-arm", "arm-none-eabi-gcc"].filter {
            !onPath($0, environment: environment)
        }
        guard !missing.isEmpty else { return nil }
        return
            "\(missing.joined(separator: " and ")) not found on PATH; install them with `sudo apt-get install qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi` (or `make cross-test`)"
    }

    /// The runner: `ROBOTCTL_MCU_RUNNER`; else run-qemu.sh in the package the executable was
    /// built in (the nearest parent directory of the executable holding `runnerInPackage`), or in
    /// the working directory. Throws one line naming where it looked.
    public static func locateRunner(
        environment: [String: String] = ProcessInfo.processInfo.environment, executable: String? = nil
    ) throws -> String {
        if let e = environment[runnerEnvironmentVariable], !e.isEmpty {
            guard access(e, X_OK) == 0 else {
                throw HardwareError(
                    .noSuchDevice, device: e, problem: "\(runnerEnvironmentVariable) names no executable",
                    fix: "point it at \(runnerInPackage) or unset it")
            }
            return e
        }
        let exe =
            executable
            ?? ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        var dir = (exe as NSString).deletingLastPathComponent
        while !dir.isEmpty && dir != "/" {
            let candidate = dir + "/" + runnerInPackage
            if access(candidate, X_OK) == 0 { return candidate }
            dir = (dir as NSString).deletingLastPathComponent
        }
        if access(runnerInPackage, X_OK) == 0 {
            return FileManager.default.currentDirectoryPath + "/" + runnerInPackage
        }
        throw HardwareError(
            .noSuchDevice, device: runnerInPackage,
            problem: "not found above \(exe.isEmpty ? "this program" : exe) nor in the working directory",
            fix: "run from the repository, or set \(runnerEnvironmentVariable) to run-qemu.sh")
    }

    /// Starts the firmware on the emulated MCU with robot-emulator's `arguments` (`--task`,
    /// `--param NAME=VALUE`, `--seed`; `--rate` only 1000) and returns it once its UART answers
    /// HELLO (`ptyPath`). `timeoutNanos` covers a first build of the image (about 15 s) and
    /// QEMU's start (a 1 s pty poll); `terminate()` stops the runner, which stops QEMU.
    /// Throws one line: tools missing, runner not found, or the runner's own error.
    public static func start(
        arguments: [String] = [], seed: UInt64 = 1, realtimePriority: Int = 70,
        diagnosticsFile: String? = nil,
        timeoutNanos: UInt64 = 120_000_000_000
    ) throws -> EmulatorProcess {
        if let missing = missingTools() {
            throw HardwareError(
                .noSuchDevice, device: "qemu-system-arm", problem: missing,
                fix: "install the packages, then run again")
        }
        let runner = try locateRunner()
        var args = arguments
        if !args.contains("--seed") { args += ["--seed", "\(seed)"] }
        args += ["--realtime", "\(realtimePriority)"]
        if let diagnosticsFile { args += ["--diag", diagnosticsFile] }
        // The runner raises QEMU to SCHED_FIFO itself; it needs no priority of its own.
        return try EmulatorProcess(executable: runner, arguments: args, timeoutNanos: timeoutNanos)
    }
}
