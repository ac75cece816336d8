import ArgumentParser
import Benchmarks
import Tasks
import FixedNN
import Foundation
import H2OTrainer

/// `robotctl sim rollout`.
struct SimRolloutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Step the onboard simulator through an action sequence and write what it saw.",
        discussion: """
            The task is a robot file and a task file (see `robotctl sim --help`); one step is \
            one policy decision. INIT.npy holds start state vectors: shape [S] for one episode \
            or [E, S] for E episodes, S = every joint's position, then every joint's velocity \
            (robot file order; the pendulum: pendulum.position with 0 upright, \
            pendulum.velocity). ACTIONS.npy holds policy actions in [-1, 1] (out-of-range values \
            are clipped): [T] or [T, A] for one episode, [E, T] or [E, T, A] for E. OUT.npz gets \
            observations [E, T+1, O] float32, states [E, T+1, S], rewards [E, T], terminals \
            [E, T], timeouts [E, T] and lengths [E] (the E axis is dropped when INIT is 1-D). \
            An episode stops at a terminal or time-out: later entries repeat the last state \
            with reward 0.

            Example: robotctl sim rollout --robot robots/acrobot.json \
            --task tasks/acrobot-swingup.json --init init.npy --actions actions.npy --out out.npz
            """)

    @OptionGroup var files: TaskFileOptions

    @Option(name: .customLong("init"), help: ArgumentHelp("Start states (.npy).", valueName: "INIT.npy"))
    var initPath: String

    @Option(name: .customLong("actions"), help: ArgumentHelp("Actions (.npy).", valueName: "ACTIONS.npy"))
    var actionsPath: String

    @Option(name: .customLong("out"), help: ArgumentHelp("Output archive.", valueName: "OUT.npz"))
    var outPath: String

    func run() throws {
        let task = try files.load()
        let starts = try NumpyArchive.readNPY(path: initPath)
        let actions = try NumpyArchive.readNPY(path: actionsPath)
        let output = try rollout(task, starts: starts, actions: actions)
        try NumpyArchive.writeNPZ(output, path: outPath)
        Console.shared.log(.info, "sim rollout: wrote \(outPath)")
    }

    private func rollout<T: SimulatedTask>(
        _ task: T, starts: NumpyArray, actions: NumpyArray
    ) throws
        -> [(name: String, array: NumpyArray)]
    {
        let s = task.simStateNames.count
        let a = task.actionSize
        let batched = starts.shape.count == 2
        guard starts.shape.count == 1 || batched, starts.shape.last == s else {
            throw UserError(
                "\(initPath): shape \(starts.shape) is not [\(s)] or [E, \(s)] (\(task.simStateNames.joined(separator: ", "))); write one start state per row"
            )
        }
        let episodes = batched ? starts.shape[0] : 1
        var shape = actions.shape
        if shape.count == (batched ? 2 : 1) && a == 1 { shape.append(1) }
        guard shape.count == (batched ? 3 : 2), shape.last == a, !batched || shape[0] == episodes else {
            let want = batched ? "[\(episodes), T, \(a)]" : "[T, \(a)]"
            throw UserError(
                "\(actionsPath): shape \(actions.shape) does not match \(want); write one action row per step"
            )
        }
        let steps = shape[shape.count - 2]
        let out = try SimRollout.run(
            task: task, starts: starts.doubles(), episodes: episodes,
            actions: actions.floats(), steps: steps, seed: 1)
        let lead = batched ? [episodes] : []
        return [
            ("observations", NumpyArray(out.observations, shape: lead + [steps + 1, out.observationSize])),
            ("states", NumpyArray(out.states, shape: lead + [steps + 1, out.stateSize])),
            ("rewards", NumpyArray(out.rewards, shape: lead + [steps])),
            ("terminals", NumpyArray(out.terminals, shape: lead + [steps])),
            ("timeouts", NumpyArray(out.timeouts, shape: lead + [steps])),
            ("lengths", NumpyArray(out.lengths.map { Int64($0) }, shape: lead)),
        ]
    }
}
