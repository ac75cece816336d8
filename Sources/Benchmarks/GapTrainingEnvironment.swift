import Control
import Tasks

/// Where the gap benchmark's sim episodes start.
public enum SimResetMode: String, CaseIterable, Sendable, Codable {
    /// The task's own simulator reset (the pendulum: θ ~ U[−π, π], θ̇ ~ U[−1, 1]).
    case task
    /// The real robot's start distribution: hanging still, within the reset tolerance
    /// (`PlantBackedTask.realStartPositions` ± `realStartJitter`), as the real data starts.
    case hanging
    /// Alternate episodes: one from the task's reset, the next hanging (covers both).
    case mixed
}

/// The environment a gap-benchmark method collects its sim data in: the onboard simulator
/// (with a chosen start distribution) or, for the `sac-real-oracle` ceiling and the gap-free
/// `identical` setting, the real plant itself.
///
/// Thread contract: a value type with one owner thread. `reset` and `step` are real-time
/// safe: they do not allocate, lock or throw.
public struct GapTrainingEnvironment<Task: SimulatedTask & PlantBackedTask>: TaskEnvironment {
    public private(set) var sim: SimEnvironment<Task>
    public private(set) var plant: RealPlantEnvironment<Task>?
    public let resetMode: SimResetMode
    var random: SimRandom
    var episodes = 0
    /// Joints in the sim state vector (its values come in position, velocity pairs).
    let simJoints: Int

    /// The onboard simulator of `task` starting per `reset`.
    public init(task: Task, reset: SimResetMode, seed: UInt64) {
        sim = SimEnvironment(task: task, seed: seed)
        plant = nil
        resetMode = reset
        random = SimRandom(seed: seed ^ 0x4A46_0000)
        simJoints = task.simStateNames.count / 2
        precondition(task.simStateNames.count <= 4, "hanging starts cover tasks of at most two joints")
    }

    /// The real plant as the training environment (its own start distribution).
    public init(plant: RealPlantEnvironment<Task>, task: Task, seed: UInt64) {
        sim = SimEnvironment(task: task, seed: seed)
        self.plant = plant
        resetMode = .hanging
        random = SimRandom(seed: seed ^ 0x4A46_0000)
        simJoints = task.simStateNames.count / 2
    }

    public var observationSize: Int { sim.observationSize }
    public var actionSize: Int { sim.actionSize }
    public var episodeTicks: Int { sim.episodeTicks }

    public mutating func reset(observation: UnsafeMutablePointer<Float>) {
        episodes += 1
        if plant != nil {
            plant!.reset(observation: observation)
            return
        }
        let hanging = resetMode == .hanging || (resetMode == .mixed && episodes % 2 == 0)
        guard hanging else {
            sim.reset(observation: observation)
            return
        }
        // Sim state layout: position then velocity per joint (pendulum [θ, θ̇]; cart-pole [x, ẋ, θ, θ̇]).
        let task = sim.task
        let j = task.realStartJitter
        let start = task.realStartPositions
        let state = withUnsafeTemporaryAllocation(of: Double.self, capacity: 4) { values in
            for k in 0..<4 { values[k] = 0 }
            values[0] = start[0] + random.uniform(-j, j)
            values[1] = random.uniform(-j, j)
            if simJoints >= 2 {
                values[2] = start[1] + random.uniform(-j, j)
                values[3] = random.uniform(-j, j)
            }
            return task.simState(from: UnsafePointer(values.baseAddress!))
        }
        sim.reset(to: state, observation: observation)
    }

    public mutating func step(action: UnsafePointer<Float>, observation: UnsafeMutablePointer<Float>) -> StepOutcome {
        if plant != nil { return plant!.step(action: action, observation: observation) }
        return sim.step(action: action, observation: observation)
    }
}
