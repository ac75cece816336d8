import Foundation
@testable import H2OTrainer
@testable import Sessions
import Synchronization
import Testing
import TestSupport

@Suite("Run directories")
struct RunDirectoryTests {
    @Test("runs started in the same second, even concurrently, each get their own directory")
    func uniqueRunDirectories() throws {
        let parent = makeTemporaryDirectory("runs") + "/runs"
        defer { removeTemporaryDirectory((parent as NSString).deletingLastPathComponent) }
        let stamp = "2026-12-04T18-00-00Z"
        let first = try RunDirectoryWriter.createUnique(parent: parent, stamp: stamp)
        let second = try RunDirectoryWriter.createUnique(parent: parent, stamp: stamp)
        #expect(first == parent + "/" + stamp && second == parent + "/" + stamp + "-2")
        let made = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let d = try? RunDirectoryWriter.createUnique(parent: parent, stamp: stamp) { made.withLock { $0.append(d) } }
        }
        let all = made.withLock { $0 } + [first, second]
        #expect(all.count == 10 && Set(all).count == 10)
        #expect(all.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }
}
