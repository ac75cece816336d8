import Control
import Hardware
import SystemSupport

/// Summary of a set of latency samples, nanoseconds.
public struct LatencySummary: Sendable, Equatable {
    public var count: Int
    public var median: UInt64
    public var p99: UInt64
    public var max: UInt64
    public var mean: Double

    /// Nearest-rank percentiles of `samples`. Set-up code (sorts a copy).
    public init(_ samples: [UInt64]) {
        let s = samples.sorted()
        count = s.count
        func rank(_ p: Double) -> UInt64 {
            s.isEmpty
                ? 0 : s[Swift.min(s.count - 1, Swift.max(0, Int((p * Double(s.count)).rounded(.up)) - 1))]
        }
        median = rank(0.5)
        p99 = rank(0.99)
        max = s.last ?? 0
        mean = s.isEmpty ? 0 : Double(s.reduce(0, +)) / Double(s.count)
    }
}

/// What one benchmark run measured.
public struct LinkBenchmarkResult: Sendable {
    /// Round trip per tick: from starting the write to having the reply, nanoseconds.
    public var roundTrip: LatencySummary
    /// Ticks whose reply did not arrive (timeout, corruption, disconnection).
    public var failedTicks: Int
    /// Ticks that started after their deadline had passed (the loop fell behind).
    public var lateTicks: Int
    /// Achieved tick rate, Hz.
    public var achievedRateHz: Double
}

/// Measures the host → device → host round trip once per tick at a fixed rate.
///
/// The measured loop itself does not allocate: samples go into a preallocated array.
public enum LinkBenchmark {
    /// Per tick: `write` a COMMAND, then `read` the STATE answering it. `robot` must be
    /// active in torque mode. `setpoint(tick)` gives joint 0's torque.
    public static func robotRoundTrip(
        _ robot: MotorBusRobot, ticks: Int, rateHz: Double, setpoint: (Int) -> Float = { _ in 0 }
    ) -> LinkBenchmarkResult {
        var command = RobotCommand()
        command.mode = .torque
        command.jointCount = robot.info.jointCount
        var state = RobotState()
        return paced(ticks: ticks, rateHz: rateHz) { k in
            command.sequence = UInt32(truncatingIfNeeded: k)
            command.setpoint[0] = setpoint(k)
            guard robot.write(command) == .ok else { return false }
            return robot.read(into: &state) == .ok && state.commandSequenceEcho == command.sequence
        }
    }

    /// Per tick: write `frame` to an echo device and read the same number of bytes back.
    public static func echoRoundTrip(
        _ transport: any ByteTransport, frame: [UInt8], ticks: Int, rateHz: Double,
        timeoutNanos: UInt64 = 4_000_000
    ) -> LinkBenchmarkResult {
        let rx = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
        defer { rx.deallocate() }
        return frame.withUnsafeBytes { tx in
            paced(ticks: ticks, rateHz: rateHz) { _ in
                let deadline = monotonicNanos() &+ timeoutNanos
                guard transport.write(tx, deadlineNanos: deadline).status == .ok else { return false }
                var got = 0
                while got < tx.count {
                    let r = transport.read(
                        into: UnsafeMutableRawBufferPointer(rebasing: rx[got..<tx.count]),
                        deadlineNanos: deadline)
                    guard r.status == .ok else { return false }
                    got += r.count
                }
                return UnsafeRawBufferPointer(rebasing: rx[..<tx.count]).elementsEqual(tx)
            }
        }
    }

    /// Runs `tick` at `rateHz` on absolute deadlines (a late tick skips ahead, it does not
    /// burst) and times each call.
    static func paced(ticks: Int, rateHz: Double, _ tick: (Int) -> Bool) -> LinkBenchmarkResult {
        var samples = [UInt64](repeating: 0, count: ticks)
        let period = UInt64(1e9 / rateHz)
        var failed = 0
        var late = 0
        let start = monotonicNanos() &+ period
        var next = start
        for k in 0..<ticks {
            sleepUntil(monotonicNanos: next)
            let t0 = monotonicNanos()
            if t0 > next &+ period { late += 1 }
            if !tick(k) { failed += 1 }
            samples[k] = monotonicNanos() &- t0
            next &+= period
            let now = monotonicNanos()
            if now > next { next = now &+ period - (now &- start) % period }
        }
        let elapsed = Double(monotonicNanos() &- start) / 1e9
        return LinkBenchmarkResult(
            roundTrip: LatencySummary(samples), failedTicks: failed, lateTicks: late,
            achievedRateHz: Double(ticks) / elapsed)
    }
}
