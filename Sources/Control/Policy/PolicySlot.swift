import Synchronization

/// The lock-free, preallocated hand-over of policies from the trainer to the control loop:
/// a triple buffer of three replicas of one network and an atomic index.
///
/// The publisher copies a validated candidate into the replica nobody reads (the back buffer)
/// and exchanges it with the middle one, marking it fresh (release). At each tick boundary the
/// control thread, if the middle one is fresh, exchanges its front buffer with it (acquire) and
/// from then on uses the newest published weights. Neither side ever waits; no memory is
/// allocated or freed after init; the slot keeps all three replicas alive, so the control
/// thread never drops the last reference to one.
///
/// Thread contract: single producer (`publish`, e.g. the trainer thread; concurrent publishes
/// are a contract violation and trap); single consumer (`acquire`/`current`, the control
/// thread).
public final class PolicySlot<Policy: SlotPolicy>: @unchecked Sendable {
    /// A published policy's identity.
    public struct Published: Sendable, Equatable {
        public var version: UInt64
        public var checksum: UInt64
    }

    private let replicas: [Policy]
    // Per replica, written by the producer before the release-exchange that hands it over.
    private let versions: UnsafeMutablePointer<UInt64>
    private let checksums: UnsafeMutablePointer<UInt64>
    private let middle: Atomic<Int>
    private static var fresh: Int { 4 }
    private let publishing = Atomic<Bool>(false)
    private let latestVersion = Atomic<UInt64>(0)
    // Producer-owned.
    private var back = 1
    private var nextVersion: UInt64 = 1
    // Consumer-owned.
    private var front = 0

    /// The architecture every candidate must have.
    public let shape: [Int]
    public let observationSize: Int
    public let actionSize: Int

    /// Makes the three replicas from `initial`, which becomes version 1 (its parameters are
    /// validated like any candidate).
    public init(initial: Policy) throws(PolicyRejection) {
        shape = initial.shape
        observationSize = initial.observationSize
        actionSize = initial.actionSize
        try Self.validate(initial, shape: initial.shape)
        replicas = [initial.makeReplica(), initial.makeReplica(), initial.makeReplica()]
        versions = .allocate(capacity: 3)
        versions.initialize(repeating: 0, count: 3)
        checksums = .allocate(capacity: 3)
        checksums.initialize(repeating: 0, count: 3)
        let sum = parameterChecksum(UnsafeBufferPointer(initial.parameters))
        for r in replicas { _ = r.parameters.update(fromContentsOf: initial.parameters) }
        for i in 0..<3 {
            versions[i] = 1
            checksums[i] = sum
        }
        middle = Atomic(2)
        latestVersion.store(1, ordering: .relaxed)
        nextVersion = 2
    }

    deinit {
        versions.deallocate()
        checksums.deallocate()
    }

    static func validate(_ candidate: Policy, shape: [Int]) throws(PolicyRejection) {
        guard candidate.shape == shape else { throw .shapeMismatch(expected: shape, got: candidate.shape) }
        try validate(UnsafeBufferPointer(candidate.parameters))
    }

    static func validate(_ p: UnsafeBufferPointer<Float>) throws(PolicyRejection) {
        for (i, v) in p.enumerated() where !v.isFinite { throw .nonFinite(index: i) }
    }

    /// Validates `candidate` and, if it has the slot's shape and only finite parameters,
    /// copies it in and publishes it; returns its version. A rejected candidate is never
    /// visible to the control thread. Never blocks (one memcpy and one atomic exchange).
    /// Producer thread only.
    @discardableResult
    public func publish(_ candidate: Policy) throws(PolicyRejection) -> Published {
        guard candidate.shape == shape else { throw .shapeMismatch(expected: shape, got: candidate.shape) }
        return try publish(parameters: UnsafeBufferPointer(candidate.parameters))
    }

    /// Same as `publish(_:)` for a flat parameter vector in the slot policy's layout.
    @discardableResult
    public func publish(parameters: UnsafeBufferPointer<Float>) throws(PolicyRejection) -> Published {
        let target = replicas[0].parameters.count
        guard parameters.count == target else {
            throw .shapeMismatch(expected: shape + [target], got: shape + [parameters.count])
        }
        try Self.validate(parameters)
        let (entered, _) = publishing.compareExchange(expected: false, desired: true, ordering: .acquiring)
        precondition(entered, "PolicySlot.publish called from two threads at once (single producer only)")
        defer { publishing.store(false, ordering: .releasing) }
        let b = back
        _ = replicas[b].parameters.update(fromContentsOf: parameters)
        let published = Published(version: nextVersion, checksum: parameterChecksum(parameters))
        versions[b] = published.version
        checksums[b] = published.checksum
        nextVersion += 1
        let old = middle.exchange(b | Self.fresh, ordering: .acquiringAndReleasing)
        back = old & 3
        latestVersion.store(published.version, ordering: .releasing)
        return published
    }

    /// Newest version published so far (any thread).
    public var latestPublishedVersion: UInt64 { latestVersion.load(ordering: .acquiring) }

    /// At a tick boundary: switches to the newest published policy if there is one, and
    /// returns the policy to use for this tick and its version. Control thread only.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func acquire() -> (policy: Policy, version: UInt64, swapped: Bool) {
        var swapped = false
        if middle.load(ordering: .relaxed) & Self.fresh != 0 {
            let old = middle.exchange(front, ordering: .acquiringAndReleasing)
            front = old & 3
            swapped = true
        }
        return (replicas[front], versions[front], swapped)
    }

    /// The checksum the current front version was published with. Control thread only.
    public var currentChecksum: UInt64 { checksums[front] }
}
