import FixedNN
import Foundation
import Testing
import TestSupport

@Suite("robotctl dataset")
struct DatasetCommandTests {
    @Test("dataset info prints counts, the torn bytes and the schema of a dataset")
    func info() throws {
        let r = try runProcess(builtProduct("robotctl"), ["dataset", "info", controlFixturePath("python_dataset")])
        #expect(r.status == 0)
        #expect(r.stdout.contains("10 transitions in 2 episodes (0 terminal, 2 time-out, 0 aborted), 0.0 s"))
        #expect(r.stdout.contains("13 bytes (torn or corrupt)"))
        #expect(r.stdout.contains("observation (2): x [rad], v [rad/s]"))
        let j = try runProcess(builtProduct("robotctl"), ["dataset", "info", "--json", controlFixturePath("python_dataset")])
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        #expect(obj?["transitions"] as? Int == 10 && obj?["dropped_bytes"] as? Int == 13)
    }

    @Test("dataset export writes an .npz with D4RL keys; a missing directory is a one-line error")
    func export() throws {
        let dir = makeTemporaryDirectory("export")
        defer { removeTemporaryDirectory(dir) }
        let out = dir + "/d.npz"
        let r = try runProcess(builtProduct("robotctl"), ["dataset", "export", controlFixturePath("python_dataset"), "-o", out])
        #expect(r.status == 0 && r.stdout.contains("wrote 8 transitions"))
        let arrays = try NumpyArchive.readNPZ(path: out)
        #expect(arrays["observations"]?.shape == [8, 2] && arrays["timeouts"]?.bools().filter { $0 }.count == 2)
        let bad = try runProcess(builtProduct("robotctl"), ["dataset", "info", dir + "/nope"])
        #expect(bad.status != 0 && bad.stderr.contains("schema.json"))
    }
}
