import Glibc

/// A thin typed wrapper over a POSIX file descriptor (swift-system style).
///
/// Every method names the C function it calls, retries EINTR, and throws `SystemError`
/// carrying errno and the path. Not real-time safe (it throws); used by set-up code and the
/// logger thread. Not thread-safe: one owner at a time.
package struct FileDescriptor {
    package let raw: Int32
    package let path: String

    package init(raw: Int32, path: String) {
        self.raw = raw
        self.path = path
    }

    /// open(2) with `flags` and mode 0644.
    package static func open(_ path: String, _ flags: Int32) throws(SystemError) -> FileDescriptor {
        let fd = try retryingInterrupts("open", path) { Glibc.open(path, flags | O_CLOEXEC, 0o644) }
        return FileDescriptor(raw: fd, path: path)
    }

    /// write(2) until every byte is written.
    package func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = try retryingInterrupts("write", path) {
                Glibc.write(raw, bytes.baseAddress! + offset, bytes.count - offset)
            }
            offset += n
        }
    }

    /// pread(2) until `buffer` is full or end of file; returns the bytes read.
    package func read(into buffer: UnsafeMutableRawBufferPointer, at fileOffset: Int) throws(SystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try retryingInterrupts("pread", path) {
                Glibc.pread(raw, buffer.baseAddress! + done, buffer.count - done, off_t(fileOffset + done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// fsync(2).
    package func sync() throws(SystemError) {
        _ = try retryingInterrupts("fsync", path) { Glibc.fsync(raw) }
    }

    /// ftruncate(2).
    package func truncate(to length: Int) throws(SystemError) {
        _ = try retryingInterrupts("ftruncate", path) { Glibc.ftruncate(raw, off_t(length)) }
    }

    /// The file's size (fstat(2)).
    package func size() throws(SystemError) -> Int {
        var st = stat()
        _ = try retryingInterrupts("fstat", path) { Glibc.fstat(raw, &st) }
        return Int(st.st_size)
    }

    /// close(2). EINTR is not retried (Linux closes the descriptor anyway).
    package func close() {
        _ = Glibc.close(raw)
    }

    /// fsync(2) of a directory, so a newly created file's entry survives a power loss.
    package static func syncDirectory(_ path: String) throws(SystemError) {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
        defer { fd.close() }
        try fd.sync()
    }
}
