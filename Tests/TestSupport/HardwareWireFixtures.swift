// Test helpers for the Hardware area: hex, the shared protocol vectors, emulator lookup.
import Foundation

/// Parses lowercase hex ("-" = no bytes).
public func hexBytes(_ s: Substring) -> [UInt8] {
    if s == "-" { return [] }
    var out: [UInt8] = []
    out.reserveCapacity(s.count / 2)
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        out.append(UInt8(s[i..<j], radix: 16)!)
        i = j
    }
    return out
}

/// Lowercase hex, "-" for none.
public func hexString(_ b: some Collection<UInt8>) -> String {
    b.isEmpty ? "-" : b.map { String(format: "%02x", $0) }.joined()
}

/// The repository root, found from this file's path.
public func repositoryRoot(filePath: String = #filePath) -> URL {
    URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}

/// One `vector` block of firmware-proto/vectors/protocol-v1.txt.
public struct WireVector: Sendable {
    public var name: String
    public var wire: [UInt8] = []
    public var canonical = false
    /// The `frame`, `error` and `message` lines, in order.
    public var events: [String] = []
}

/// The shared protocol vectors (firmware-proto/vectors/protocol-v1.txt).
public struct WireVectorFile: Sendable {
    public var crcs: [(data: [UInt8], crc: UInt32)] = []
    public var cobs: [(decoded: [UInt8], encoded: [UInt8])] = []
    public var vectors: [WireVector] = []

    public static func load() throws -> WireVectorFile {
        let url = repositoryRoot().appendingPathComponent("firmware-proto/vectors/protocol-v1.txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        var file = WireVectorFile()
        var current: WireVector?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ", maxSplits: 1)
            let key = parts[0]
            let rest = parts.count > 1 ? parts[1] : ""
            switch key {
            case "crc":
                let f = rest.split(separator: " ")
                file.crcs.append((hexBytes(f[0]), UInt32(f[1], radix: 16)!))
            case "cobs":
                let f = rest.split(separator: " ")
                file.cobs.append((hexBytes(f[0]), hexBytes(f[1])))
            case "vector": current = WireVector(name: String(rest))
            case "note": break
            case "wire": current?.wire = hexBytes(rest)
            case "canonical": current?.canonical = true
            case "frame", "error", "message": current?.events.append(String(line))
            case "end":
                if let v = current { file.vectors.append(v) }
                current = nil
            default: break
            }
        }
        return file
    }
}
