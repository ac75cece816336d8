import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport

/// `robotctl run --serve PORT` on the emulated robot, watched by a WebSocket client and by a
/// real headless chromium that loads the page and presses its E-STOP button; the run must
/// stop through the safety layer (a latched e-stop) and still write its run files.
@Suite("Live view end to end: robotctl run --serve, a WebSocket client, chromium's E-STOP", .serialized)
struct LiveViewEndToEndTests {
    /// A TCP port nothing listens on right now (bound to 0, read, closed).
    private func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(ok)
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    @Test("A run's live view streams ≥ 1 snapshot per second and chromium's E-STOP button latches a stop", .timeLimit(.minutes(6)))
    func liveRun() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("live-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let runDir = (work as NSString).appendingPathComponent("run")
        let port = try freePort()
        let robotctl = builtProduct("robotctl")
        let result = Mutex<ProcessResult?>(nil)
        let done = Atomic<Bool>(false)
        let runner = Thread {
            defer { done.store(true, ordering: .releasing) }
            do {
                let r = try runProcess(
                    robotctl, ["run", "--duration", "90", "--pretrain-updates", "20", "--serve", "\(port)", "--run-directory", runDir, "--seed", "5"],
                    currentDirectory: work, timeout: 240)
                result.withLock { $0 = r }
            } catch {
                Issue.record("could not start robotctl: \(error)")
            }
        }
        runner.start()
        func finished() -> ProcessResult? { result.withLock { $0 } }

        // Wait for the server (the run pre-trains briefly and starts the emulator first).
        let up = Date().addingTimeInterval(120)
        while !done.load(ordering: .acquiring) && Date() < up && (try? httpGet(port: port, path: "/state"))?.status != 200 { usleep(100_000) }
        let ended = done.load(ordering: .acquiring)
        #expect(!ended, "robotctl run ended before its live view came up: \(finished()?.stderr.suffix(2000) ?? "")")
        if ended { return }

        // A WebSocket client: the hello, then at least one snapshot per second for 5 s.
        let client = try WebSocketTestClient(port: port, path: "/ws", timeout: 5)
        let hello = try #require(json(try client.receiveText()))
        #expect(hello["type"] as? String == "hello")
        #expect(((hello["observation"] as? [Any])?.count ?? 0) > 0)
        var perSecond: [Int] = []
        var lastTick = -1
        for _ in 0..<5 {
            let start = Date()
            var n = 0
            while Date().timeIntervalSince(start) < 1 {
                guard let m = json(try client.receiveText()), m["type"] as? String == "state" else { continue }
                n += 1
                let tick = m["tick"] as? Int ?? -1
                #expect(tick > lastTick, "snapshots move forward")
                lastTick = tick
            }
            perSecond.append(n)
        }
        print("live view of a real run: snapshots per second \(perSecond)")
        #expect(perSecond.allSatisfy { $0 >= 1 })

        // A real browser loads the page and presses its own E-STOP button (?selftest=10).
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("note: skipping the browser half of the live-view test: chromium is not installed (make test-deps installs it)")
            return
        }
        let profile = (work as NSString).appendingPathComponent("chromium")
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: chromium)
        browser.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--remote-debugging-port=0", "--user-data-dir=" + profile, "http://127.0.0.1:\(port)/?selftest=10"]
        browser.standardOutput = FileHandle.nullDevice
        browser.standardError = FileHandle.nullDevice
        try browser.run()
        defer {
            if browser.isRunning { kill(browser.processIdentifier, SIGKILL) }
            browser.waitUntilExit()
        }
        // The DevTools port chromium chose, then the page's DevTools WebSocket.
        let activePort = (profile as NSString).appendingPathComponent("DevToolsActivePort")
        var devtools = 0
        let waitDevtools = Date().addingTimeInterval(60)
        while devtools == 0 && Date() < waitDevtools {
            devtools = Int((try? String(contentsOfFile: activePort, encoding: .utf8))?.split(separator: "\n").first ?? "") ?? 0
            if devtools == 0 { usleep(100_000) }
        }
        try #require(devtools > 0, "chromium wrote no DevToolsActivePort")
        var pageSocket: String?
        let waitPage = Date().addingTimeInterval(30)
        while pageSocket == nil && Date() < waitPage {
            if let list = try? httpGet(port: devtools, path: "/json/list"),
               let targets = (try? JSONSerialization.jsonObject(with: Data(list.body.utf8))) as? [[String: Any]] {
                pageSocket = targets.first { ($0["url"] as? String)?.contains("selftest") == true }?["webSocketDebuggerUrl"] as? String
            }
            if pageSocket == nil { usleep(200_000) }
        }
        let path = try #require(pageSocket.flatMap { URL(string: $0)?.path }, "chromium lists no page for the live view")
        let cdp = try WebSocketTestClient(port: devtools, path: path, timeout: 10)
        var outcome = ""
        var id = 0
        let waitStop = Date().addingTimeInterval(60)
        while !outcome.contains("estop=confirmed") && Date() < waitStop {
            id += 1
            try cdp.sendText(#"{"id":\#(id),"method":"Runtime.evaluate","params":{"expression":"document.getElementById('selftest').textContent + '|' + document.getElementById('conn').textContent","returnByValue":true}}"#)
            while true {
                guard let m = json(try cdp.receiveText()) else { continue }
                if m["id"] as? Int == id {
                    outcome = ((m["result"] as? [String: Any])?["result"] as? [String: Any])?["value"] as? String ?? ""
                    break
                }
            }
            if !outcome.contains("estop=confirmed") { usleep(250_000) }
        }
        print("chromium's live page: \(outcome)")
        #expect(outcome.contains("estop=confirmed"))

        // The stop went through the safety layer and the run still wrote its files.
        let waitExit = Date().addingTimeInterval(60)
        while !done.load(ordering: .acquiring) && Date() < waitExit { usleep(100_000) }
        let r = try #require(finished(), "robotctl run did not end after the e-stop")
        #expect(r.stdout.contains("latched stop: e-stop"), "run output: \(r.stdout.suffix(1500)) \(r.stderr.suffix(1500))")
        #expect(r.stderr.contains("live view: E-STOP pressed"))
        for file in ["run.json", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: (runDir as NSString).appendingPathComponent(file)), "\(file) missing")
        }
    }
}
