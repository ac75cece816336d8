import FixedNN
import Foundation
import Testing

@testable import H2OTrainer
import SystemSupport

private func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("h2o-\(UUID().uuidString)-\(name)").path
}

/// Writes a D4RL-style npz with `n` rows of the given sizes; `reward` sets every reward.
private func writeDataset(n: Int, S: Int, A: Int, reward: Float = 0) throws -> String {
    let path = temporaryPath("data.npz")
    try NumpyArchive.writeNPZ(
        [
            ("observations", NumpyArray([Float](repeating: 0.1, count: n * S), shape: [n, S])),
            ("actions", NumpyArray([Float](repeating: 0.2, count: n * A), shape: [n, A])),
            ("rewards", NumpyArray([Float](repeating: reward, count: n), shape: [n])),
            ("next_observations", NumpyArray([Float](repeating: 0.3, count: n * S), shape: [n, S])),
            ("terminals", NumpyArray([Bool](repeating: false, count: n))),
        ], path: path)
    return path
}

/// Runs `robotctl train`'s library entry on the pendulum with `dataset`; returns the error.
private func trainError(dataset: String? = nil, resume: String? = nil, preset: Hyperparameters = .robot) -> TrainerError? {
    var o = Training.Options(outputDirectory: temporaryPath("out"))
    o.dataset = dataset
    o.resume = resume
    o.hyperparameters = preset
    o.progress = false
    o.epochs = 1
    do {
        _ = try Training.pendulum(o)
        return nil
    } catch let e as TrainerError {
        #expect(!FileManager.default.fileExists(atPath: o.outputDirectory + "/checkpoint.safetensors"))
        return e
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

@Suite("Bad training inputs fail before the first update with one-line errors")
struct H2OBadInputTests {
    @Test("a dataset with the wrong observation size")
    func wrongObservationSize() throws {
        let path = try writeDataset(n: 10, S: 4, A: 1)
        let e = try #require(trainError(dataset: path))
        #expect("\(e)".contains(path) && "\(e)".contains("observation size 3") && !"\(e)".contains("\n"))
    }

    @Test("a dataset with the wrong action size")
    func wrongActionSize() throws {
        let path = try writeDataset(n: 10, S: 3, A: 2)
        let e = try #require(trainError(dataset: path))
        #expect("\(e)".contains("action size 1") && !"\(e)".contains("\n"))
    }

    @Test("an empty dataset")
    func empty() throws {
        let path = try writeDataset(n: 0, S: 3, A: 1)
        let e = try #require(trainError(dataset: path))
        #expect("\(e)".contains("empty") && !"\(e)".contains("\n"))
    }

    @Test("NaN rewards")
    func nanRewards() throws {
        let path = try writeDataset(n: 10, S: 3, A: 1, reward: .nan)
        let e = try #require(trainError(dataset: path))
        #expect("\(e)".contains("'rewards'") && "\(e)".contains("nan") && !"\(e)".contains("\n"))
    }

    @Test("a checkpoint of another architecture")
    func otherArchitecture() throws {
        let agent = H2OAgent(observationSize: 3, actionSize: 1, hyperparameters: .mujoco, seed: 1)
        let path = temporaryPath("ckpt.safetensors")
        try AgentFile.tensors(of: agent, algorithm: .h2oPlus).write(path: path)
        let e = try #require(trainError(resume: path, preset: .robot))
        #expect("\(e)".contains("hidden 256") && "\(e)".contains("hidden 32") && !"\(e)".contains("\n"))
    }

    @Test("a file that is not a checkpoint")
    func notACheckpoint() throws {
        let path = temporaryPath("junk.safetensors")
        try AtomicFile.write(Array("not a tensor file at all".utf8), to: path)
        let e = try #require(trainError(resume: path))
        #expect("\(e)".contains(path) && !"\(e)".contains("\n"))
    }

    @Test("a NaN during training stops with the update number and the loss; the last checkpoint stays intact")
    func nanDuringTraining() throws {
        let run = try pendulumRun()
        for _ in 0..<5 { try run.update() }
        let path = temporaryPath("last.safetensors")
        try run.checkpoint().write(path: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        // A corrupt transition reaching the real set while the robot runs.
        let o: [Float] = [1, 0, 0], a: [Float] = [0]
        run.learner.addReal(observation: o, action: a, reward: .infinity, nextObservation: o, terminal: false)
        var stopped: TrainerError? = nil
        for _ in 0..<2000 {
            do { try run.update() } catch {
                stopped = error
                break
            }
        }
        let e = try #require(stopped)
        guard case .nonFiniteLoss(let step, let loss, _) = e else {
            Issue.record("expected nonFiniteLoss, got \(e)")
            return
        }
        #expect(step > 5 && loss.hasPrefix("losses/"))
        #expect("\(e)".contains("update \(step)") && !"\(e)".contains("\n"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
            .filter { $0.hasPrefix((path as NSString).lastPathComponent + ".tmp") }
        #expect(leftovers.isEmpty)
    }
}
