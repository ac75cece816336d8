import ArgumentParser

/// `robotctl train`: H2O+ training and its verification tools.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a policy with H2O+ on logged real data plus the onboard simulator.",
        discussion: """
            Example: robotctl train verify-step --params in.safetensors --batch b.npz \
            --noise n.npz --out out.safetensors
            """,
        subcommands: [TrainVerifyStep.self]
    )
}
