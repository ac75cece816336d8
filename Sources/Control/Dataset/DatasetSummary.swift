import FixedNN

/// What `robotctl dataset info` prints: counts, duration and losses of a dataset.
public struct DatasetSummary: Codable, Sendable, Equatable {
    public struct SegmentInfo: Codable, Sendable, Equatable {
        public var name: String
        public var records: Int
        public var droppedBytes: Int
        public var problem: String?
    }
    public var directory: String
    public var schema: DatasetSchema
    public var transitions: Int
    public var episodes: Int
    /// Episodes that ended terminal / by time-out / aborted by a safety stop.
    public var terminalEpisodes: Int, timeoutEpisodes: Int, abortedEpisodes: Int
    /// From the first to the last record's timestamp, seconds (0 with fewer than two records).
    public var durationSeconds: Double
    /// Transitions the recorder dropped (ring full), from the records' `droppedBefore`.
    public var droppedTransitions: Int
    /// Records flagged `late` (deadlines missed just before them).
    public var lateTicks: Int
    /// Records whose action the safety filter changed.
    public var safetyModified: Int
    /// Records holding a NaN or an infinity (`nonFinite`): never part of a transition.
    public var nonFiniteRecords: Int
    /// Bytes skipped as torn or corrupt over all segments.
    public var droppedBytes: Int
    /// Distinct policy versions that produced actions.
    public var policyVersions: Int
    public var segments: [SegmentInfo]

    public init(_ r: DatasetReader) {
        directory = r.directory
        schema = r.schema
        transitions = r.transitionCount
        var episodes = Set<UInt32>(), versions = Set<UInt64>()
        var first: UInt64? = nil, last: UInt64 = 0
        var dropped = 0, late = 0, modified = 0, terminal = 0, timeout = 0, aborted = 0, nonFinite = 0
        r.forEach { h, _, _ in
            episodes.insert(h.episode)
            versions.insert(h.policyVersion)
            if first == nil { first = h.timestampNanos }
            last = max(last, h.timestampNanos)
            dropped += Int(h.droppedBefore)
            if h.flags.contains(.late) { late += 1 }
            if h.flags.contains(.safetyModified) { modified += 1 }
            if h.flags.contains(.terminal) { terminal += 1 }
            if h.flags.contains(.timeout) { timeout += 1 }
            if h.flags.contains(.aborted) { aborted += 1 }
            if h.flags.contains(.nonFinite) { nonFinite += 1 }
        }
        self.episodes = episodes.count
        policyVersions = versions.count
        durationSeconds = first.map { Double(last &- $0) * 1e-9 } ?? 0
        droppedTransitions = dropped
        lateTicks = late
        safetyModified = modified
        nonFiniteRecords = nonFinite
        terminalEpisodes = terminal
        timeoutEpisodes = timeout
        abortedEpisodes = aborted
        droppedBytes = r.droppedBytes
        segments = r.segments.map { SegmentInfo(name: $0.name, records: $0.scan.records, droppedBytes: $0.scan.droppedBytes, problem: $0.scan.problem) }
    }
}

extension D4RLArrays {
    /// The arrays under D4RL's key names (`observations`, `actions`, `rewards`,
    /// `next_observations`, `terminals`, `timeouts`) plus `infos/policy_version`, for
    /// `NumpyArchive.writeNPZ`.
    public func numpyArrays() -> [(name: String, array: NumpyArray)] {
        [
            ("observations", NumpyArray(observations, shape: [count, observationSize])),
            ("actions", NumpyArray(actions, shape: [count, actionSize])),
            ("rewards", NumpyArray(rewards, shape: [count])),
            ("next_observations", NumpyArray(nextObservations, shape: [count, observationSize])),
            ("terminals", NumpyArray(terminals, shape: [count])),
            ("timeouts", NumpyArray(timeouts, shape: [count])),
            ("infos/policy_version", NumpyArray(policyVersions.map { Int64(bitPattern: $0) }, shape: [count])),
        ]
    }
}
