internal import CHardwareShims
import Glibc

/// A pseudo-terminal pair: this object owns the master side; open `slavePath` (for example
/// with `TermiosTransport`) to get the terminal side. Used to stand in for a serial device
/// (tests, echo peers) and to feed a keyboard reader.
///
/// Thread contract: set-up object; `masterFileDescriptor` may be read/written from any one
/// thread.
public final class PseudoTerminal {
    /// The master side's fd (O_RDWR, blocking).
    public let masterFileDescriptor: Int32
    /// The terminal side's path, e.g. "/dev/pts/3".
    public let slavePath: String

    /// Opens a new pseudo-terminal via /dev/ptmx.
    public init() throws {
        var name = [CChar](repeating: 0, count: 128)
        let fd = hwshim_open_pty(&name, name.count)
        guard fd >= 0 else {
            throw HardwareError(
                .ioFailure, device: "/dev/ptmx", problem: "cannot open a pseudo-terminal: \(errnoText(-fd))",
                fix: "check that /dev/pts is mounted (devpts)")
        }
        masterFileDescriptor = fd
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { Glibc.close(masterFileDescriptor) }
}
