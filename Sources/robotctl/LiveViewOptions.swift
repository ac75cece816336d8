import ArgumentParser
import Control
import Foundation
import Sessions
import LiveView

/// `--serve PORT` of `run` and `teleop`: the live view (a web page and WebSocket fed from the
/// logger side) and its e-stop button, which goes through the loop's safety layer.
struct LiveViewOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Serve a live view of the robot on this port (http://HOST:PORT/: joints, action, return per episode, loop timing, policy version, an E-STOP button). 0 picks a free port.",
        valueName: "port"))
    var serve: Int?

    @Option(help: ArgumentHelp("Address the live view listens on (default loopback only; 0.0.0.0 for the network).", valueName: "address"))
    var serveHost = "127.0.0.1"

    func validate() throws {
        if let p = serve, !(0...65_535).contains(p) { throw ValidationError("--serve \(p): a port is 0...65535 (0 picks a free one)") }
    }

    /// Starts the live view when `--serve` was given: the feed (a logger sink), the server, and
    /// the software e-stop to put in the loop's e-stop group. Prints the page's address.
    func start(schema: DatasetSchema, title: String, ceiling: Double? = nil) throws -> LiveView? {
        guard let port = serve else { return nil }
        let estop = SoftwareEmergencyStop()
        let feed = LiveFeed(schema: schema, title: title, ceiling: ceiling)
        let server = try asUserError {
            try LiveServer(host: serveHost, port: port, feed: feed) {
                estop.trigger()
                Console.shared.log(.warning, "live view: E-STOP pressed; the safety layer stops the motors")
            }
        }
        Console.shared.log(.info, "live view: http://\(serveHost == "0.0.0.0" ? "localhost" : serveHost):\(server.port)/")
        return LiveView(feed: feed, server: server, estop: estop)
    }
}

/// A running live view.
struct LiveView {
    let feed: LiveFeed
    let server: LiveServer
    let estop: SoftwareEmergencyStop

    /// The loop's e-stop: the robot's own (GPIO, if any) and the page's button, either stops.
    func emergencyStop(with hardware: (any EmergencyStopInput)?) -> any EmergencyStopInput {
        EmergencyStopGroup([hardware, estop].compactMap { $0 })
    }

    func stop() { server.stop() }
}

extension LiveFeed.Status {
    /// The run's status line, as the live view shows it.
    init(_ s: OnRobotStatus) {
        self.init()
        seconds = s.seconds
        loopHz = s.loopHz
        jitterP99Micros = s.jitterP99Micros
        missedDeadlines = s.missedDeadlines
        safetyStops = s.safetyStops
        trainerUpdates = s.trainerUpdates
        line = s.line
    }
}
