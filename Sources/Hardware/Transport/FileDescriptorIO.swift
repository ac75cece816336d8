internal import CHardwareShims
import Glibc
import SystemSupport

/// The non-blocking read/write/wait loop shared by the fd-based transports.
/// Real-time safe: does not allocate, lock or throw.
enum FileDescriptorIO {
    /// Waits for `events` on `fd` until `deadlineNanos`. Returns revents, 0 on timeout,
    /// or -errno.
    @inline(__always)
    static func wait(_ fd: Int32, events: Int16, deadlineNanos: UInt64) -> Int32 {
        let now = monotonicNanos()
        let left = deadlineNanos > now ? Int64(deadlineNanos - now) : 0
        return hwshim_poll_ns(fd, events, left)
    }

    /// Reads what is available, waiting until the deadline for the first byte.
    static func read(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, deadlineNanos: UInt64
    ) -> TransportResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else {
            return TransportResult(count: 0, status: .ok)
        }
        while true {
            let n = Glibc.read(fd, base, buffer.count)
            if n > 0 { return TransportResult(count: n, status: .ok) }
            if n == 0 { return TransportResult(count: 0, status: .disconnected) }
            let e = errno
            if e == EINTR { continue }
            if e != EAGAIN && e != EWOULDBLOCK { return failure(e) }
            if monotonicNanos() >= deadlineNanos { return TransportResult(count: 0, status: .timeout) }
            let revents = wait(fd, events: Int16(POLLIN), deadlineNanos: deadlineNanos)
            if revents == 0 { return TransportResult(count: 0, status: .timeout) }
            if revents < 0 { return failure(-revents) }
            if revents & Int32(POLLIN) == 0 && revents & Int32(POLLHUP | POLLERR | POLLNVAL) != 0 {
                return TransportResult(count: 0, status: .disconnected)
            }
        }
    }

    /// Writes every byte, waiting for room until the deadline.
    static func write(
        _ fd: Int32, _ bytes: UnsafeRawBufferPointer, deadlineNanos: UInt64
    ) -> TransportResult {
        guard let base = bytes.baseAddress else { return TransportResult(count: 0, status: .ok) }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, base + done, bytes.count - done)
            if n > 0 {
                done += n
                continue
            }
            let e = n < 0 ? errno : EAGAIN
            if e == EINTR { continue }
            if e != EAGAIN && e != EWOULDBLOCK {
                var r = failure(e)
                r.count = done
                return r
            }
            let revents = wait(fd, events: Int16(POLLOUT), deadlineNanos: deadlineNanos)
            if revents == 0 { return TransportResult(count: done, status: .timeout) }
            if revents < 0 { return TransportResult(count: done, status: .ioError, errno: -revents) }
            if revents & Int32(POLLOUT) == 0 {
                return TransportResult(count: done, status: .disconnected)
            }
        }
        return TransportResult(count: done, status: .ok)
    }

    @inline(__always)
    static func failure(_ e: Int32) -> TransportResult {
        // EIO on a tty means the other side (pty master, USB device) is gone.
        let gone = e == EIO || e == ENXIO || e == ENODEV || e == EBADF
        return TransportResult(count: 0, status: gone ? .disconnected : .ioError, errno: e)
    }
}
