/// A dataset as flat D4RL-style arrays: `observations`, `actions`, `rewards`,
/// `next_observations`, `terminals`, `timeouts` (row-major, one row per transition).
///
/// Pairing (DATASET.md, "From records to transitions"): record i is paired with record i+1
/// when both are in the same episode, i+1 is not an episode start and no record was dropped
/// between them. A terminal record becomes a transition whose next observation is its own
/// (masked by `terminals`). A record with no successor that is not terminal (time-out, abort,
/// drop gap, end of file) cannot be a transition: it is left out and the transition before it
/// in the same episode gets `timeouts = true`.
public struct D4RLArrays: Sendable, Equatable {
    public var observationSize: Int
    public var actionSize: Int
    public var observations: [Float] = []
    public var actions: [Float] = []
    public var rewards: [Float] = []
    public var nextObservations: [Float] = []
    public var terminals: [Bool] = []
    public var timeouts: [Bool] = []
    /// Policy version of each transition's action (0 for teleop or unknown).
    public var policyVersions: [UInt64] = []
    public var count: Int { rewards.count }

    public init(observationSize: Int, actionSize: Int) {
        self.observationSize = observationSize
        self.actionSize = actionSize
    }

    /// Builds the arrays from records in file order.
    public init(_ records: [Transition], observationSize: Int, actionSize: Int) {
        self.init(observationSize: observationSize, actionSize: actionSize)
        var lastEmittedEpisode: UInt32? = nil
        for (i, r) in records.enumerated() {
            let f = r.header.flags
            if f.contains(.terminal) {
                emit(r, next: r.observation, terminal: true)
                lastEmittedEpisode = r.header.episode
                continue
            }
            let endsHere = f.contains(.timeout) || f.contains(.aborted)
            if !endsHere, i + 1 < records.count {
                let n = records[i + 1]
                if n.header.episode == r.header.episode && !n.header.flags.contains(.episodeStart)
                    && n.header.droppedBefore == 0
                {
                    emit(r, next: n.observation, terminal: false)
                    lastEmittedEpisode = r.header.episode
                    continue
                }
            }
            // No successor: cut the episode at the previous transition.
            if lastEmittedEpisode == r.header.episode, let last = timeouts.indices.last, !terminals[last] {
                timeouts[last] = true
            }
            lastEmittedEpisode = nil
        }
    }

    private mutating func emit(_ r: Transition, next: [Float], terminal: Bool) {
        observations += r.observation
        actions += r.action
        rewards.append(r.header.reward)
        nextObservations += next
        terminals.append(terminal)
        timeouts.append(false)
        policyVersions.append(r.header.policyVersion)
    }
}

extension DatasetReader {
    /// The dataset's transitions as D4RL arrays (allocates).
    public func d4rlArrays() -> D4RLArrays {
        D4RLArrays(transitions(), observationSize: schema.observationCount, actionSize: schema.actionCount)
    }
}
