import SystemSupport
/// The outcome of one transport call.
public enum TransportStatus: UInt8, Sendable {
    /// Done: at least one byte read, or every byte written.
    case ok
    /// The deadline passed first.
    case timeout
    /// The other end hung up or the device went away; reopening is set-up work.
    case disconnected
    /// Any other I/O error (the errno is in `TransportResult.errno`).
    case ioError
}

/// What a transport call did: how many bytes moved, and why it stopped.
public struct TransportResult: Sendable, Equatable {
    public var count: Int
    public var status: TransportStatus
    /// The errno behind `.ioError`/`.disconnected`, else 0.
    public var errno: Int32

    public init(count: Int, status: TransportStatus, errno: Int32 = 0) {
        self.count = count
        self.status = status
        self.errno = errno
    }
}

/// A byte stream to a device: a serial port, a pseudo-terminal, a pipe.
///
/// Thread contract: one thread at a time (the control thread once running). `read`, `write`
/// and `discardInput` are real-time safe: they do not allocate, lock or throw; they
/// make only the I/O syscalls and `poll`, and return by `deadlineNanos` (CLOCK_MONOTONIC,
/// see `monotonicNanos()`). Buffers are the caller's.
public protocol ByteTransport: AnyObject {
    /// The device path, for messages.
    var devicePath: String { get }

    /// Reads at least one and at most `buffer.count` bytes, waiting until `deadlineNanos`.
    /// Real-time safe: does not allocate, lock or throw.
    func read(into buffer: UnsafeMutableRawBufferPointer, deadlineNanos: UInt64) -> TransportResult

    /// Writes all of `bytes`, waiting for room until `deadlineNanos`; `count` says how many
    /// were written if it stopped early. Real-time safe: does not allocate, lock or throw.
    func write(_ bytes: UnsafeRawBufferPointer, deadlineNanos: UInt64) -> TransportResult

    /// Drops bytes received but not yet read (after a resync or reconnect).
    /// Real-time safe: does not allocate, lock or throw.
    func discardInput()

    /// Closes the device. Set-up call; safe to call twice.
    func close()
}
