/// Parameters of the pendulum swing-up: the onboard simulator's nominal physics (Gymnasium's
/// Pendulum-v1 model), its gap parameters, and the time scale of the task.
///
/// Physics (angle 0 = upright, continuous): with I = m l²/3 (or `inertia` when set),
///   θ̈ = (m g l/2)/I · sin θ + (1/I) · (k u − b θ̇ − c sgn θ̇),
/// integrated like Gymnasium: θ̇' = clip(θ̇ + θ̈ dt, ±maxSpeed), θ' = θ + θ̇' dt.
/// With I = m l²/3, k = 1, b = c = 0 the coefficients are computed exactly as Gymnasium does,
/// so `PendulumParameters.gymnasium` reproduces Pendulum-v1 step for step.
public struct PendulumParameters: TaskParameters, Equatable {
    /// Gravity, m/s². Gymnasium: 10.
    public var gravity = 10.0
    /// Rod mass, kg. Gymnasium: 1.
    public var mass = 1.0
    /// Rod length, m. Gymnasium: 1.
    public var length = 1.0
    /// Moment of inertia at the pivot, kg·m²; 0 means the uniform rod's m l²/3.
    public var inertia = 0.0
    /// Viscous friction, N·m·s/rad.
    public var damping = 0.0
    /// Coulomb friction, N·m.
    public var coulomb = 0.0
    /// Delivered torque / commanded torque.
    public var actuatorGain = 1.0
    /// Actuation latency in control ticks.
    public var latencyTicks = 0
    /// Std of Gaussian noise added to the executed torque, N·m (H2O+'s noise gap).
    public var actionNoise = 0.0
    /// Torque limit, N·m: policy action ±1 maps to ±maxTorque. Gymnasium: 2.
    public var maxTorque = 2.0
    /// Speed clip of the integrator, rad/s. Gymnasium: 8.
    public var maxSpeed = 8.0
    /// Control period, s. Gymnasium: 0.05.
    public var dt = 0.05
    /// Ticks per episode before a time-out. Gymnasium: 200 (10 s).
    public var episodeTicks = 200
    /// Discount per tick. 0.99 at 20 Hz is a 100-tick (5 s) horizon.
    public var discount = 0.99

    public init() {}

    /// Gymnasium Pendulum-v1 exactly: 20 Hz, 200-tick episodes, γ = 0.99.
    public static let gymnasium = PendulumParameters()

    /// The same physics at the robot's 200 Hz: dt = 0.005; episodes of 2000 ticks keep
    /// Gymnasium's 10 s; γ = 0.999 keeps its 5 s horizon (1/(1−γ) ticks × dt); rewards are
    /// scaled by dt/0.05 so returns and values have Gymnasium's magnitudes.
    public static let rate200Hz: PendulumParameters = {
        var p = PendulumParameters()
        p.dt = 0.005
        p.episodeTicks = 2000
        p.discount = 0.999
        return p
    }()

    public static let parameterDocs: KeyValuePairs<String, String> = [
        "gravity": "gravity, m/s^2",
        "mass": "rod mass, kg",
        "length": "rod length, m",
        "inertia": "moment of inertia at the pivot, kg*m^2 (0: uniform rod m*l^2/3)",
        "damping": "viscous friction, N*m*s/rad",
        "coulomb": "Coulomb friction, N*m",
        "actuator_gain": "delivered / commanded torque",
        "latency_ticks": "actuation latency, control ticks",
        "action_noise": "std of Gaussian noise on the executed torque, N*m",
        "max_torque": "torque limit, N*m (action 1 = max_torque)",
        "max_speed": "speed clip, rad/s",
        "dt": "control period, s",
        "episode_ticks": "ticks per episode",
        "gamma": "discount per tick",
    ]

    public func value(of name: String) -> Double? {
        switch name {
        case "gravity": gravity
        case "mass": mass
        case "length": length
        case "inertia": inertia
        case "damping": damping
        case "coulomb": coulomb
        case "actuator_gain": actuatorGain
        case "latency_ticks": Double(latencyTicks)
        case "action_noise": actionNoise
        case "max_torque": maxTorque
        case "max_speed": maxSpeed
        case "dt": dt
        case "episode_ticks": Double(episodeTicks)
        case "gamma": discount
        default: nil
        }
    }

    public mutating func set(_ name: String, to v: Double) throws(SimError) {
        let t = "pendulum"
        switch name {
        case "gravity": gravity = try checked(v, name, 0...1000, task: t)
        case "mass": mass = try checked(v, name, 1e-6...1e6, task: t)
        case "length": length = try checked(v, name, 1e-6...1e3, task: t)
        case "inertia": inertia = try checked(v, name, 0...1e6, task: t)
        case "damping": damping = try checked(v, name, 0...1e6, task: t)
        case "coulomb": coulomb = try checked(v, name, 0...1e6, task: t)
        case "actuator_gain": actuatorGain = try checked(v, name, 0...1e3, task: t)
        case "latency_ticks": latencyTicks = try checkedInt(v, name, 0...maxSimLatencyTicks, task: t)
        case "action_noise": actionNoise = try checked(v, name, 0...1e6, task: t)
        case "max_torque": maxTorque = try checked(v, name, 1e-9...1e6, task: t)
        case "max_speed": maxSpeed = try checked(v, name, 1e-9...1e6, task: t)
        case "dt": dt = try checked(v, name, 1e-6...1, task: t)
        case "episode_ticks": episodeTicks = try checkedInt(v, name, 1...100_000_000, task: t)
        case "gamma": discount = try checked(v, name, 0...1, task: t)
        default:
            let names = Self.parameterDocs.map(\.key).joined(separator: ", ")
            throw SimError("pendulum has no parameter '\(name)'; use one of: \(names)")
        }
    }

    /// Coefficient of sin θ in θ̈, 1/s²: 3g/(2l) for the uniform rod, computed in
    /// Gymnasium's order of operations.
    public var gravityCoefficient: Double {
        inertia > 0 ? mass * gravity * (0.5 * length) / inertia : 3 * gravity / (2 * length)
    }

    /// 1/I, 1/(kg·m²): 3/(m l²) for the uniform rod, computed in Gymnasium's order.
    public var inverseInertia: Double {
        inertia > 0 ? 1.0 / inertia : 3.0 / (mass * (length * length))
    }

    /// Reward multiplier dt/0.05: 1 at Gymnasium's rate, so per-second costs match.
    public var rewardScale: Double { dt / 0.05 }
}
