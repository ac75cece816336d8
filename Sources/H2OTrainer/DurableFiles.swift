import FixedNN
import Foundation
import SystemSupport

/// Durable `.safetensors` writes for checkpoints and verify-step files: the bytes of
/// ``SafeTensors/encode()`` through ``AtomicFile``. Throws `TrainerError.io` naming the path.
extension SafeTensors {
    public func writeDurably(path: String) throws {
        try writeAtomically(encode(), to: path)
    }
}

/// ``AtomicFile/write(_:to:)`` with its `SystemError` as `TrainerError.io` naming the path and errno.
func writeAtomically(_ bytes: [UInt8], to path: String) throws(TrainerError) {
    do {
        try AtomicFile.write(bytes, to: path)
    } catch {
        throw .io(
            path: error.subject,
            problem: "\(error.function) failed: \(String(cString: strerror(error.errno))) (errno \(error.errno)); \(error.fix)")
    }
}
