/// A task's parameters, settable by name from the command line (`--param name=value`).
///
/// Every task has the gap parameters: `mass`, `length`, `gravity`, `damping`, `coulomb`,
/// `actuator_gain`, `latency_ticks`, `action_noise` (names shared with the C real plant
/// where they mean the same thing), plus its own (time step, limits, episode length).
public protocol TaskParameters: Sendable {
    /// Every accepted name with a one-line description that states the unit.
    static var parameterDocs: KeyValuePairs<String, String> { get }
    /// The value of parameter `name`, or nil if there is no such parameter.
    func value(of name: String) -> Double?
    /// Sets parameter `name`; throws `SimError` naming the parameter and the accepted range.
    mutating func set(_ name: String, to value: Double) throws(SimError)
}

extension TaskParameters {
    /// Applies `name=value` assignments in order, e.g. `["gravity=20", "latency_ticks=1"]`.
    public mutating func apply(assignments: [String]) throws(SimError) {
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw SimError(
                    "parameter '\(assignment)' is not of the form name=number; example: gravity=20")
            }
            try set(parts[0], to: value)
        }
    }

    /// `name=value` for every parameter, in documentation order: recorded in run configs.
    public var assignments: [String] {
        Self.parameterDocs.map { "\($0.key)=\(value(of: $0.key).map { "\($0)" } ?? "?")" }
    }
}

/// An error of the simulator's set-up: one line naming what, where and the fix.
public struct SimError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Checks `value` against a closed range for parameter `name` of task `task`.
@inline(__always)
func checked(
    _ value: Double, _ name: String, _ range: ClosedRange<Double>, task: String
) throws(SimError) -> Double {
    guard value.isFinite, range.contains(value) else {
        throw SimError(
            "\(task) parameter \(name)=\(value) is out of range; use a value in \(range.lowerBound)...\(range.upperBound)"
        )
    }
    return value
}

/// Checks an integer-valued parameter.
@inline(__always)
func checkedInt(
    _ value: Double, _ name: String, _ range: ClosedRange<Int>, task: String
) throws(SimError) -> Int {
    guard value.isFinite, value == value.rounded(), range.contains(Int(value)) else {
        throw SimError(
            "\(task) parameter \(name)=\(value) must be a whole number in \(range.lowerBound)...\(range.upperBound)"
        )
    }
    return Int(value)
}

/// Largest simulated actuation latency, in control ticks.
public let maxSimLatencyTicks = 16
