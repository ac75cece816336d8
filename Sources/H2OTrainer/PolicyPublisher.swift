import Control
import FixedNN
import Synchronization

/// Serialises every publish into the policy slot (trainer candidates, roll-backs, test
/// injections) so the slot keeps exactly one producer at a time, and remembers the parameters
/// of each published version for roll-back.
///
/// Thread contract: any thread except the control thread (it locks).
public final class PolicyPublisher: @unchecked Sendable {
    public let slot: PolicySlot<DeterministicPolicy>
    private let state: Mutex<State>
    private let candidate = Mutex<PolicyCandidate?>(nil)
    struct State {
        var parameters: [UInt64: [Float]] = [:]
        var bad: Set<UInt64> = []
        var validation: [UInt64: Double] = [:]
        var source: [UInt64: String] = [:]
    }

    /// `initial` are the parameters of the slot's version 1.
    public init(slot: PolicySlot<DeterministicPolicy>, initial: [Float]) {
        self.slot = slot
        state = Mutex(State(parameters: [1: initial], source: [1: "starting policy"]))
    }

    public var slotVersion: UInt64 { slot.latestPublishedVersion }

    /// Validates (shape, finite) and publishes; returns the new version.
    public func publish(_ parameters: UnsafeBufferPointer<Float>, source: String) -> Result<UInt64, PolicyRejection> {
        state.withLock { s in
            do throws(PolicyRejection) {
                let published = try slot.publish(parameters: parameters)
                s.parameters[published.version] = Array(parameters)
                s.source[published.version] = source
                // Keep memory bounded: the newest 8 versions are enough to roll back.
                if s.parameters.count > 8, let oldest = s.parameters.keys.min() { s.parameters[oldest] = nil }
                return .success(published.version)
            } catch {
                return .failure(error)
            }
        }
    }

    /// The newest validated candidate waiting to be tried (replaces an older one). Trainer thread.
    public func offer(_ c: PolicyCandidate) { candidate.withLock { $0 = c } }

    /// Takes the waiting candidate, if any. Session thread.
    public func takeCandidate() -> PolicyCandidate? { candidate.withLock { c in defer { c = nil }; return c } }

    public func recordValidation(version: UInt64, value: Double) { state.withLock { $0.validation[version] = value } }

    /// Marks `version` as bad (it made the safety layer stop the robot) and republishes the
    /// newest earlier version not marked bad. Returns the version rolled back to, or nil when
    /// there is none.
    public func rollBack(from version: UInt64) -> (from: UInt64, to: UInt64, newVersion: UInt64)? {
        let target: (UInt64, [Float])? = state.withLock { s in
            s.bad.insert(version)
            guard let v = s.parameters.keys.filter({ $0 < version && !s.bad.contains($0) }).max() else { return nil }
            return (v, s.parameters[v]!)
        }
        guard let (good, params) = target else { return nil }
        let result = params.withUnsafeBufferPointer { publish($0, source: "roll-back to v\(good)") }
        guard case .success(let newVersion) = result else { return nil }
        state.withLock { $0.validation[newVersion] = $0.validation[good] }
        return (version, good, newVersion)
    }

    /// True if `version` made the safety layer stop the robot.
    public func isBad(_ version: UInt64) -> Bool { state.withLock { $0.bad.contains(version) } }
}

/// A validated policy the trainer proposes, waiting to be tried on the robot.
public struct PolicyCandidate: Sendable {
    public var parameters: [Float]
    public var trainerUpdates: Int
    /// Onboard-simulator validation return.
    public var validationReturn: Double
}
