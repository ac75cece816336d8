/// Several sinks behind the logger's one: each record goes to every sink, in order (for
/// example the trainer's pairing and the live view's feed).
///
/// Thread contract: called on the logger thread only, like every `TransitionSink`.
public final class TransitionSinkGroup: TransitionSink {
    public let sinks: [any TransitionSink]

    public init(_ sinks: [any TransitionSink]) { self.sinks = sinks }

    /// One sink as is, several as a group, none as nil.
    public static func combining(_ sinks: [any TransitionSink]) -> (any TransitionSink)? {
        sinks.count <= 1 ? sinks.first : TransitionSinkGroup(sinks)
    }

    public func record(_ header: TransitionHeader, observation: UnsafeBufferPointer<Float>, action: UnsafeBufferPointer<Float>) {
        for s in sinks { s.record(header, observation: observation, action: action) }
    }

    public func drained() {
        for s in sinks { s.drained() }
    }
}
