import Foundation

/// A user-facing failure: one line naming the file or device, the problem and the fix.
/// ArgumentParser prints it as `Error: <message>` and exits non-zero.
struct UserError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Writes `text` to `path` through a temporary file and a rename, so a reader never sees a
/// half-written file and an interrupted write leaves the old file (or none) in place.
func writeFileAtomically(_ text: String, to path: String) throws {
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        let reason = (error as NSError).localizedDescription
        throw UserError("\(path): cannot write (\(reason)); check that the directory exists and is writable")
    }
}

/// Converts library errors into one-line user errors (teleop, calibrate, dataset, policy).
func asUserError<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as UserError { throw e } catch { throw UserError("\(error)") }
}
