#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: the function, the path or object it acted on, errno, and what to do.
///
/// Set-up code throws this; the message fits on one line.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    /// The C function that failed, e.g. "open".
    public var function: String
    /// The file, device or object it acted on.
    public var subject: String
    /// errno after the call.
    public var errno: Int32
    /// What the user can do about it, or "" when nothing specific helps.
    public var fix: String

    public init(_ function: String, _ subject: String, errno: Int32, fix: String = "") {
        self.function = function
        self.subject = subject
        self.errno = errno
        self.fix = fix
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return "\(function)(\(subject)) failed: \(reason) (errno \(errno))" + (fix.isEmpty ? "" : "; \(fix)")
    }
}

/// Calls `body` until it does not fail with EINTR; turns -1 into a `SystemError`.
/// Not for the real-time path (it can throw).
@inline(__always)
package func retryingInterrupts<T: FixedWidthInteger>(
    _ function: String, _ subject: String, _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let rc = body()
        if rc != -1 { return rc }
        let e = errno
        if e == EINTR { continue }
        throw SystemError(function, subject, errno: e)
    }
}
