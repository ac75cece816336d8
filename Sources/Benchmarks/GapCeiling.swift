import Tasks
import Foundation

/// The pendulum swing-up's optimum on the real plant, by dynamic programming: value iteration
/// on a (θ, θ̇) grid whose transitions are the emulated robot's own physics (firmware-proto/plant,
/// the same C code `RealPlantEnvironment` steps, with the gap's parameters), with the task's
/// reward, discount and a set of evenly spaced actions in [−1, 1]; values between grid nodes
/// are bilinear (θ periodic, θ̇ clamped to the grid's range).
///
/// The model's one approximation: within a control period the plant's actuation latency
/// (5 ms of the 50 ms period on the reference plant) is set to 0, so the grid state needs no
/// command history; the evaluation plant keeps it. The greedy policy looks one step ahead on
/// that model from the state it observes (θ = atan2 of the encoder's sin/cos, the firmware's
/// filtered θ̇), exactly the observation every learned policy gets, and is evaluated on the
/// real plant: the ceiling row is an achieved return, not a grid estimate.
///
/// Set-up code: allocates (tens of MB for a 201 × 201 × 21 grid); single-threaded.
public struct PendulumCeiling: Sendable {
    /// The grid and the stopping rule.
    public struct Options: Sendable, Equatable {
        /// Nodes over θ ∈ [−π, π) (periodic).
        public var angleCells = 201
        /// Nodes over θ̇ ∈ [−maxSpeed, maxSpeed].
        public var speedCells = 201
        /// Speed range of the grid, rad/s (the real plant's swing-up stays well inside 10).
        public var maxSpeed = 10.0
        /// Evenly spaced actions in [−1, 1] (odd counts include 0).
        public var actions = 21
        /// Stop when no value changes by more than this in a sweep.
        public var tolerance = 1e-4
        public var maxIterations = 5000
        public init() {}
    }

    public let task: PendulumTask
    public let options: Options
    /// V on the grid, index θ-major: `value[i * speedCells + j]`.
    public private(set) var value: [Float] = []
    /// Sweeps run and the last sweep's largest change.
    public private(set) var iterations = 0
    public private(set) var residual = Double.infinity
    let model: RealPlant
    let internalTicks: Int

    /// Builds the model from `task` and the real plant `parameters` (plant.h names over the
    /// reference robot) and runs value iteration. Throws a one-line error for bad parameters.
    public init(task: PendulumTask, plantParameters parameters: [String: Double], options: Options = Options()) throws {
        precondition(options.angleCells >= 4 && options.speedCells >= 2 && options.actions >= 2, "grid too small")
        self.task = task
        self.options = options
        var p = parameters
        p["latency_ticks"] = 0
        model = try RealPlant(kind: .pendulum, parameters: p, seed: 0xD1CE)
        internalTicks = Int((task.controlPeriod * 1000).rounded())
        let nA = options.angleCells, nS = options.speedCells, nU = options.actions
        let states = nA * nS
        // Transitions: for each state and action, the next state's cell corner and weights and the reward.
        var corner = [Int32](repeating: 0, count: states * nU)
        var weights = [SIMD2<Float>](repeating: .zero, count: states * nU)
        var reward = [Float](repeating: 0, count: states * nU)
        var plant = model
        for i in 0..<nA {
            for j in 0..<nS {
                let theta = angle(i), speed = self.speed(j)
                for k in 0..<nU {
                    let (r, next) = Self.transition(
                        &plant, task: task, theta: theta, speed: speed, action: action(k), ticks: internalTicks)
                    let c = (i * nS + j) * nU + k
                    let (node, w) = cell(next.theta, next.speed)
                    corner[c] = Int32(node)
                    weights[c] = w
                    reward[c] = Float(r)
                }
            }
        }
        // Gauss–Seidel value iteration.
        let gamma = Float(task.discount)
        var v = [Float](repeating: 0, count: states)
        var sweeps = 0
        var change = Double.infinity
        while sweeps < options.maxIterations && change > options.tolerance {
            var largest: Float = 0
            for s in 0..<states {
                var best = -Float.infinity
                for k in 0..<nU {
                    let c = s * nU + k
                    let q = reward[c] + gamma * Self.interpolate(v, node: Int(corner[c]), weights: weights[c], nA: nA, nS: nS)
                    best = max(best, q)
                }
                largest = max(largest, abs(best - v[s]))
                v[s] = best
            }
            change = Double(largest)
            sweeps += 1
        }
        value = v
        iterations = sweeps
        residual = change
    }

