import Foundation

/// Atomic file replacement: temp file + fsync + rename (+ directory fsync).
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically. Throws `SystemError` naming the call, the path and
    /// errno, with the fix "check the directory exists, is writable and has space".
    public static func write(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let temp = path + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(temp, "open") }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let r = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if r < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += r
            }
            return true
        }
        guard ok, fsync(fd) == 0 else {
            let e = failure(temp, "write/fsync")
            close(fd)
            unlink(temp)
            throw e
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let e = failure(path, "rename")
            unlink(temp)
            throw e
        }
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    static func failure(_ path: String, _ call: String) -> SystemError {
        SystemError(call, path, errno: errno, fix: "check the directory exists, is writable and has space")
    }
}
