/// Why a `.safetensors` file could not be read or written. `description` is one line naming the
/// file, the problem and, when there is one, the fix.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file (path, or a label such as `"<memory>"` for bytes decoded in memory).
    public var file: String
    /// What is wrong.
    public var problem: String
    /// What to do about it (empty when there is nothing specific).
    public var fix: String

    public init(file: String, problem: String, fix: String = "") {
        self.file = file
        self.problem = problem
        self.fix = fix
    }

    /// `"<file>: <problem>; <fix>"`, always one line.
    public var description: String {
        let text = fix.isEmpty ? "\(file): \(problem)" : "\(file): \(problem); \(fix)"
        return String(text.map { $0.isNewline ? " " : $0 })
    }
}
