/// Why training could not start or had to stop. Each message is one line naming what failed,
/// where, and what to do.
public enum TrainerError: Error, CustomStringConvertible, Equatable {
    /// A hyperparameter is out of range.
    case invalidHyperparameter(String)
    /// A dataset cannot be used (wrong sizes, empty, non-finite values, missing keys).
    case invalidDataset(path: String, problem: String)
    /// A checkpoint or parameter file does not match the networks being trained.
    case incompatibleCheckpoint(path: String, problem: String)
    /// A file could not be read or written.
    case io(path: String, problem: String)
    /// A loss became NaN or infinite during training.
    case nonFiniteLoss(step: Int, loss: String, value: Float)

    public var description: String {
        switch self {
        case .invalidHyperparameter(let m):
            "invalid hyperparameter: \(m)"
        case .invalidDataset(let path, let problem):
            problem.hasPrefix(path + ":") ? problem : "\(path): \(problem)"
        case .incompatibleCheckpoint(let path, let problem):
            "\(path): \(problem)"
        case .io(let path, let problem):
            problem.hasPrefix(path + ":") ? problem : "\(path): \(problem)"
        case .nonFiniteLoss(let step, let loss, let value):
            "training stopped at update \(step): \(loss) became \(value); the last good checkpoint is kept, lower the learning rate or check the data for extreme values"
        }
    }
}
