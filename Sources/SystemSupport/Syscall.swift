import Glibc

/// Thin syscall helpers in the swift-nio style: retry `EINTR`, report errno.
package enum Syscall {
    /// Calls `body` until it does not fail with EINTR. Returns its result; on -1, `errno`
    /// holds the cause. Does not allocate.
    @inline(__always)
    package static func retryingInterrupt<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    /// `open(2)` retrying EINTR; returns fd or -1 with errno set.
    package static func open(_ path: String, _ flags: Int32) -> Int32 {
        retryingInterrupt { Glibc.open(path, flags) }
    }

    /// `close(2)`; EINTR is not retried (Linux has already closed the fd).
    package static func close(_ fd: Int32) { _ = Glibc.close(fd) }
}
