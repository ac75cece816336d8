import ArgumentParser

/// `robotctl train`: H2O+ training and its verification tools.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a policy with H2O+ on logged real data plus the onboard simulator.",
        discussion: """
            `robotctl train` alone runs the training loop (`robotctl train run`).

            Example: robotctl train --preset robot --epochs 20 --out runs/pendulum
            """,
        subcommands: [TrainRun.self, TrainVerifyStep.self],
        defaultSubcommand: TrainRun.self
    )
}