    func angle(_ i: Int) -> Double { -Double.pi + 2 * Double.pi * Double(i) / Double(options.angleCells) }
    func speed(_ j: Int) -> Double { -options.maxSpeed + 2 * options.maxSpeed * Double(j) / Double(options.speedCells - 1) }
    func action(_ k: Int) -> Float { Float(-1 + 2 * Double(k) / Double(options.actions - 1)) }

    /// The lower-left grid node of a state and its bilinear weights (θ fraction, θ̇ fraction).
    func cell(_ theta: Double, _ speed: Double) -> (Int, SIMD2<Float>) {
        let nA = options.angleCells, nS = options.speedCells
        let a = PendulumDynamics.normalizeAngle(theta)
        var x = (a + Double.pi) / (2 * Double.pi) * Double(nA)
        if x >= Double(nA) { x -= Double(nA) }
        let i = min(Int(x.rounded(.down)), nA - 1)
        let y = (min(max(speed, -options.maxSpeed), options.maxSpeed) + options.maxSpeed) / (2 * options.maxSpeed)
            * Double(nS - 1)
        let j = min(Int(y.rounded(.down)), nS - 2)
        return (i * nS + j, SIMD2(Float(x - Double(i)), Float(y - Double(j))))
    }

    @inline(__always)
    static func interpolate(_ v: [Float], node: Int, weights w: SIMD2<Float>, nA: Int, nS: Int) -> Float {
        let i = node / nS, j = node % nS
        let i1 = i + 1 == nA ? 0 : i + 1
        let a = v[node], b = v[node + 1], c = v[i1 * nS + j], d = v[i1 * nS + j + 1]
        let low = a + (b - a) * w.y, high = c + (d - c) * w.y
        return low + (high - low) * w.x
    }

    /// V at a state (bilinear).
    public func value(theta: Double, speed: Double) -> Float {
        let (node, w) = cell(theta, speed)
        return Self.interpolate(value, node: node, weights: w, nA: options.angleCells, nS: options.speedCells)
    }

    /// One control period of the model from (θ, θ̇) under `action`: the task's reward (on the
    /// true state and the commanded torque) and the true next state.
    static func transition(
        _ plant: inout RealPlant, task: PendulumTask, theta: Double, speed: Double, action: Float, ticks: Int
    ) -> (reward: Double, next: (theta: Double, speed: Double)) {
        let u = task.torque(for: action)
        let r = -PendulumDynamics.cost(theta: theta, thetaDot: speed, torque: u) * task.parameters.rewardScale
        plant.reset(positions: (theta, 0), velocities: (speed, 0))
        plant.setCommand((u * 1000).rounded() / 1000)
        for _ in 0..<ticks { plant.step(0.001) }
        return (r, (plant.truePosition(0), plant.trueVelocity(0)))
    }

    /// The greedy action at an observed (θ, θ̇): argmax over the action set of r + γ V(model step).
    public func action(theta: Double, speed: Double) -> Float {
        var plant = model
        var best = -Double.infinity
        var chosen: Float = 0
        for k in 0..<options.actions {
            let a = action(k)
            let (r, next) = Self.transition(&plant, task: task, theta: theta, speed: speed, action: a, ticks: internalTicks)
            let q = r + task.discount * Double(value(theta: next.theta, speed: next.speed))
            if q > best {
                best = q
                chosen = a
            }
        }
        return chosen
    }

    /// Mean undiscounted return of `episodes` episodes of the greedy policy on `plant`
    /// (the real plant of the benchmark, from its own start distribution).
    public func evaluate(on plant: inout RealPlantEnvironment<PendulumTask>, episodes: Int) -> Double {
        GapBenchmark.referenceReturn(&plant, episodes: episodes) { o, a in
            a[0] = action(theta: atan2(Double(o[1]), Double(o[0])), speed: Double(o[2]))
        }
    }
}
