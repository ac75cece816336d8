/// Parameters of the cart-pole (continuous force): the onboard simulator's nominal physics
/// (Gymnasium CartPole's masses and pole, with friction), its gap parameters, the task mode
/// and its time scale.
///
/// Physics (pole angle 0 = upright, continuous; h = length/2; M = cartMass + mass):
///   F = k·u − b x' − c sgn x',  tmp = (F + m h θ'² sin θ)/M,
///   θ'' = (g sin θ − cos θ · tmp − b₁ θ'/(m h)) / (h (4/3 − m cos² θ / M)),
///   x'' = tmp − m h θ'' cos θ / M,
/// integrated with `substeps` semi-implicit Euler steps per dt (Coulomb friction applied
/// implicitly).
public struct CartPoleParameters: TaskParameters, Equatable {
    /// What the episode asks for.
    public enum Mode: Int, Sendable {
        /// Start hanging; reward (1 + cos θ)/2 minus small position and effort costs.
        case swingUp = 0
        /// Start near upright; reward 1 per tick; terminal beyond 12° (Gymnasium CartPole).
        case balance = 1
    }

    /// Gravity, m/s². Gymnasium: 9.8.
    public var gravity = 9.8
    /// Pole mass, kg. Gymnasium: 0.1.
    public var mass = 0.1
    /// Full pole length, m. Gymnasium: 1.0 (half-length 0.5).
    public var length = 1.0
    /// Cart mass, kg. Gymnasium: 1.0.
    public var cartMass = 1.0
    /// Viscous friction of the cart, N·s/m.
    public var damping = 0.0
    /// Coulomb friction of the cart, N.
    public var coulomb = 0.0
    /// Viscous friction of the pole joint, N·m·s/rad.
    public var poleDamping = 0.0
    /// Delivered force / commanded force.
    public var actuatorGain = 1.0
    /// Actuation latency in control ticks.
    public var latencyTicks = 0
    /// Std of Gaussian noise added to the executed force, N.
    public var actionNoise = 0.0
    /// Force limit, N: action ±1 maps to ±maxForce. Gymnasium: 10.
    public var maxForce = 10.0
    /// The cart must stay within ±trackLimit, m (terminal beyond).
    public var trackLimit = 1.0
    /// Control period, s.
    public var dt = 0.005
    /// Semi-implicit Euler steps per control period (4: 1.25 ms at 200 Hz).
    public var substeps = 4
    /// Ticks per episode before a time-out: 2000 = 10 s.
    public var episodeTicks = 2000
    /// Discount per tick: 0.999 = a 5 s horizon at 200 Hz.
    public var discount = 0.999
    /// Swing-up or balance.
    public var mode = Mode.swingUp

    public init() {}

    /// Swing-up and balance at 200 Hz.
    public static let swingUp200Hz = CartPoleParameters()

    /// Balance only at 200 Hz (Gymnasium CartPole's task with a continuous force).
    public static let balance200Hz: CartPoleParameters = {
        var p = CartPoleParameters()
        p.mode = .balance
        return p
    }()

    /// Reward multiplier dt/0.02 (Gymnasium CartPole's period): returns per second match.
    public var rewardScale: Double { dt / 0.02 }

    public static let parameterDocs: KeyValuePairs<String, String> = [
        "gravity": "gravity, m/s^2",
        "mass": "pole mass, kg",
        "length": "full pole length, m",
        "cart_mass": "cart mass, kg",
        "damping": "cart viscous friction, N*s/m",
        "coulomb": "cart Coulomb friction, N",
        "damping1": "pole joint viscous friction, N*m*s/rad",
        "actuator_gain": "delivered / commanded force",
        "latency_ticks": "actuation latency, control ticks",
        "action_noise": "std of Gaussian noise on the executed force, N",
        "max_force": "force limit, N (action 1 = max_force)",
        "track_limit": "terminal beyond this cart position, m",
        "dt": "control period, s",
        "substeps": "integration steps per control period",
        "episode_ticks": "ticks per episode",
        "gamma": "discount per tick",
        "balance": "1: balance task (start upright), 0: swing-up",
    ]

    public func value(of name: String) -> Double? {
        switch name {
        case "gravity": gravity
        case "mass": mass
        case "length": length
        case "cart_mass": cartMass
        case "damping": damping
        case "coulomb": coulomb
        case "damping1": poleDamping
        case "actuator_gain": actuatorGain
        case "latency_ticks": Double(latencyTicks)
        case "action_noise": actionNoise
        case "max_force": maxForce
        case "track_limit": trackLimit
        case "dt": dt
        case "substeps": Double(substeps)
        case "episode_ticks": Double(episodeTicks)
        case "gamma": discount
        case "balance": Double(mode.rawValue)
        default: nil
        }
    }

    public mutating func set(_ name: String, to v: Double) throws(SimError) {
        let t = "cartpole"
        switch name {
        case "gravity": gravity = try checked(v, name, 0...1000, task: t)
        case "mass": mass = try checked(v, name, 1e-6...1e6, task: t)
        case "length": length = try checked(v, name, 1e-6...1e3, task: t)
        case "cart_mass": cartMass = try checked(v, name, 0...1e6, task: t)
        case "damping": damping = try checked(v, name, 0...1e6, task: t)
        case "coulomb": coulomb = try checked(v, name, 0...1e6, task: t)
        case "damping1": poleDamping = try checked(v, name, 0...1e6, task: t)
        case "actuator_gain": actuatorGain = try checked(v, name, 0...1e3, task: t)
        case "latency_ticks": latencyTicks = try checkedInt(v, name, 0...maxSimLatencyTicks, task: t)
        case "action_noise": actionNoise = try checked(v, name, 0...1e6, task: t)
        case "max_force": maxForce = try checked(v, name, 1e-9...1e6, task: t)
        case "track_limit": trackLimit = try checked(v, name, 1e-6...1e3, task: t)
        case "dt": dt = try checked(v, name, 1e-6...1, task: t)
        case "substeps": substeps = try checkedInt(v, name, 1...1000, task: t)
        case "episode_ticks": episodeTicks = try checkedInt(v, name, 1...100_000_000, task: t)
        case "gamma": discount = try checked(v, name, 0...1, task: t)
        case "balance": mode = try checkedInt(v, name, 0...1, task: t) == 1 ? .balance : .swingUp
        default:
            let names = Self.parameterDocs.map(\.key).joined(separator: ", ")
            throw SimError("cartpole has no parameter '\(name)'; use one of: \(names)")
        }
    }
}
