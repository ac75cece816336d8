import Control
import SystemSupport
import Foundation
import Synchronization

/// What the live view shows, built from the records the logger thread drains (never from the
/// control thread): the latest observation and action by channel name, the episode's return so
/// far, the returns of finished episodes, the policy version, and the loop's own figures that
/// the owning thread posts with `post(status:)`. At most `rateHz` snapshots per second go, as
/// one JSON text each, to the `LiveServer` serving this feed.
///
/// Thread contract: `record`/`drained` on the logger thread (they allocate: the logger thread
/// is not real-time); `post(status:)`, `latest` and `noteEmergencyStop` from any thread.
public final class LiveFeed: TransitionSink, @unchecked Sendable {
    /// The loop's figures the page shows beside the records (posted by the set-up thread).
    public struct Status: Sendable {
        public var seconds: Double = 0
        /// Measured loop rate, Hz.
        public var loopHz: Double = 0
        /// Tick period error (jitter), 99th percentile, µs.
        public var jitterP99Micros: Double = 0
        public var missedDeadlines: UInt64 = 0
        public var safetyStops: Int = 0
        public var trainerUpdates: Int = 0
        /// The command's own one-line console status.
        public var line: String = ""
        public init(
            seconds: Double = 0, loopHz: Double = 0, jitterP99Micros: Double = 0, missedDeadlines: UInt64 = 0,
            safetyStops: Int = 0, trainerUpdates: Int = 0, line: String = ""
        ) {
            self.seconds = seconds
            self.loopHz = loopHz
            self.jitterP99Micros = jitterP99Micros
            self.missedDeadlines = missedDeadlines
            self.safetyStops = safetyStops
            self.trainerUpdates = trainerUpdates
            self.line = line
        }
    }

    /// One finished episode.
    public struct Episode: Sendable, Equatable {
        public var index: UInt32
        public var episodeReturn: Double
        public var ticks: Int
        public var aborted: Bool
        public var policyVersion: UInt64
    }

    public let schema: DatasetSchema
    /// The page's header: robot, task, command, the ceiling line if known.
    public let title: String
    public let ceiling: Double?
    private let minimumPeriodNanos: UInt64
    private let publisher = Mutex<(@Sendable (String) -> Void)?>(nil)

    // Logger thread only.
    private var lastSent: UInt64 = 0
    private var firstTimestamp: UInt64?
    private var current: (episode: UInt32, sum: Double, ticks: Int)?
    private var lastHeader = TransitionHeader()
    private var observation: [Float]
    private var action: [Float]
    private var pendingEpisodes: [Episode] = []
    private var dirty = false

    private struct Shared {
        var status = Status()
        var episodes: [Episode] = []
        var latestJSON = "{}"
        var estopPressed = false
    }
    private let shared = Mutex(Shared())

    /// Most finished episodes kept for the page (older ones drop off its chart).
    public static let episodesKept = 500

    public init(
        schema: DatasetSchema, title: String, ceiling: Double? = nil, rateHz: Double = 20
    ) {
        self.schema = schema
        self.title = title
        self.ceiling = ceiling
        self.minimumPeriodNanos = UInt64(1e9 / max(0.1, min(rateHz, 1000)))
        observation = Array(repeating: 0, count: schema.observationCount)
        action = Array(repeating: 0, count: schema.actionCount)
    }

    public func record(_ header: TransitionHeader, observation o: UnsafeBufferPointer<Float>, action a: UnsafeBufferPointer<Float>) {
        if header.flags.contains(.episodeStart) || current?.episode != header.episode {
            finishEpisode(aborted: false)
            current = (header.episode, 0, 0)
        }
        current!.sum += Double(header.reward)
        current!.ticks += 1
        for i in 0..<min(o.count, observation.count) { observation[i] = o[i] }
        for i in 0..<min(a.count, action.count) { action[i] = a[i] }
        lastHeader = header
        if firstTimestamp == nil { firstTimestamp = header.timestampNanos }
        dirty = true
        if header.flags.contains(.aborted) {
            finishEpisode(aborted: true)
        } else if !header.flags.intersection([.terminal, .timeout]).isEmpty {
            finishEpisode(aborted: false)
        }
    }

