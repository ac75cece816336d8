import Control
import FixedNN
import Foundation
import SystemSupport
import Tasks
import H2OTrainer

/// SAC in the onboard simulator only: the starting policy of a run when none is given
/// ("a policy trained only in the onboard simulator"). The result is a full agent checkpoint
/// (critics included, so on-robot fine-tuning starts from trained critics) and the policy.
///
/// Set-up code: allocates; runs on the calling thread.
public enum SimPretraining {
    /// How long and how the simulator pre-training runs.
    public struct Plan: Sendable, Equatable {
        /// Networks, batch, learning rate; γ should match the simulator task's time scale.
        public var hyperparameters: Hyperparameters
        /// Simulator steps collected before the first update.
        public var warmupSteps = 2000
        /// SAC updates (one simulator step is collected per update).
        public var updates = 12_000
        /// Deterministic evaluation episodes at the end.
        public var evaluationEpisodes = 5
        public var seed: UInt64 = 1

        public init(hyperparameters: Hyperparameters, seed: UInt64) {
            self.hyperparameters = hyperparameters
            self.seed = seed
        }

        /// A stable key of everything that changes the result (for the cache file name).
        public func cacheKey(taskDescription: String) -> String {
            let text = "\(taskDescription)|\(hyperparameters.jsonString)|\(warmupSteps)|\(updates)|\(seed)"
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            let hex = String(h, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
    }

    /// What pre-training produced.
    public struct Result: Sendable {
        /// The agent (SAC-trained policy and critics) as an `AgentFile` checkpoint.
        public var checkpoint: SafeTensors
        /// Mean return of the deterministic policy in the simulator at the end.
        public var simulatorReturn: Double
        /// Wall time, seconds.
        public var seconds: Double
    }

    /// Trains SAC on `task`'s onboard simulator (one thread; throws only if the system cannot
    /// start it). `progress(done, total, lastSimReturn)` is called every few hundred updates.
    public static func train<Task: SimulatedTask>(
        task: Task, plan: Plan, progress: (Int, Int, Double?) -> Void
    ) throws(SystemError) -> Result {
        let start = Date()
        var seeds = TrainerRandom(seed: plan.seed)
        let random = seeds.fork(1)
        let empty = ReplayBuffer(observationSize: task.observationSize, actionSize: task.actionSize, capacity: 1, overflow: .refuse)
        let agent = H2OAgent(
            observationSize: task.observationSize, actionSize: task.actionSize, hyperparameters: plan.hyperparameters,
            seed: plan.seed)
        let learner = try Learner(
            algorithm: .sacSim, hyperparameters: plan.hyperparameters, agent: agent, real: empty,
            simCapacity: plan.warmupSteps + plan.updates + 1, simEnvironment: SimEnvironment(task: task, seed: seeds.next()),
            random: random)
        var evaluation = SimEnvironment(task: task, seed: seeds.next())
        learner.collect(plan.warmupSteps)
        let reportEvery = 250
        for u in 0..<plan.updates {
            learner.collect(1)
            _ = learner.update()
            if (u + 1) % reportEvery == 0 || u + 1 == plan.updates {
                progress(u + 1, plan.updates, learner.simEpisodeReturns.last)
            }
        }
        let simReturn = learner.evaluate(in: &evaluation, episodes: plan.evaluationEpisodes)
        let checkpoint = learner.checkpoint(
            extraMetadata: ["provenance.trained_in": "onboard simulator only", "provenance.sim_return": "\(simReturn)"])
        return Result(checkpoint: checkpoint, simulatorReturn: simReturn, seconds: Date().timeIntervalSince(start))
    }
}
