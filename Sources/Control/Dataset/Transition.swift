/// Per-transition flags, stored as a little-endian UInt32 in every record (see DATASET.md).
public struct TransitionFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// First transition of an episode.
    public static let episodeStart = TransitionFlags(rawValue: 1 << 0)
    /// The task reported a terminal state after this transition (bootstrapping stops).
    public static let terminal = TransitionFlags(rawValue: 1 << 1)
    /// The episode reached its tick limit here (a time-out, not a terminal).
    public static let timeout = TransitionFlags(rawValue: 1 << 2)
    /// One or more deadlines were missed just before this tick (its tick number jumped).
    public static let late = TransitionFlags(rawValue: 1 << 3)
    /// The safety filter changed the command derived from this action (clamp, rate limit).
    public static let safetyModified = TransitionFlags(rawValue: 1 << 4)
    /// The episode was aborted here by a safety stop (neither terminal nor time-out).
    public static let aborted = TransitionFlags(rawValue: 1 << 5)
    /// The action came from a human (teleop), not from a policy.
    public static let teleop = TransitionFlags(rawValue: 1 << 6)
    /// The transition was produced in a simulator, not on the robot.
    public static let simulated = TransitionFlags(rawValue: 1 << 7)
    /// Exploration noise was added to the policy's action in this episode (the recorded action
    /// is the one executed, noise included).
    public static let exploring = TransitionFlags(rawValue: 1 << 8)
    /// The observation, the action or the reward holds a NaN or an infinity. Set by the
    /// encoder whenever it writes one, so no such record reaches the disk unflagged; the
    /// pairing rule never makes a transition from it.
    public static let nonFinite = TransitionFlags(rawValue: 1 << 9)
}

/// The fixed fields of one recorded transition. Value type, never allocates.
public struct TransitionHeader: Sendable, Equatable {
    /// Host CLOCK_MONOTONIC at the robot read of this tick, nanoseconds.
    public var timestampNanos: UInt64
    /// Deadline index since the loop started: missed deadlines leave gaps.
    public var tick: UInt64
    /// Version of the policy that produced the action (0: no policy, e.g. teleop).
    public var policyVersion: UInt64
    /// Episode number within the recording session.
    public var episode: UInt32
    public var flags: TransitionFlags
    /// Reward of taking `action` in `observation`.
    public var reward: Float
    /// Transitions the loop could not hand to the logger just before this one (ring full).
    public var droppedBefore: UInt32

    public init(
        timestampNanos: UInt64 = 0, tick: UInt64 = 0, policyVersion: UInt64 = 0,
        episode: UInt32 = 0, flags: TransitionFlags = [], reward: Float = 0,
        droppedBefore: UInt32 = 0
    ) {
        self.timestampNanos = timestampNanos
        self.tick = tick
        self.policyVersion = policyVersion
        self.episode = episode
        self.flags = flags
        self.reward = reward
        self.droppedBefore = droppedBefore
    }
}

/// One transition with its vectors in arrays (allocates: for set-up code, tools and tests).
public struct Transition: Sendable, Equatable {
    public var header: TransitionHeader
    /// The observation the action was chosen from, in the schema's order and units.
    public var observation: [Float]
    /// The policy's action in [-1, 1], in the schema's order.
    public var action: [Float]

    public init(header: TransitionHeader, observation: [Float], action: [Float]) {
        self.header = header
        self.observation = observation
        self.action = action
    }
}

/// Byte layout of a transition payload (DATASET.md, "Record payload"). Little-endian.
///
/// The transition ring stores payloads in this same layout, so the logger only frames them.
public enum TransitionLayout {
    /// Bytes before the observation vector.
    public static let headerBytes = 44
    /// Framing before each payload on disk: UInt32 length, UInt32 CRC-32.
    public static let framingBytes = 8

    /// Payload size for the given vector lengths.
    @inlinable public static func payloadBytes(observationCount: Int, actionCount: Int) -> Int {
        headerBytes + 4 * (observationCount + actionCount)
    }

    /// Writes a payload at `p`, adding `.nonFinite` to the flags when a value (or the reward)
    /// is NaN or infinite. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public static func encode(
        _ h: TransitionHeader, observation: UnsafePointer<Float>, observationCount: Int,
        action: UnsafePointer<Float>, actionCount: Int, into p: UnsafeMutableRawPointer
    ) {
        p.storeBytes(of: h.timestampNanos.littleEndian, toByteOffset: 0, as: UInt64.self)
        p.storeBytes(of: h.tick.littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: h.policyVersion.littleEndian, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: h.episode.littleEndian, toByteOffset: 24, as: UInt32.self)
        p.storeBytes(of: h.reward.bitPattern.littleEndian, toByteOffset: 32, as: UInt32.self)
        p.storeBytes(of: h.droppedBefore.littleEndian, toByteOffset: 36, as: UInt32.self)
        p.storeBytes(of: UInt16(truncatingIfNeeded: observationCount).littleEndian, toByteOffset: 40, as: UInt16.self)
        p.storeBytes(of: UInt16(truncatingIfNeeded: actionCount).littleEndian, toByteOffset: 42, as: UInt16.self)
        var finite = h.reward.isFinite
        var offset = headerBytes
        for i in 0..<observationCount {
            finite = finite && observation[i].isFinite
            p.storeBytes(of: observation[i].bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        for i in 0..<actionCount {
            finite = finite && action[i].isFinite
            p.storeBytes(of: action[i].bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        let flags = finite ? h.flags : h.flags.union(.nonFinite)
        p.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 28, as: UInt32.self)
    }

    /// Reads the header of a payload at `p`.
    @inline(__always)
    public static func decodeHeader(_ p: UnsafeRawPointer) -> TransitionHeader {
        TransitionHeader(
            timestampNanos: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            tick: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            policyVersion: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            episode: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt32.self)),
            flags: TransitionFlags(rawValue: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 28, as: UInt32.self))),
            reward: Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 32, as: UInt32.self))),
            droppedBefore: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 36, as: UInt32.self)))
    }

    /// The vector lengths stored in a payload's header.
    @inline(__always)
    public static func decodeCounts(_ p: UnsafeRawPointer) -> (observation: Int, action: Int) {
        (Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 40, as: UInt16.self))),
         Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 42, as: UInt16.self))))
    }

    /// Reads float `index` of the vectors (observation then action) of a payload.
    @inline(__always)
    public static func decodeFloat(_ p: UnsafeRawPointer, index: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: headerBytes + 4 * index, as: UInt32.self)))
    }

    /// Decodes a whole payload into a `Transition` (allocates).
    public static func decode(_ p: UnsafeRawPointer, observationCount: Int, actionCount: Int) -> Transition {
        let obs = (0..<observationCount).map { decodeFloat(p, index: $0) }
        let act = (0..<actionCount).map { decodeFloat(p, index: observationCount + $0) }
        return Transition(header: decodeHeader(p), observation: obs, action: act)
    }
}
