import Foundation
import Testing
import TestSupport

/// The crashing policy files of issue 13 through the command line: `robotctl policy info`
/// allocated 4 TB and aborted on a 288-byte file declaring huge layers, and printed action
/// scales of −2, 1e30 and ∞ as if valid. Each is now exit status 2 (bad input) with one line naming the file.
@Suite("robotctl readers bad input")
struct ReaderBadInputTests {
    static let seeds: String = {
        var components = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        components.removeLast(2)  // RobotctlTests/ReaderBadInputTests.swift
        return components.joined(separator: "/") + "/Fixtures/fuzz/policy/"
    }()

    @Test("policy info refuses every crashing policy seed in one line naming the file")
    func policyInfo() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.seeds).filter { $0.hasPrefix("crash-") }.sorted()
        #expect(names.count >= 8)
        for name in names {
            let path = Self.seeds + name
            let r = try runProcess(builtProduct("robotctl"), ["policy", "info", path])
            #expect(r.status == 2, "\(name): status \(r.status), stderr \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains(path), "\(name): \(r.stderr)")
        }
        let valid = try runProcess(builtProduct("robotctl"), ["policy", "info", Self.seeds + "valid-policy.safetensors"])
        #expect(valid.status == 0, "\(valid.stderr)")
    }
}
