import ArgumentParser
import Benchmarks
import Control
import Foundation
import Hardware

/// `robotctl bench link`: host -> emulator -> host round trip per tick, beside a trivial
/// echo over a pty measured in the same run.
struct BenchLinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Measure the serial-link round trip per control tick against the emulated robot.",
        discussion: """
            Each tick sends a COMMAND and waits for the STATE answering it, through the real \
            MotorBusRobot over the robot-emulator's pseudo-terminal. With --peer, the same \
            COMMAND bytes are bounced off an echo program over a pty in the same run, so the \
            kernel's pty cost is visible. Both programs run under SCHED_FIFO when permitted.

            Example: robotctl bench link --seconds 10 --peer /tmp/pty-echo --json
            """
    )

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 10

    @Option(help: "Tick rate, Hz.")
    var rate: Double = 200

    @Option(help: "The robot-emulator executable (default: next to robotctl).")
    var emulator: String?

    @Option(
        help:
            "An echo program that prints \"...pty /dev/pts/N\" on its first stdout line and echoes every byte."
    )
    var peer: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard rate >= 1, rate <= 2000 else { throw ValidationError("--rate must be in [1, 2000] Hz") }
    }

    func run() throws {
        let ticks = Int(seconds * rate)
        let realtime = RealtimeThread.raise(priority: 60)
        defer { RealtimeThread.restore(realtime) }

        let emulatorPath = try emulator ?? EmulatorProcess.locateBesideExecutable()
        let emu = try EmulatorProcess(
            executable: emulatorPath, arguments: ["--seed", "1"], realtimePriority: 50)
        var config = MotorBusConfiguration(devicePath: emu.ptyPath)
        config.maxConsecutiveFailures = Int.max  // a benchmark counts failed ticks, it does not stop
        let robot = MotorBusRobot(configuration: config)
        try robot.configure(RobotConfiguration(mode: .torque, watchdogMillis: 100, setpointLimit: [0.5]))
        try robot.activate()
        _ = LinkBenchmark.robotRoundTrip(robot, ticks: Int(rate / 2), rateHz: rate)  // warm-up
        let ours = LinkBenchmark.robotRoundTrip(robot, ticks: ticks, rateHz: rate) { k in
            0.2 * Float(sin(Double(k) / 40))
        }
        let counters = robot.counters
        robot.shutdown()
        emu.terminate()

        var peerResult: LinkBenchmarkResult?
        if let peer {
            let echo = try EmulatorProcess(executable: peer, realtimePriority: 50)
            let transport = try TermiosTransport(path: echo.ptyPath)
            let frame = BenchLinkCommand.commandFrame()
            _ = LinkBenchmark.echoRoundTrip(transport, frame: frame, ticks: Int(rate / 2), rateHz: rate)
            peerResult = LinkBenchmark.echoRoundTrip(transport, frame: frame, ticks: ticks, rateHz: rate)
            transport.close()
            echo.terminate()
        }
        let report = Report(
            rateHz: rate, ticks: ticks, realtime: realtime != nil && emu.isRealtime,
            emulator: Row(ours), peer: peerResult.map(Row.init),
            framesSent: counters.framesSent, framesReceived: counters.framesReceived,
            crcErrors: counters.crcErrors, retries: counters.retries, timeouts: counters.timeouts)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
    }

    /// The bytes MotorBusRobot sends per tick for one motor (leading 0x00 + COMMAND frame).
    static func commandFrame() -> [UInt8] {
        var body = [UInt8](repeating: 0, count: WireLimits.maxPayload)
        var scratch = [UInt8](repeating: 0, count: WireLimits.maxPayload)
        var out = [UInt8](repeating: 0, count: WireLimits.maxFrame)
        var setpoints = WireInts(repeating: 0)
        setpoints[0] = 150
        let (type, n) = body.withUnsafeMutableBytes {
            WireBody.write(.command(count: 1, setpoints: setpoints), into: $0.baseAddress!)
        }
        let count = body.withUnsafeBytes { b in
            scratch.withUnsafeMutableBytes { s in
                FrameEncoder.encode(
                    type: type, sequence: 1, body: UnsafeRawBufferPointer(rebasing: b[..<n]),
                    scratch: s.baseAddress!, into: &out)
            }
        }
        return [0] + out[..<count]
    }

    struct Row: Encodable {
        var medianMicros, p99Micros, maxMicros, meanMicros, achievedHz: Double
        var failedTicks, lateTicks, samples: Int
        init(_ r: LinkBenchmarkResult) {
            medianMicros = Double(r.roundTrip.median) / 1000
            p99Micros = Double(r.roundTrip.p99) / 1000
            maxMicros = Double(r.roundTrip.max) / 1000
            meanMicros = r.roundTrip.mean / 1000
            achievedHz = r.achievedRateHz
            failedTicks = r.failedTicks
            lateTicks = r.lateTicks
            samples = r.roundTrip.count
        }
    }

    struct Report: Encodable {
        var rateHz: Double
        var ticks: Int
        var realtime: Bool
        var emulator: Row
        var peer: Row?
        var framesSent, framesReceived, crcErrors, retries, timeouts: Int

        var text: String {
            func f(_ x: Double) -> String { String(format: "%.1f", x) }
            var s = "link round trip at \(f(rateHz)) Hz, \(ticks) ticks\(realtime ? " (SCHED_FIFO)" : ""):\n"
            s +=
                "  emulator: median \(f(emulator.medianMicros)) µs, p99 \(f(emulator.p99Micros)) µs, max \(f(emulator.maxMicros)) µs, failed \(emulator.failedTicks), late \(emulator.lateTicks)\n"
            if let peer {
                s +=
                    "  pty echo: median \(f(peer.medianMicros)) µs, p99 \(f(peer.p99Micros)) µs, max \(f(peer.maxMicros)) µs, failed \(peer.failedTicks)\n"
                s +=
                    "  ratio (emulator / echo): median \(String(format: "%.2f", emulator.medianMicros / peer.medianMicros)), p99 \(String(format: "%.2f", emulator.p99Micros / peer.p99Micros))"
            }
            return s
        }
    }
}

/// Raises the calling thread to SCHED_FIFO for the measurement when permitted (as the
/// control thread runs on the robot) and restores it after.
private enum RealtimeThread {
    struct Saved {
        var policy: Int32
        var param: sched_param
    }

    static func raise(priority: Int32) -> Saved? {
        var saved = Saved(policy: 0, param: sched_param())
        pthread_getschedparam(pthread_self(), &saved.policy, &saved.param)
        var param = sched_param(sched_priority: priority)
        return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0 ? saved : nil
    }

    static func restore(_ saved: Saved?) {
        guard var saved else { return }
        pthread_setschedparam(pthread_self(), saved.policy, &saved.param)
    }
}
