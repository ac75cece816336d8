/// A request the host sent and whose STATE reply it still expects.
struct InFlightRequest: Equatable {
    var sequence: UInt16
    var sentNanos: UInt64
    /// True for a COMMAND (its reply echoes `commandSequence`), false for a STATE_REQUEST.
    var isCommand: Bool
    var commandSequence: UInt32
}

/// Round-trip figures of a motor-bus link: request sent to its STATE reply consumed, so a
/// reply that waited in the input buffer counts until the tick that read it.
public struct LinkRoundTrip: Sendable, Equatable {
    /// Replies used by a tick.
    public var replies = 0
    /// Replies used one tick after the one they answer (the pipelined case).
    public var pipelinedReplies = 0
    /// The newest and the largest round trip of a used reply, nanoseconds.
    public var lastNanos: UInt64 = 0
    public var maxNanos: UInt64 = 0
    /// Replies that came after their request had been given up (too late to be used).
    public var lateReplies = 0
    /// The smallest round trip of the late replies since the last used reply (0: none):
    /// what "the robot answers in N ms" reports when the link fails for slowness.
    public var lateMinNanos: UInt64 = 0
    /// The smallest round trip of the set-up requests (HELLO, CONFIGURE, ...), nanoseconds (0: none yet).
    public var setupMinNanos: UInt64 = 0
    public init() {}
}

/// The requests in flight on a pipelined motor-bus link. Each tick sends one request (the
/// COMMAND); its reply is used by the next tick when it has arrived by then (within the
/// reply budget), otherwise by the tick after (it may arrive one control period late). So at
/// most two requests are in flight: `newest` (sent in the last tick) and `older` (the one
/// before, now due). A reply to anything else is late and counted. The send times of the last
/// 16 sequence numbers are kept so that late replies are timed too.
///
/// Thread contract: owned by `MotorBusRobot`, one thread at a time. Real-time safe: fixed
/// storage; no allocation, lock or throw.
struct LinkPipeline {
    private(set) var newest: InFlightRequest?
    private(set) var older: InFlightRequest?
    private(set) var timing = LinkRoundTrip()
    private var sentSequence = InlineArray<16, UInt16>(repeating: 0)
    private var sentAt = InlineArray<16, UInt64>(repeating: 0)

    /// Records a request just sent. It becomes `newest`; the previous newest, still unanswered,
    /// becomes `older`, and an unanswered `older` is given up (returns true then).
    @discardableResult
    mutating func sent(_ r: InFlightRequest) -> Bool {
        let slot = Int(r.sequence & 15)
        sentSequence[slot] = r.sequence
        sentAt[slot] = r.sentNanos
        let droppedOlder = older != nil && newest != nil
        if newest != nil { older = newest }
        newest = r
        return droppedOlder
    }

    /// The request a STATE echoing `echo`, consumed at `now`, answers, with its round trip
    /// recorded. Answering `newest` also settles `older` (a fresher state needs no older one).
    /// nil: a late reply (its request was given up or superseded), counted and timed.
    mutating func answer(echo: UInt16, now: UInt64) -> InFlightRequest? {
        if let n = newest, n.sequence == echo {
            newest = nil
            older = nil
            used(now &- n.sentNanos, pipelined: false)
            return n
        }
        if let o = older, o.sequence == echo {
            older = nil
            used(now &- o.sentNanos, pipelined: true)
            return o
        }
        timing.lateReplies += 1
        let slot = Int(echo & 15)
        if sentSequence[slot] == echo, now > sentAt[slot] {
            let rtt = now - sentAt[slot]
            if timing.lateMinNanos == 0 || rtt < timing.lateMinNanos { timing.lateMinNanos = rtt }
        }
        return nil
    }

    private mutating func used(_ rtt: UInt64, pipelined: Bool) {
        timing.replies += 1
        if pipelined { timing.pipelinedReplies += 1 }
        timing.lastNanos = rtt
        timing.maxNanos = max(timing.maxNanos, rtt)
        timing.lateMinNanos = 0
    }

    /// Gives up `older` (past the allowance).
    mutating func dropOlder() { older = nil }

    /// Gives up `newest` (too old to be used by the next tick).
    mutating func dropNewest() { newest = nil }

    /// Forgets every request in flight (set-up calls, faults, reconnects).
    mutating func forget() {
        newest = nil
        older = nil
    }

    /// Records the round trip of a set-up request.
    mutating func setupRoundTrip(_ nanos: UInt64) {
        if timing.setupMinNanos == 0 || nanos < timing.setupMinNanos { timing.setupMinNanos = nanos }
    }
}

extension MotorBusConfiguration {
    /// The longest round trip the pipelined link can use: two control periods less a fifth of
    /// one (9 ms at 200 Hz). A STATE answering tick k's COMMAND must be in before tick k+2
    /// has read; the fifth is room for the tick's own computing and the wake-up jitter.
    public var roundTripAllowanceNanos: UInt64 { 2 * controlPeriodNanos - controlPeriodNanos / 5 }

    /// "the robot answers in 12.1 ms; the link allows 9.0 ms at 200 Hz (…); use a faster link
    /// …": the one line for a robot slower than the pipelined link allows.
    public func tooSlowMessage(roundTripNanos: UInt64) -> String {
        "\(tooSlowProblem(roundTripNanos: roundTripNanos)); \(Self.tooSlowFix)"
    }

    func tooSlowProblem(roundTripNanos: UInt64) -> String {
        let hz = controlPeriodNanos > 0 ? 1e9 / Double(controlPeriodNanos) : 0
        return "the robot answers in \(milliseconds(roundTripNanos)) ms; the link allows \(milliseconds(roundTripAllowanceNanos)) ms at \(hz.formatted0) Hz (a reply may come one control period late)"
    }

    static let tooSlowFix = "use a faster link (USB, a higher baud rate, a shorter cable) or a lower control rate"
}

private func milliseconds(_ nanos: UInt64) -> String {
    let tenths = (nanos + 50_000) / 100_000
    return "\(tenths / 10).\(tenths % 10)"
}

private extension Double {
    /// "200", "333.3".
    var formatted0: String {
        let r = (self * 10).rounded() / 10
        return r == r.rounded() ? "\(Int(r))" : "\(r)"
    }
}
