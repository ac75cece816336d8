import Testing

@testable import Tasks

@Suite("Simulator rollouts")
struct SimRolloutTests {
    @Test("a rollout from a Gymnasium start reproduces the Gymnasium fixture's rewards")
    func rolloutMatchesFixture() throws {
        let file = try SimFixtures.gymnasiumPendulum()
        let episodes = Array(file.episodes.prefix(2))
        let task = PendulumTask(parameters: .gymnasium)
        let steps = 150
        var starts: [Double] = []
        var actions: [Float] = []
        for e in episodes {
            starts += e.initial_state
            // Only clipped (exactly representable) actions keep the float32 path bit-exact.
            actions += e.actions.prefix(steps).map { Float($0 / 2) }
        }
        let out = try SimRollout.run(
            task: task, starts: starts, episodes: 2, actions: actions, steps: steps, seed: 1)
        #expect(out.lengths == [steps, steps])
        #expect(!out.terminals.contains(true) && !out.timeouts.contains(true))
        // The first step of each episode starts from Gymnasium's state.
        for (i, e) in episodes.enumerated() {
            #expect(abs(out.rewards[i * steps] - e.rewards[0]) < 1e-5)
            for k in 0..<3 {
                #expect(abs(out.observations[i * (steps + 1) * 3 + k] - e.observations[0][k]) < 1e-6)
            }
        }
    }

    @Test("an episode stops at a terminal state and at the time-out")
    func stopsAtEnd() throws {
        var balanceParameters = CartPoleParameters.balance200Hz
        try balanceParameters.apply(assignments: ["episode_ticks=1000"])
        let out = try SimRollout.run(
            task: CartPoleTask(parameters: balanceParameters), starts: [0, 0, 0.1, 0], episodes: 1,
            actions: [Float](repeating: 1, count: 300), steps: 300, seed: 1)
        let end = out.lengths[0]
        #expect(end < 300 && out.terminals[end - 1])
        #expect(out.rewards[end...].allSatisfy { $0 == 0 })
        var pendulumParameters = PendulumParameters.rate200Hz
        try pendulumParameters.apply(assignments: ["episode_ticks=10"])
        let timed = try SimRollout.run(
            task: PendulumTask(parameters: pendulumParameters), starts: [3, 0], episodes: 1, actions: [Float](repeating: 0, count: 20),
            steps: 20, seed: 1)
        #expect(timed.lengths == [10] && timed.timeouts[9] && !timed.terminals.contains(true))
    }

    @Test("rejects mis-shaped inputs and unknown tasks with messages that say what is expected")
    func errors() throws {
        let task = PendulumTask()
        #expect(throws: SimError.self) {
            _ = try SimRollout.run(
                task: task, starts: [1, 2, 3], episodes: 1, actions: [0], steps: 1, seed: 1)
        }
        #expect(throws: SimError.self) {
            _ = try SimRollout.run(
                task: task, starts: [1, 2], episodes: 1, actions: [0, 0], steps: 1, seed: 1)
        }
        var p = PendulumParameters.rate200Hz
        #expect(throws: SimError.self) { try p.apply(assignments: ["gravity=x"]) }
        for docs in [PendulumParameters.parameterDocs.map(\.key), CartPoleParameters.parameterDocs.map(\.key)] {
            for gap in [
                "mass", "length", "gravity", "damping", "coulomb", "actuator_gain", "latency_ticks",
                "action_noise",
            ] {
                #expect(docs.contains(gap), "a preset task lacks gap parameter \(gap)")
            }
        }
    }
}
