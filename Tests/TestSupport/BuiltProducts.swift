import Foundation

/// The directory holding the built products of this test run (`.build/<config>/`): the test
/// bundle sits there beside `robotctl` and `robot-emulator`.
public func builtProductsDirectory() -> URL {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = executable.deletingLastPathComponent()
    // On Linux the test runner is `.build/<config>/<Package>PackageTests.xctest` itself;
    // elsewhere it may sit inside a bundle directory.
    while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("robotctl").path) {
        dir = dir.deletingLastPathComponent()
    }
    return dir
}

/// The path of a built executable product, failing loudly (precondition) when it was not
/// built, so a test can never silently skip the real binary.
public func builtProduct(_ name: String) -> String {
    let url = builtProductsDirectory().appendingPathComponent(name)
    precondition(FileManager.default.isExecutableFile(atPath: url.path),
                 "\(url.path) is missing: build it first (`swift build --build-tests` builds every product)")
    return url.path
}

/// What a finished child process left.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments` to completion, capturing its output.
/// `stdin` is /dev/null unless `input` is given. Times out (and kills the child) after
/// `timeout` seconds, returning status -9.
public func runProcess(_ executable: String, _ arguments: [String], input: String? = nil,
                       environment: [String: String]? = nil, currentDirectory: String? = nil,
                       timeout: Double = 60) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let out = Pipe(), err = Pipe(), inPipe = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
    try process.run()
    if let input {
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try? inPipe.fileHandleForWriting.close()
    }
    // Read both pipes concurrently so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var outData = Data(), errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(2_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        group.wait()
        return ProcessResult(status: -9, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }
    process.waitUntilExit()
    group.wait()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}
