import ArgumentParser

/// `robotctl train`: H2O+ training and its verification tools.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a policy with H2O+ on logged real data plus the onboard simulator.",
        discussion: """
            `robotctl train` alone runs the training loop (`robotctl train run`).

            Example: robotctl train --preset robot --epochs 20 --out runs/pendulum
            """,
        subcommands: [TrainRunCommand.self, TrainVerifyStepCommand.self],
        defaultSubcommand: TrainRunCommand.self
    )
}
