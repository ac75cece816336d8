/// The tasks by name, as the command line and run configs refer to them.
public enum SimTaskName: String, CaseIterable, Sendable {
    /// Pendulum swing-up at 200 Hz (`PendulumParameters.rate200Hz`).
    case pendulum
    /// Gymnasium's Pendulum-v1 exactly: 20 Hz, 200-tick episodes.
    case pendulumGymnasium = "pendulum-gymnasium"
    /// Cart-pole swing-up and balance at 200 Hz.
    case cartpole
    /// Cart-pole balance only at 200 Hz.
    case cartpoleBalance = "cartpole-balance"

    /// One line for help texts.
    public var summary: String {
        switch self {
        case .pendulum: "pendulum swing-up, 200 Hz, 2000-tick (10 s) episodes, gamma 0.999"
        case .pendulumGymnasium: "Gymnasium Pendulum-v1 exactly: 20 Hz, 200-tick episodes, gamma 0.99"
        case .cartpole: "cart-pole swing-up and balance, 200 Hz, 2000-tick episodes, gamma 0.999"
        case .cartpoleBalance: "cart-pole balance from near upright, 200 Hz, 2000-tick episodes"
        }
    }

    /// Parses a name; the error lists the valid names.
    public static func parse(_ text: String) throws(SimError) -> SimTaskName {
        guard let name = SimTaskName(rawValue: text) else {
            let names = allCases.map(\.rawValue).joined(separator: ", ")
            throw SimError("unknown task '\(text)'; use one of: \(names)")
        }
        return name
    }

    /// The task with its preset parameters overridden by `name=value` assignments.
    public func make(assignments: [String] = []) throws(SimError) -> any SimulatedTask {
        switch self {
        case .pendulum, .pendulumGymnasium:
            var p: PendulumParameters = self == .pendulum ? .rate200Hz : .gymnasium
            try p.apply(assignments: assignments)
            return PendulumTask(parameters: p)
        case .cartpole, .cartpoleBalance:
            var p: CartPoleParameters = self == .cartpole ? .swingUp200Hz : .balance200Hz
            try p.apply(assignments: assignments)
            return CartPoleTask(parameters: p)
        }
    }

    /// Every parameter of this task: name, current value, description.
    public func parameterTable() -> [(name: String, value: Double, doc: String)] {
        switch self {
        case .pendulum, .pendulumGymnasium:
            let p: PendulumParameters = self == .pendulum ? .rate200Hz : .gymnasium
            return PendulumParameters.parameterDocs.map { ($0.key, p.value(of: $0.key) ?? .nan, $0.value) }
        case .cartpole, .cartpoleBalance:
            let p: CartPoleParameters = self == .cartpole ? .swingUp200Hz : .balance200Hz
            return CartPoleParameters.parameterDocs.map { ($0.key, p.value(of: $0.key) ?? .nan, $0.value) }
        }
    }
}
