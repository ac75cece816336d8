import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// The live view's web server (`robotctl run|teleop --serve PORT`): `GET /` is the page,
/// `GET /state` the latest snapshot as JSON, `/ws` a WebSocket that sends a `hello` and then
/// every snapshot the feed publishes, and accepts `{"type":"estop"}` (the page's button),
/// answered at once with `{"type":"estop_ack"}`, which calls `onEmergencyStop` — wire it to a `SoftwareEmergencyStop` in the loop's e-stop
/// group, so the stop goes through the safety layer.
///
/// Thread contract: `init`/`stop` from the set-up thread; `broadcast` from any thread (the
/// logger thread's feed). It runs on one SwiftNIO event-loop thread of its own (no Swift
/// concurrency pool), never on the control thread; a client that reads too slowly skips
/// snapshots and never blocks the sender.
public final class LiveServer: Sendable {
    public let host: String
    /// The bound port (the requested one, or the one the OS chose for 0).
    public let port: Int
    private let hub: Hub
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The connected WebSocket clients. Any thread.
    final class Hub: Sendable {
        private let clients = Mutex<[ObjectIdentifier: any Channel]>([:])
        let feed: LiveFeed
        let onEmergencyStop: @Sendable () -> Void

        init(feed: LiveFeed, onEmergencyStop: @escaping @Sendable () -> Void) {
            self.feed = feed
            self.onEmergencyStop = onEmergencyStop
        }

        func add(_ c: any Channel) { clients.withLock { $0[ObjectIdentifier(c)] = c } }
        func remove(_ c: any Channel) { _ = clients.withLock { $0.removeValue(forKey: ObjectIdentifier(c)) } }
        var count: Int { clients.withLock { $0.count } }

        /// Queues `text` on every client's event loop; a client whose socket buffer is full
        /// (it reads too slowly) skips this snapshot.
        func broadcast(_ text: String) {
            for c in clients.withLock({ Array($0.values) }) {
                c.eventLoop.execute {
                    guard c.isActive, c.isWritable else { return }
                    let frame = WebSocketFrame(fin: true, opcode: .text, data: c.allocator.buffer(string: text))
                    c.writeAndFlush(frame, promise: nil)
                }
            }
        }

        func closeAll() {
            for c in clients.withLock({ Array($0.values) }) { c.close(promise: nil) }
        }
    }

    /// Binds `host:port` (port 0: any free port) and starts serving on its own event-loop
    /// thread. Throws one line naming the address when it cannot bind (e.g. the port is in use).
    public init(
        host: String = "127.0.0.1", port: Int, feed: LiveFeed, onEmergencyStop: @escaping @Sendable () -> Void
    ) throws {
        let hub = Hub(feed: feed, onEmergencyStop: onEmergencyStop)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let http = HTTPHandler(feed: feed)
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: 1 << 16,
                        shouldUpgrade: { channel, head in
                            channel.eventLoop.makeSucceededFuture(head.uri.hasPrefix("/ws") ? HTTPHeaders() : nil)
                        },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(WebSocketHandler(hub: hub))
                            }
                        })
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            context.pipeline.removeHandler(name: "live-http", promise: nil)
                        }))
                    try channel.pipeline.syncOperations.addHandler(http, name: "live-http")
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw LiveServerError("--serve \(port): cannot listen on \(host):\(port) (\(error)); choose a free port, e.g. --serve 8090")
        }
        self.host = host
        self.port = channel.localAddress?.port ?? port
        self.hub = hub
        self.group = group
        feed.connect { hub.broadcast($0) }
    }

    /// Connected WebSocket clients.
    public var clientCount: Int { hub.count }

    /// Sends `text` to every WebSocket client. Any thread.
    public func broadcast(_ text: String) { hub.broadcast(text) }

    /// Closes the listening socket and every client, and stops the server's thread. Set-up
    /// thread (never from the server's own event loop).
    public func stop() {
        hub.feed.connect { _ in }
        hub.closeAll()
        _ = try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// True for the page's e-stop message, `{"type":"estop"}` (whitespace and key order free).
    static func isEmergencyStop(_ message: String) -> Bool {
        guard message.utf8.count < 4096, let d = message.data(using: .utf8),
              let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return false }
        return o["type"] as? String == "estop"
    }

    /// `GET /` (the page), `GET /state` (the latest snapshot), 404 otherwise. Event loop only.
    final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        private let feed: LiveFeed

        init(feed: LiveFeed) { self.feed = feed }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            let path = head.uri.split(separator: "?").first.map(String.init) ?? "/"
            let (status, type, body): (HTTPResponseStatus, String, String) =
                head.method != .GET ? (.methodNotAllowed, "text/plain", "GET only\n")
                : path == "/" || path == "/index.html" ? (.ok, "text/html; charset=utf-8", LivePage.html)
                : path == "/state" ? (.ok, "application/json", feed.latest)
                : (.notFound, "text/plain", "not found: \(path)\n")
            let buffer = context.channel.allocator.buffer(string: body)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: "\(buffer.readableBytes)")
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// One WebSocket client: a `hello` on connect, the e-stop message in, pings answered.
    /// Event loop only.
    final class WebSocketHandler: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame
        private let hub: Hub

        init(hub: Hub) { self.hub = hub }

        func handlerAdded(context: ChannelHandlerContext) {
            let hello = context.channel.allocator.buffer(string: hub.feed.hello())
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: hello)), promise: nil)
            hub.add(context.channel)
        }

        func handlerRemoved(context: ChannelHandlerContext) { hub.remove(context.channel) }

        func channelInactive(context: ChannelHandlerContext) {
            hub.remove(context.channel)
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            switch frame.opcode {
            case .text:
                var payload = frame.unmaskedData
                if LiveServer.isEmergencyStop(payload.readString(length: payload.readableBytes) ?? "") {
                    hub.feed.noteEmergencyStop()
                    hub.onEmergencyStop()
                    // Confirms to the pressing page at once: the run may end (and this server
                    // stop) before the next snapshot goes out.
                    let ack = context.channel.allocator.buffer(string: #"{"type":"estop_ack"}"#)
                    context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: ack)), promise: nil)
                }
            case .ping:
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            case .connectionClose:
                var payload = frame.unmaskedData
                let code = payload.readSlice(length: 2) ?? context.channel.allocator.buffer(capacity: 0)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
                    .whenComplete { _ in channel.close(promise: nil) }
            default:
                break
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // One client's broken connection never affects the others or the run.
            context.close(promise: nil)
        }
    }
}

/// A one-line error of the live view (`--serve`).
public struct LiveServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
