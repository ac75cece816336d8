import FixedNN

/// FixedNN's runtime policy (normalise → MLP → tanh) in the policy slot. Its `act` is
/// `@_noAllocation`; the slot copies candidates' network parameters (FixedNN's `MLPShape`
/// layout) into the replicas. Observation normalisation and action scale are those of the
/// policy the slot was created with: a candidate must share them (same `shapeCode` only checks
/// the architecture).
extension DeterministicPolicy: SlotPolicy {
    public var shape: [Int] { shapeCode }
}
