import ArgumentParser
import Benchmarks
import FixedNN
import Foundation
import H2OTrainer
import Tasks

/// `robotctl sim`: the onboard simulator on its own. Each subcommand is its own file
/// (SimRolloutCommand, SimParamsCommand, SimCollectCommand, BenchSimCommand).
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Step the onboard simulator: roll out given actions, list task parameters, record data, measure speed.",
        discussion: """
            A task is two files: a robot file (--robot, default \(TaskFiles.defaultRobot)) and \
            a task file (--task, default \(TaskFiles.defaultTask)); relative paths are found in \
            the working directory, else in the robotctl package. Shipped: \
            \(TaskFiles.shipped.map { "\($0.robot) + \($0.task)" }.joined(separator: "; ")). \
            How to write them: docs/robot-and-task-files.md.

            Example: robotctl sim rollout --robot robots/cartpole.json \
            --task tasks/cartpole-balance.json --param mass=1.2 --init init.npy \
            --actions actions.npy --out rollout.npz
            """,
        subcommands: [
            SimRolloutCommand.self, SimParamsCommand.self, SimCollectCommand.self, SimBenchCommand.self,
        ]
    )
}

/// `--robot FILE --task FILE --param NAME=VALUE`: how every simulator-side command names a task.
struct TaskFileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Robot file (found from any working directory).", valueName: "FILE"))
    var robot = TaskFiles.defaultRobot

    @Option(help: ArgumentHelp("Task file for that robot (found from any working directory).", valueName: "FILE"))
    var task = TaskFiles.defaultTask

    @Option(
        name: .customLong("param"),
        help: ArgumentHelp(
            "Override a simulator parameter, repeatable (see `robotctl sim params`).",
            valueName: "name=value"))
    var params: [String] = []

    /// The task the two files define, with the overrides applied; one-line errors.
    func load() throws -> FileTask {
        do { return try TaskFiles.load(robot: robot, task: task, assignments: params) } catch {
            throw UserError(error.description)
        }
    }
}
