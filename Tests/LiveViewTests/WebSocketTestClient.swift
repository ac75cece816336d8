import Foundation
import Glibc

/// A minimal blocking WebSocket client (RFC 6455) over a TCP socket, for tests: the handshake,
/// masked text frames out, unmasked frames in. Independent of the server's library, so a test
/// reads what any browser would get. Used for the live feed and for chromium's DevTools socket.
final class WebSocketTestClient {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to `ws://host:port/path` (IPv4 loopback or a dotted address) with a receive
    /// timeout of `timeout` seconds per read.
    init(host: String = "127.0.0.1", port: Int, path: String, timeout: Double = 5) throws {
        fd = try connectTCP(host: host, port: port, timeout: timeout)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try send(Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                guard head.hasPrefix("HTTP/1.1 101") else { throw Failure(description: "no upgrade: \(head.prefix(200))") }
                break
            }
            try fill()
        }
    }

    deinit { close(fd) }

    /// Sends one masked text frame.
    func sendText(_ text: String) throws {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count < 65_536 {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for s in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((UInt64(payload.count) >> UInt64(s)) & 0xFF)) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        for (i, b) in payload.enumerated() { frame.append(b ^ mask[i % 4]) }
        try send(frame)
    }

    /// The next text frame's payload (control frames skipped). Throws on timeout or close.
    func receiveText() throws -> String {
        while true {
            while buffer.count < 2 { try fill() }
            let opcode = buffer[0] & 0x0F
            var length = Int(buffer[1] & 0x7F), offset = 2
            if length == 126 {
                while buffer.count < 4 { try fill() }
                length = Int(buffer[2]) << 8 | Int(buffer[3])
                offset = 4
            } else if length == 127 {
                while buffer.count < 10 { try fill() }
                length = (2..<10).reduce(0) { $0 << 8 | Int(buffer[$1]) }
                offset = 10
            }
            while buffer.count < offset + length { try fill() }
            let payload = Array(buffer[offset..<offset + length])
            buffer.removeFirst(offset + length)
            if opcode == 0x8 { throw Failure(description: "the server closed the WebSocket") }
            if opcode == 0x1 { return String(decoding: payload, as: UTF8.self) }
        }
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: n == 0 ? "connection closed" : "receive timed out or failed: \(String(cString: strerror(errno)))") }
        buffer += chunk[..<n]
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where Array(buffer[i..<i + needle.count]) == needle { return i }
        return nil
    }
}

/// A TCP connection to `host:port` with a receive timeout (seconds).
func connectTCP(host: String, port: Int, timeout: Double) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw WebSocketTestClient.Failure(description: "socket: \(String(cString: strerror(errno)))") }
    var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &addr.sin_addr)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else {
        close(fd)
        throw WebSocketTestClient.Failure(description: "connect \(host):\(port): \(String(cString: strerror(errno)))")
    }
    return fd
}

/// `GET http://127.0.0.1:port/path` over a plain socket: the status code and the body.
func httpGet(port: Int, path: String) throws -> (status: Int, body: String) {
    let fd = try connectTCP(host: "127.0.0.1", port: port, timeout: 10)
    defer { close(fd) }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        bytes += chunk[..<n]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    let parts = text.components(separatedBy: "\r\n\r\n")
    let status = Int(parts[0].split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, parts.dropFirst().joined(separator: "\r\n\r\n"))
}
