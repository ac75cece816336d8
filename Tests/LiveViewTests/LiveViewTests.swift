import Control
import Foundation
import Synchronization
import Testing

@testable import LiveView

/// The live view's feed and server with synthetic records (the end-to-end test with the real
/// robotctl, emulator and chromium is `LiveViewEndToEndTests`).
@Suite("Live view: feed and server")
struct LiveViewTests {
    static let schema = DatasetSchema(
        robotID: "test-robot", task: "test-task", controlRateHz: 200,
        observation: [DatasetChannel(name: "cos_theta", unit: "1"), DatasetChannel(name: "sin_theta", unit: "1"),
                      DatasetChannel(name: "theta_dot", unit: "rad/s")],
        action: [DatasetChannel(name: "torque", unit: "N*m")], rewardDefinition: "-1 per tick")

    /// Feeds `feed` like the logger thread: 200 records per second of `episodeTicks`-tick
    /// episodes with reward −1 per tick, until `stop`.
    final class FakeLogger: @unchecked Sendable {
        let stop = Atomic<Bool>(false)
        func run(_ feed: LiveFeed, episodeTicks: Int, seconds: Double) -> Thread {
            let t = Thread {
                var tick: UInt64 = 0
                let start = Date()
                while !self.stop.load(ordering: .relaxed) && Date().timeIntervalSince(start) < seconds {
                    let inEpisode = Int(tick) % episodeTicks
                    var flags: TransitionFlags = inEpisode == 0 ? [.episodeStart] : []
                    if inEpisode == episodeTicks - 1 { flags.insert(.timeout) }
                    let h = TransitionHeader(
                        timestampNanos: tick * 5_000_000, tick: tick, policyVersion: 3, episode: UInt32(Int(tick) / episodeTicks),
                        flags: flags, reward: -1)
                    let angle = Float(tick) * 0.01
                    let o: [Float] = [cos(angle), sin(angle), 2]
                    let a: [Float] = [0.5]
                    o.withUnsafeBufferPointer { ob in a.withUnsafeBufferPointer { ab in feed.record(h, observation: ob, action: ab) } }
                    feed.drained()
                    tick += 1
                    usleep(5_000)
                }
            }
            t.start()
            return t
        }
    }

    private func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("A WebSocket client gets a hello naming the channels, then ≥ 1 snapshot per second; the e-stop message triggers the stop")
    func streamsAndStops() throws {
        let feed = LiveFeed(schema: Self.schema, title: "test run", ceiling: -150)
        let estop = SoftwareEmergencyStop()
        let server = try LiveServer(port: 0, feed: feed) { estop.trigger() }
        defer { server.stop() }
        let logger = FakeLogger()
        _ = logger.run(feed, episodeTicks: 100, seconds: 20)
        defer { logger.stop.store(true, ordering: .relaxed) }

        let client = try WebSocketTestClient(port: server.port, path: "/ws")
        let hello = try object(try client.receiveText())
        #expect(hello["type"] as? String == "hello")
        #expect(hello["title"] as? String == "test run")
        #expect(hello["ceiling"] as? Double == -150)
        let names = (hello["observation"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["cos_theta", "sin_theta", "theta_dot"])

        // 3 s of snapshots, at least one per second (the feed publishes up to 20 per second).
        let start = Date()
        var states = 0
        var finished: [[String: Any]] = []
        while Date().timeIntervalSince(start) < 3 {
            let m = try object(try client.receiveText())
            if m["type"] as? String == "state" {
                states += 1
                finished += (m["finished_episodes"] as? [[String: Any]]) ?? []
                #expect((m["observation"] as? [Double])?.count == 3)
                #expect(m["policy_version"] as? Int == 3)
            }
        }
        print("live view: \(states) snapshots in 3 s, \(finished.count) finished episodes")
        #expect(states >= 3)
        #expect(states <= 3 * 21 + 2, "the feed publishes at most 20 snapshots per second")
        // 100-tick episodes at −1 per tick: each finished episode's return is exactly −100.
        #expect(!finished.isEmpty)
        for e in finished {
            #expect(e["return"] as? Double == -100)
            #expect(e["ticks"] as? Int == 100)
        }

        #expect(!estop.isTriggered())
        try client.sendText(#"{ "type" : "estop" }"#)
        let deadline = Date().addingTimeInterval(5)
        while !estop.isTriggered() && Date() < deadline { usleep(10_000) }
        #expect(estop.isTriggered())
        #expect(estop.pressCount == 1)
        // The pressing client gets an ack at once; later snapshots say so (every page shows the banner).
        var acked = false, confirmed = false
        for _ in 0..<40 where !confirmed {
            let m = try object(try client.receiveText())
            acked = acked || m["type"] as? String == "estop_ack"
            confirmed = m["estop_pressed"] as? Bool == true
        }
        #expect(acked && confirmed)
    }

    @Test("GET / is the page with its E-STOP button, /state the latest snapshot, anything else 404")
    func httpRoutes() throws {
        let feed = LiveFeed(schema: Self.schema, title: "t")
        let server = try LiveServer(port: 0, feed: feed) {}
        defer { server.stop() }
        let page = try httpGet(port: server.port, path: "/")
        #expect(page.status == 200)
        #expect(page.body.contains("<button id=\"estop\""))
        #expect(page.body.contains("new WebSocket"))
        let state = try httpGet(port: server.port, path: "/state")
        #expect(state.status == 200 && state.body == "{}")
        #expect(try httpGet(port: server.port, path: "/nothing-here").status == 404)
    }

    @Test("A port already in use is one line naming the address and the fix")
    func portInUse() throws {
        let feed = LiveFeed(schema: Self.schema, title: "t")
        let first = try LiveServer(port: 0, feed: feed) {}
        defer { first.stop() }
        do {
            _ = try LiveServer(port: first.port, feed: feed) {}
            Issue.record("a second server bound the same port")
        } catch let e as LiveServerError {
            #expect(e.description.contains("127.0.0.1:\(first.port)"))
            #expect(e.description.contains("choose a free port"))
            #expect(!e.description.contains("\n"))
        }
    }

    @Test("Only {\"type\":\"estop\"} is an e-stop message")
    func estopMessage() {
        #expect(LiveServer.isEmergencyStop(#"{"type":"estop"}"#))
        #expect(LiveServer.isEmergencyStop(#"{"x":1,"type":"estop"}"#))
        #expect(!LiveServer.isEmergencyStop(#"{"type":"estop2"}"#))
        #expect(!LiveServer.isEmergencyStop("estop"))
        #expect(!LiveServer.isEmergencyStop(#"["estop"]"#))
        #expect(!LiveServer.isEmergencyStop(String(repeating: " ", count: 5000) + #"{"type":"estop"}"#))
    }

    @Test("The e-stop group: any input triggers; acknowledged only when every input accepts")
    func emergencyStopGroup() {
        final class Stuck: EmergencyStopInput {
            var asserted = false
            func isTriggered() -> Bool { asserted }
            func acknowledge() -> Bool { !asserted }
        }
        let hardware = Stuck(), software = SoftwareEmergencyStop()
        let group = EmergencyStopGroup([hardware, software])
        #expect(!group.isTriggered())
        software.trigger()
        #expect(group.isTriggered())
        hardware.asserted = true
        #expect(!group.acknowledge())
        #expect(group.isTriggered())
        hardware.asserted = false
        #expect(group.acknowledge())
        #expect(!group.isTriggered())
    }
}
