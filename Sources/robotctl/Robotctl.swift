import ArgumentParser

/// The `robotctl` command: a real-time controller that learns on the robot.
///
/// Each subcommand lives in its own file and is listed here once.
@main
struct Robotctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robotctl",
        abstract: "Run, record, calibrate and fine-tune a small robot with an on-board H2O+ learner.",
        discussion: """
            With no robot attached, every command works against the emulated robot: the \
            reference firmware built for this machine, driving a physics model over a \
            pseudo-terminal.

            Example: robotctl run --duration 60

            Exit status (every command; README "Exit codes"):
            """ + "\n" + ExitStatus.table,
        subcommands: [
            RunCommand.self,
            TeleopCommand.self,
            CalibrateCommand.self,
            TrainCommand.self,
            EvalCommand.self,
            DatasetCommand.self,
            PolicyCommand.self,
            ReportCommand.self,
            SimCommand.self,
            PortsCommand.self,
            MotorsCommand.self,
            GPIOCommand.self,
            BenchCommand.self,
        ]
    )
}

/// `robotctl bench`: the benchmarks `make bench` runs.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure inference, loop timing, training steps and the dynamics gap.",
        discussion: "Example: robotctl bench inference --json",
        subcommands: [
            BenchInferenceCommand.self,
            BenchLoopCommand.self,
            BenchTrainCommand.self,
            BenchSimCommand.self,
            BenchLinkCommand.self,
            BenchGapCommand.self,
        ]
    )
}
