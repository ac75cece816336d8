// swift-tools-version: 6.2
//
// robotctl: an embedded real-time controller that learns on the robot.
// Module map (one job each):
//   SystemSupport the one OS layer: syscalls with EINTR handling, clock, sleep, threads, real-time set-up, atomic files, CRC-32
//   FixedNN      fixed-size, allocation-free networks, training kernels, tensor files
//   Control      the one 200 Hz loop (policy or operator as its action source), safety, policy slot, recording; owns RobotInterface
//   Hardware     serial motor bus, GPIO, teleop devices, robot bring-up, emulator process; conforms to Control's protocol
//   Tasks        tasks as data and the pendulum/cart-pole tasks, their onboard simulators, system id, the real plant
//   H2OTrainer   replay, H2O+ and baselines, the learner, training runs
//   Benchmarks   the gap, simulator, training, loop, link and inference benchmarks (not in the product modules)
//   Reporting    run-directory files, SVG charts and the offline HTML report
//   LiveView     the live web page and WebSocket of a running robot (--serve), fed from the logger side
//   robotctl     the command-line tool: parses, wires modules, prints
import Foundation
import PackageDescription

/// x86-64's default target is SSE2, which turns SIMD FMAs into scalar libm calls
/// (performance-notes.md, trap 1). Haswell (AVX2 + FMA) is the portable x86 baseline;
/// ARM64 has NEON and FMA by default and needs nothing.
#if arch(x86_64)
let cpuFlags: [String] = ["-target-cpu", "haswell"]
let cCPUFlags: [String] = ["-march=haswell"]
#else
let cpuFlags: [String] = []
let cCPUFlags: [String] = []
#endif

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
    .unsafeFlags(cpuFlags),
]
let strictC: [CSetting] = [.unsafeFlags(["-Wall", "-Wextra", "-Werror", "-std=c11"] + cCPUFlags)]

