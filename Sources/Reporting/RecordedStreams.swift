// The per-tick records of a dataset (Control's DATASET.md) as plain columns, so the report
// and the MCAP export can use them without reading the dataset format here: the caller
// (robotctl, which links Control) appends each kept record. Set-up code.

import Foundation

/// A named vector component with its unit, as in a dataset's schema.
public struct StreamChannel: Sendable, Equatable {
    public var name: String
    public var unit: String
    public init(name: String, unit: String) {
        self.name = name
        self.unit = unit
    }
}

/// The record flag bits of DATASET.md ("flags").
public enum RecordFlag {
    public static let episodeStart: UInt32 = 1 << 0
    public static let terminal: UInt32 = 1 << 1
    public static let timeout: UInt32 = 1 << 2
    public static let late: UInt32 = 1 << 3
    public static let safetyModified: UInt32 = 1 << 4
    public static let aborted: UInt32 = 1 << 5
    public static let teleop: UInt32 = 1 << 6
    public static let simulated: UInt32 = 1 << 7
    public static let exploring: UInt32 = 1 << 8
}

/// One joint seen through the observation: its angle or position, and its velocity.
public struct JointStream: Sendable, Equatable {
    public var name: String
    /// How the position is read: a channel of its own, or the angle atan2(sin, cos) of a pair.
    public enum Position: Sendable, Equatable {
        case channel(Int)
        case angle(cos: Int, sin: Int)
    }
    public var position: Position?
    public var velocity: Int?
    public var positionUnit: String
    public var velocityUnit: String
}

/// A dataset's kept records, column by column.
public struct RecordedStreams: Sendable {
    public var directory: String
    public var robotID: String
    public var task: String
    public var source: String
    public var controlRateHz: Double
    public var rewardDefinition: String
    public var observationChannels: [StreamChannel]
    public var actionChannels: [StreamChannel]

    public private(set) var timestampNanos: [UInt64] = []
    public private(set) var tick: [UInt64] = []
    public private(set) var episode: [UInt32] = []
    public private(set) var policyVersion: [UInt64] = []
    public private(set) var flags: [UInt32] = []
    public private(set) var reward: [Float] = []
    public private(set) var droppedBefore: [UInt32] = []
    /// Row-major: record `i`'s observation is `observations[i*N ..< (i+1)*N]`.
    public private(set) var observations: [Float] = []
    public private(set) var actions: [Float] = []

    public init(directory: String, robotID: String, task: String, source: String, controlRateHz: Double,
                rewardDefinition: String, observationChannels: [StreamChannel], actionChannels: [StreamChannel]) {
        self.directory = directory
        self.robotID = robotID
        self.task = task
        self.source = source
        self.controlRateHz = controlRateHz
        self.rewardDefinition = rewardDefinition
        self.observationChannels = observationChannels
        self.actionChannels = actionChannels
    }

    public var count: Int { tick.count }
    public var isEmpty: Bool { tick.isEmpty }

    /// Appends one record. `observation` and `action` must have the schema's lengths.
    public mutating func append(timestampNanos t: UInt64, tick k: UInt64, episode e: UInt32, policyVersion v: UInt64,
                                flags f: UInt32, reward r: Float, droppedBefore d: UInt32,
                                observation: some Collection<Float>, action: some Collection<Float>) {
        precondition(observation.count == observationChannels.count && action.count == actionChannels.count,
                     "RecordedStreams.append: vector lengths differ from the schema")
        timestampNanos.append(t)
        tick.append(k)
        episode.append(e)
        policyVersion.append(v)
        flags.append(f)
        reward.append(r)
        droppedBefore.append(d)
        observations += observation
        actions += action
    }

    public func observation(_ i: Int, _ c: Int) -> Float { observations[i * observationChannels.count + c] }
    public func action(_ i: Int, _ c: Int) -> Float { actions[i * actionChannels.count + c] }

    /// The joints the observation shows: `X` or the pair `cos_X`/`sin_X` for a position,
    /// `X_dot` for a velocity. Channels matching neither are not joints.
    public var joints: [JointStream] {
        let names = observationChannels.map(\.name)
        func index(_ n: String) -> Int? { names.firstIndex(of: n) }
        var order: [String] = []
        for n in names {
            let base: String
            if n.hasSuffix("_dot") { base = String(n.dropLast(4)) } else if n.hasPrefix("cos_") || n.hasPrefix("sin_") {
                base = String(n.dropFirst(4))
            } else { continue }
            if !order.contains(base) { order.append(base) }
        }
        return order.compactMap { base in
            var position: JointStream.Position?
            var unit = ""
            if let p = index(base) {
                position = .channel(p)
                unit = observationChannels[p].unit
            } else if let c = index("cos_" + base), let s = index("sin_" + base) {
                position = .angle(cos: c, sin: s)
                unit = "rad"
            }
            let v = index(base + "_dot")
            guard position != nil || v != nil else { return nil }
            return JointStream(name: base, position: position, velocity: v, positionUnit: unit,
                               velocityUnit: v.map { observationChannels[$0].unit } ?? "")
        }
    }

    /// Joint `j`'s position at record `i` (NaN when the observation has none).
    public func position(_ j: JointStream, _ i: Int) -> Double {
        switch j.position {
        case .channel(let c): Double(observation(i, c))
        case .angle(let c, let s): atan2(Double(observation(i, s)), Double(observation(i, c)))
        case nil: .nan
        }
    }

    public func velocity(_ j: JointStream, _ i: Int) -> Double { j.velocity.map { Double(observation(i, $0)) } ?? .nan }

    /// Contiguous runs of records with the same episode number, in record order.
    public var episodeRanges: [(episode: UInt32, range: Range<Int>)] {
        var out: [(UInt32, Range<Int>)] = []
        guard count > 0 else { return out }
        var start = 0
        for i in 1..<count where episode[i] != episode[start] || flags[i] & RecordFlag.episodeStart != 0 {
            out.append((episode[start], start..<i))
            start = i
        }
        out.append((episode[start], start..<count))
        return out
    }

    /// Per episode: the sum of the recorded rewards, its ticks, and how it ended.
    public struct EpisodeSummary: Sendable, Equatable {
        public var episode: UInt32
        public var range: Range<Int>
        public var rewardSum: Double
        public var startSeconds: Double
        public var endSeconds: Double
        public var policyVersion: UInt64
        /// Ended by its time limit or a terminal state (not aborted, not cut off by the recording's end).
        public var complete: Bool
        public var aborted: Bool
        public var exploring: Bool
        public var teleop: Bool
    }

    public var episodes: [EpisodeSummary] {
        guard let t0 = timestampNanos.first else { return [] }
        return episodeRanges.map { e, r in
            let f = flags[r].reduce(0, |)
            let last = flags[r.upperBound - 1]
            return EpisodeSummary(
                episode: e, range: r, rewardSum: reward[r].reduce(0) { $0 + Double($1) },
                startSeconds: Double(timestampNanos[r.lowerBound] &- t0) * 1e-9,
                endSeconds: Double(timestampNanos[r.upperBound - 1] &- t0) * 1e-9,
                policyVersion: policyVersion[r.upperBound - 1],
                complete: last & (RecordFlag.timeout | RecordFlag.terminal) != 0 && f & RecordFlag.aborted == 0,
                aborted: f & RecordFlag.aborted != 0, exploring: f & RecordFlag.exploring != 0, teleop: f & RecordFlag.teleop != 0)
        }
    }
}
