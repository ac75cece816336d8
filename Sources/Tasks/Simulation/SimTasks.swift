import Foundation

/// Where the simulator-side commands find robot and task files: a task is named by its two
/// files (`--robot FILE --task FILE`), never by a type.
///
/// A relative path is looked up in the working directory first, then in the package the
/// executable was built in (it lives in `.build/<triple>/<config>/` or `.build/<config>/`, so
/// the nearest parent directory holding the file), so `robotctl sim …` and `robotctl train`
/// find the shipped `robots/` and `tasks/` from any working directory.
public enum TaskFiles {
    /// The default robot: the emulated pendulum.
    public static let defaultRobot = "robots/pendulum.json"
    /// The default task: the pendulum swing-up.
    public static let defaultTask = "tasks/pendulum-swingup.json"
    /// The shipped robot + task pairs, by short name (what `bench sim` measures).
    public static let shipped: [(name: String, robot: String, task: String)] = [
        ("pendulum", "robots/pendulum.json", "tasks/pendulum-swingup.json"),
        ("cartpole", "robots/cartpole.json", "tasks/cartpole-balance.json"),
        ("acrobot", "robots/acrobot.json", "tasks/acrobot-swingup.json"),
    ]

    /// The file `path` names: itself when absolute or present relative to `workingDirectory`
    /// (the process's when nil); else the copy in the package beside `executable` (the
    /// running one when nil); else `path` unchanged, so the load error names what was asked.
    public static func locate(_ path: String, workingDirectory: String? = nil, executable: String? = nil) -> String {
        let files = FileManager.default
        if path.hasPrefix("/") { return path }
        let here = workingDirectory.map { ($0 as NSString).appendingPathComponent(path) } ?? path
        if files.fileExists(atPath: here) { return path }
        let exe = executable ?? ((try? files.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        var dir = (exe as NSString).deletingLastPathComponent
        var hops = 0
        while !dir.isEmpty, dir != "/", hops < 6 {
            let candidate = (dir as NSString).appendingPathComponent(path)
            if files.fileExists(atPath: candidate) { return (candidate as NSString).standardizingPath }
            dir = (dir as NSString).deletingLastPathComponent
            hops += 1
        }
        return path
    }

    /// The task `robotFile` + `taskFile` define (both located as `locate` does), with
    /// `assignments` (`name=value`, `FileTaskParameters` names) applied. One-line errors
    /// naming the file and field.
    public static func load(robot robotFile: String, task taskFile: String, assignments: [String] = []) throws(SimError) -> FileTask {
        try FileTask.load(robotFile: locate(robotFile), taskFile: locate(taskFile), assignments: assignments)
    }
}