let package = Package(
    name: "robotctl",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "robotctl", targets: ["robotctl"]),
        .executable(name: "robot-emulator", targets: ["robot-emulator"]),
        .executable(name: "servo-emulator", targets: ["servo-emulator"]),
        .library(name: "FixedNN", targets: ["FixedNN"]),
        .library(name: "Control", targets: ["Control"]),
        .library(name: "Hardware", targets: ["Hardware"]),
        .library(name: "Tasks", targets: ["Tasks"]),
        .library(name: "H2OTrainer", targets: ["H2OTrainer"]),
        .library(name: "SystemSupport", targets: ["SystemSupport"]),
        .library(name: "Sessions", targets: ["Sessions"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // MARK: C libraries, one system-library target each, imported only where needed.
        .systemLibrary(
            name: "CGPIOD", path: "Sources/CGPIOD", pkgConfig: "libgpiod",
            providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(
            name: "CSerialPort", path: "Sources/CSerialPort", pkgConfig: "libserialport",
            providers: [.apt(["libserialport-dev"])]),
        // Calls Swift cannot make (ppoll, posix_openpt, signal-safe terminal restore).
        .target(name: "CHardwareShims", cSettings: strictC),

        // The emulated robot's "real" plant physics (portable C11, no heap); the emulator's
        // firmware drives it over a pty, Tasks steps it directly for fast evaluation.
        .target(
            name: "CPlant", path: "firmware-proto/plant", exclude: ["tests", "Makefile"],
            publicHeadersPath: "include", cSettings: strictC),
        // The reference motor-controller firmware core (portable C11, integer-only, no heap)
        // and the emulated robot: that core on the host, CPlant as its HAL, over a pty.
        .target(name: "CFirmware", path: "firmware-proto/firmware", cSettings: strictC),
        .executableTarget(
            name: "robot-emulator", dependencies: ["CFirmware", "CPlant"],
            path: "firmware-proto/emulator", cSettings: strictC,
            linkerSettings: [.linkedLibrary("m")]),
        // Emulated Dynamixel / Feetech servo buses: the servo side of both protocols in C (apart
        // from the Swift driver), CPlant behind each joint, over a pty.
        .executableTarget(
            name: "servo-emulator", dependencies: ["CPlant"], path: "firmware-proto/servo-emulator",
            exclude: ["README.md"], cSettings: strictC, linkerSettings: [.linkedLibrary("m")]),

        // Real-time calls Swift cannot make (CPU_SET, MXCSR/FPCR, TIMER_ABSTIME); `crt_` symbols.
        .target(name: "CRealtime", path: "Sources/CRealtime", cSettings: strictC),

        // MARK: Libraries
        // SIMD builtins Swift leaves scalar, and heap statistics for the inference benchmark.
        .target(name: "CFixedNN", cSettings: strictC),
        .target(
            name: "FixedNN", dependencies: ["CFixedNN"], exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(name: "Reporting", swiftSettings: swiftSettings),
        // The one OS layer: EINTR-retrying syscalls and SystemError, the monotonic clock and
        // absolute sleep, threads, real-time set-up, atomic file writes, CRC-32. The only
        // importer of CRealtime.
        .target(name: "SystemSupport", dependencies: ["CRealtime"], swiftSettings: swiftSettings),
        // The live view (`--serve`): a small web page and a WebSocket fed from the logger side.
        .target(
            name: "LiveView",
            dependencies: [
                "Control", "SystemSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Control", dependencies: ["FixedNN", "SystemSupport"], exclude: ["DATASET.md"],
            swiftSettings: swiftSettings),
        .target(
            name: "Hardware", dependencies: ["Control", "SystemSupport", "CGPIOD", "CSerialPort", "CHardwareShims"],
            swiftSettings: swiftSettings),
        // Robots and tasks as data: the generic planar-chain simulator, the sensor pipeline
        // (latency, encoder, firmware velocity filter), robot and task files, reward expressions;
        // the pendulum and cart-pole tasks with their onboard simulators and parameters, system
        // identification, and the real plant (CPlant) stepped directly.
        .target(name: "Tasks", dependencies: ["Control", "FixedNN", "CPlant"], swiftSettings: swiftSettings),
        .target(
            name: "H2OTrainer", dependencies: ["FixedNN", "Control", "Tasks", "SystemSupport"],
            swiftSettings: swiftSettings),

        // Benchmarks, out of the product modules: the sim-to-real gap benchmark, the simulator,
        // training-step, control-loop, motor-link and inference benchmarks, scripted-operator
        // datasets and the trainer-like load. CFixedNN for the inference benchmark's heap statistics.
        .target(
            name: "Benchmarks",
            dependencies: ["FixedNN", "Control", "Hardware", "Tasks", "H2OTrainer", "Reporting", "SystemSupport", "CFixedNN"],
            swiftSettings: swiftSettings),
        // What runs on a robot (run, eval), composed from the above; never imports Hardware.
        .target(
            name: "Sessions", dependencies: ["FixedNN", "Control", "Tasks", "H2OTrainer", "Reporting", "SystemSupport"],
            swiftSettings: swiftSettings),

        // MARK: The command-line tool
        .executableTarget(
            name: "robotctl",
            dependencies: [
                "FixedNN", "Control", "Hardware", "Tasks", "H2OTrainer", "Sessions", "Reporting", "SystemSupport", "Benchmarks", "LiveView",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        // MARK: Tests
        // Counts malloc/calloc/realloc/free per thread by interposing glibc's allocator.
        .target(name: "MallocCounter", path: "Tests/MallocCounter", cSettings: strictC),
        .target(
            name: "TestSupport", dependencies: ["MallocCounter", "FixedNN", "Control", "SystemSupport"],
            path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "SystemSupportTests", dependencies: ["SystemSupport", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "FixedNNTests", dependencies: ["FixedNN", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ControlTests", dependencies: ["Control", "FixedNN", "SystemSupport", "TestSupport"],
            swiftSettings: swiftSettings),
        // A child process the crash-safety test records with and kills (SIGKILL).
        .executableTarget(
            name: "CrashRecorder", dependencies: ["Control", "SystemSupport"], path: "Tests/CrashRecorder",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HardwareTests", dependencies: ["Hardware", "Control", "SystemSupport", "TestSupport", "Tasks"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TasksTests", dependencies: ["Tasks", "Control", "FixedNN", "TestSupport", "CPlant"], swiftSettings: swiftSettings),
        .testTarget(
            name: "H2OTrainerTests",
            dependencies: ["H2OTrainer", "Tasks", "FixedNN", "Control", "SystemSupport", "Hardware", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SessionsTests",
            dependencies: ["Sessions", "H2OTrainer", "Tasks", "FixedNN", "Control", "Reporting", "TestSupport", "Hardware", "SystemSupport"],
            swiftSettings: swiftSettings),
        // The two-thread training step under the thread sanitizer (H2OTrainerTests cannot be
        // compiled with -sanitize=thread by swift-frontend 6.3.1; this one-file target can).
        .testTarget(
            name: "H2OTrainerThreadTests", dependencies: ["H2OTrainer", "FixedNN"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "BenchmarksTests",
            dependencies: ["Benchmarks", "H2OTrainer", "Tasks", "FixedNN", "Control", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ReportingTests", dependencies: ["Reporting", "TestSupport"], exclude: ["Support"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "RobotctlTests", dependencies: ["TestSupport", "Control", "H2OTrainer", "Tasks", "Hardware", "FixedNN"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LiveViewTests", dependencies: ["LiveView", "Control", "TestSupport"], swiftSettings: swiftSettings),
    ]
)

/// `make tsan-test` sets ROBOTCTL_TSAN_ONLY=1 to build only the test targets that hold
/// `ThreadSanitized` suites (the cross-thread structures live in Control and Hardware, and the
/// two-thread training step in H2OTrainerThreadTests): the
/// TSan build stays short, and swift-frontend 6.3.1 crashes ("Invalid bitcast", broken module)
/// compiling H2OTrainerTests with -sanitize=thread. Every test still runs without TSan.
if ProcessInfo.processInfo.environment["ROBOTCTL_TSAN_ONLY"] == "1" {
    let threadSanitizedTestTargets: Set<String> = ["ControlTests", "HardwareTests", "H2OTrainerThreadTests"]
    package.targets.removeAll { $0.type == .test && !threadSanitizedTestTargets.contains($0.name) }
}
