import ArgumentParser
import Benchmarks
import Tasks
import Foundation
import H2OTrainer

/// `robotctl sim params`.
struct SimParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params",
        abstract: "List a file task's simulator parameters (the gap parameters among them) with their values.",
        discussion: """
            The shared gap names act on every joint; `<joint>.<field>` rows set one joint. \
            Values are the robot file's, with any --param applied.

            Example: robotctl sim params --robot robots/acrobot.json --task tasks/acrobot-swingup.json
            """)

    @OptionGroup var files: TaskFileOptions

    func run() throws {
        let task = try files.load()
        for row in task.parameters.table() {
            let name = row.name.padding(toLength: 20, withPad: " ", startingAt: 0)
            let value = "\(row.value)".padding(toLength: 14, withPad: " ", startingAt: 0)
            print("\(name) \(value) \(row.doc)")
        }
    }
}