    public func drained() {
        guard dirty || !pendingEpisodes.isEmpty else { return }
        let now = monotonicNanos()
        guard now &- lastSent >= minimumPeriodNanos else { return }
        lastSent = now
        dirty = false
        let text = snapshot()
        publisher.withLock { $0 }?(text)
    }

    /// Where snapshots go (the server calls this once). Any thread.
    func connect(_ publish: @escaping @Sendable (String) -> Void) { publisher.withLock { $0 = publish } }

    /// Posts the loop's figures (any thread); they go out with the next snapshot.
    public func post(status: Status) { shared.withLock { $0.status = status } }

    /// Records that the page's e-stop was pressed (shown on every page until the run ends).
    public func noteEmergencyStop() { shared.withLock { $0.estopPressed = true } }

    /// The last snapshot sent (JSON), for `GET /state` and for tests.
    public var latest: String { shared.withLock { $0.latestJSON } }

    /// The first message each new client gets: what the channels are and the episodes so far.
    public func hello() -> String {
        let (episodes, json) = shared.withLock { ($0.episodes, $0.latestJSON) }
        var o: [String: Any] = [
            "type": "hello", "title": title, "robot": schema.robotID, "task": schema.task,
            "control_rate_hz": schema.controlRateHz,
            "observation": schema.observation.map { ["name": $0.name, "unit": $0.unit] },
            "action": schema.action.map { ["name": $0.name, "unit": $0.unit] },
            "episodes": episodes.map(Self.json),
        ]
        if let ceiling { o["ceiling"] = ceiling }
        if let data = json.data(using: .utf8), let last = try? JSONSerialization.jsonObject(with: data) { o["latest"] = last }
        return Self.encode(o)
    }

    private func finishEpisode(aborted: Bool) {
        guard let c = current, c.ticks > 0 else { return }
        pendingEpisodes.append(Episode(
            index: c.episode, episodeReturn: c.sum, ticks: c.ticks, aborted: aborted, policyVersion: lastHeader.policyVersion))
        current = nil
    }

    private func snapshot() -> String {
        let fresh = pendingEpisodes
        pendingEpisodes.removeAll(keepingCapacity: true)
        let (status, estop) = shared.withLock { s -> (Status, Bool) in
            s.episodes.append(contentsOf: fresh)
            if s.episodes.count > Self.episodesKept { s.episodes.removeFirst(s.episodes.count - Self.episodesKept) }
            return (s.status, s.estopPressed)
        }
        let o: [String: Any] = [
            "type": "state",
            "time_s": Double(lastHeader.timestampNanos &- (firstTimestamp ?? lastHeader.timestampNanos)) * 1e-9,
            "tick": lastHeader.tick,
            "episode": lastHeader.episode,
            "episode_return": current?.sum ?? 0,
            "episode_ticks": current?.ticks ?? 0,
            "policy_version": lastHeader.policyVersion,
            "teleop": lastHeader.flags.contains(.teleop),
            "observation": observation.map { $0.isFinite ? Double($0) : 0 },
            "action": action.map { $0.isFinite ? Double($0) : 0 },
            "finished_episodes": fresh.map(Self.json),
            "loop": [
                "seconds": status.seconds, "loop_hz": status.loopHz, "missed_deadlines": status.missedDeadlines,
                "jitter_p99_us": status.jitterP99Micros, "safety_stops": status.safetyStops,
                "trainer_updates": status.trainerUpdates, "line": status.line,
            ] as [String: Any],
            "estop_pressed": estop,
        ]
        let text = Self.encode(o)
        shared.withLock { $0.latestJSON = text }
        return text
    }

    private static func json(_ e: Episode) -> [String: Any] {
        ["episode": e.index, "return": e.episodeReturn.isFinite ? e.episodeReturn : 0, "ticks": e.ticks,
         "aborted": e.aborted, "policy_version": e.policyVersion]
    }

    static func encode(_ o: [String: Any]) -> String {
        guard let d = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: d, as: UTF8.self)
    }
}
