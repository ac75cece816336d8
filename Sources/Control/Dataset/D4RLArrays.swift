/// A dataset as flat D4RL-style arrays: `observations`, `actions`, `rewards`,
/// `next_observations`, `terminals`, `timeouts` (row-major, one row per transition).
///
/// Built by the one pairing rule, `TransitionPairing` (DATASET.md, "From records to
/// transitions"): record i is paired with record i+1 when both are in the same episode, i+1
/// is not an episode start, no record was dropped between them and neither holds a NaN or an
/// infinity. A terminal record becomes a transition whose next observation is its own (masked
/// by `terminals`). A record with no successor that is not terminal (time-out, abort, drop
/// gap, end of file) cannot be a transition: it is left out and the transition before it in
/// the same episode gets `timeouts = true`.
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

    /// Builds the arrays from records in file order, skipping the episodes `episodes` marks
    /// discarded. `episodeOfTransition`, when given, receives each transition's episode.
    public init(
        _ records: [Transition], observationSize: Int, actionSize: Int, episodes: EpisodeTable = EpisodeTable(),
        episodeOfTransition: ((UInt32) -> Void)? = nil
    ) {
        self.init(observationSize: observationSize, actionSize: actionSize)
        let pairing = TransitionPairing(observationCount: observationSize, actionCount: actionSize, episodes: episodes)
        var arrays = self
        let emit: (TransitionPairing.Paired) -> Void = { t in
            arrays.append(t)
            episodeOfTransition?(t.episode)
        }
        for r in records {
            r.observation.withUnsafeBufferPointer { o in
                r.action.withUnsafeBufferPointer { a in pairing.add(r.header, observation: o, action: a, emit: emit) }
            }
        }
        pairing.finish(emit: emit)
        self = arrays
    }
}

extension DatasetReader {
    /// The dataset's transitions as D4RL arrays, every episode included (allocates). For
    /// recorded data use `keptD4RLArrays()`, which applies the episode table.
    public func d4rlArrays() -> D4RLArrays {
        var arrays = D4RLArrays(observationSize: schema.observationCount, actionSize: schema.actionCount)
        forEachTransition(episodes: EpisodeTable()) { arrays.append($0) }
        return arrays
    }
}
