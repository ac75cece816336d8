import Foundation

/// Locates files under Tests/Fixtures/sim (committed golden data, made by the scripts beside them).
enum SimFixtures {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sim")
    }

    /// One Gymnasium Pendulum-v1 episode recorded by gymnasium_pendulum.py.
    struct PendulumEpisode: Decodable {
        let seed: Int
        let initial_state: [Double]
        let actions: [Double]
        let observations: [[Float]]
        let rewards: [Double]
        let terminated: [Bool]
        let truncated: [Bool]
        let states: [[Double]]
    }

    struct PendulumFile: Decodable {
        let gymnasium: String
        let episodes: [PendulumEpisode]
    }

    static func gymnasiumPendulum() throws -> PendulumFile {
        let data = try Data(contentsOf: directory.appendingPathComponent("gymnasium_pendulum_v1.json"))
        return try JSONDecoder().decode(PendulumFile.self, from: data)
    }
}
