import FixedNN
import Foundation

/// A `.safetensors` file as named tensors plus string metadata, read and written with every
/// dtype the trainer's files use (F32, F64, I32, I64, BOOL, U8; little-endian, C order).
///
/// Format (huggingface/safetensors): 8-byte little-endian header length N, N bytes of JSON
/// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`
/// padded with spaces to a multiple of 8, then the tensor bytes. Tensors reuse `NumpyArray`
/// as their in-memory form. Writes are atomic (temp file, fsync, rename), so a checkpoint
/// being replaced is never left half-written.
///
/// Set-up code: allocates and throws.
public struct TensorFile: Sendable {
    /// Tensors by name.
    public var tensors: [String: NumpyArray]
    /// The `__metadata__` strings.
    public var metadata: [String: String]

    public init(tensors: [String: NumpyArray] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    static let dtypeNames: [(NumpyArray.DType, String)] = [
        (.float32, "F32"), (.float64, "F64"), (.int32, "I32"), (.int64, "I64"), (.bool, "BOOL"), (.uint8, "U8"),
    ]

    /// Reads `path`.
    public static func read(path: String) throws -> TensorFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainerError.io(path: path, problem: "cannot be read (missing or no permission); check the path")
        }
        return try decode([UInt8](data), source: path)
    }

    /// Decodes a file's bytes; `source` names it in errors.
    public static func decode(_ d: [UInt8], source: String) throws -> TensorFile {
        func bad(_ why: String) -> TrainerError {
            .io(path: source, problem: "not a valid .safetensors file (\(why)); write it with safetensors' save_file")
        }
        guard d.count >= 8 else { throw bad("shorter than its 8-byte header length") }
        let n = (0..<8).reduce(0) { $0 | Int(d[$1]) << (8 * $1) }
        guard n > 0, 8 + n <= d.count else { throw bad("header length \(n) exceeds the file") }
        guard let json = try? JSONSerialization.jsonObject(with: Data(d[8..<(8 + n)])) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        var file = TensorFile()
        let base = 8 + n
        for (name, value) in json {
            if name == "__metadata__" {
                guard let meta = value as? [String: String] else { throw bad("__metadata__ is not a string map") }
                file.metadata = meta
                continue
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw bad("tensor '\(name)' lacks dtype, shape or data_offsets") }
            guard let dtype = dtypeNames.first(where: { $0.1 == dtypeName })?.0 else {
                throw TrainerError.io(path: source, problem: "tensor '\(name)' has dtype \(dtypeName); only F32, F64, I32, I64, BOOL, U8 are supported, convert it")
            }
            let begin = base + offsets[0], end = base + offsets[1]
            guard offsets[0] >= 0, begin <= end, end <= d.count,
                end - begin == shape.reduce(1, *) * dtype.size
            else { throw bad("tensor '\(name)' data_offsets do not match its shape or the file size") }
            file.tensors[name] = NumpyArray(dtype: dtype, shape: shape, bytes: Array(d[begin..<end]))
        }
        return file
    }

    /// The file's bytes (tensors in name order).
    public func encode() -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            let dtype = Self.dtypeNames.first { $0.0 == t.dtype }!.1
            header[name] = ["dtype": dtype, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
        }
        var json = [UInt8]((try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8))
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: json.count >> (8 * k))) }
        out += json
        for name in names { out += tensors[name]!.bytes }
        return out
    }

    /// Writes atomically: a temporary file beside `path`, fsync, rename over `path`, fsync of
    /// the directory. A crash leaves either the old file or the new one, never a mix.
    public func write(path: String) throws {
        try AtomicFile.write(encode(), to: path)
    }
}

/// Atomic file replacement: temp file + fsync + rename (+ directory fsync).
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically. Throws `TrainerError.io` naming the path and errno.
    public static func write(_ bytes: [UInt8], to path: String) throws {
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

    static func failure(_ path: String, _ call: String) -> TrainerError {
        .io(path: path, problem: "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno)); check the directory exists, is writable and has space")
    }
}
