internal import CRealtime
import Glibc

/// A joinable POSIX thread running one closure (Foundation's `Thread` cannot be joined).
///
/// Thread contract: `start` and `join` from the owning (set-up) thread.
public final class NativeThread: @unchecked Sendable {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    private var handle = pthread_t()
    private var joined = false

    /// Starts `body` on a new thread named `name` (at most 15 characters shown by `top -H`).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let context = Unmanaged.passRetained(Box({
            crt_set_thread_name(name)
            body()
        })).toOpaque()
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw SystemError("pthread_create", name, errno: rc, fix: "too many threads or too little memory")
        }
    }

    /// Waits for the thread to finish.
    public func join() {
        guard !joined else { return }
        pthread_join(handle, nil)
        joined = true
    }

    deinit { join() }
}
