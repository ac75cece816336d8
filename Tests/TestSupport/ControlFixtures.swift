import Control
import Foundation

/// A fresh empty directory under the system temp directory; removed by `removeTemporaryDirectory`.
public func makeTemporaryDirectory(_ prefix: String) -> String {
    let path = NSTemporaryDirectory() + "/\(prefix)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

public func removeTemporaryDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// A small schema for tests: `observationCount` observation and `actionCount` action channels.
public func testSchema(observationCount: Int = 3, actionCount: Int = 1, source: String = "real") -> DatasetSchema {
    DatasetSchema(
        robotID: "test-robot", task: "pendulum", calibrationHash: "", controlRateHz: 200,
        observation: (0..<observationCount).map { DatasetChannel(name: "o\($0)", unit: "1") },
        action: (0..<actionCount).map { DatasetChannel(name: "a\($0)", unit: "1") },
        rewardDefinition: "test", source: source)
}

/// A transition whose every value is a deterministic function of `tick`, so a reader can
/// check any record it returns for corruption.
public func syntheticTransition(tick: UInt64, episode: UInt32 = 0, observationCount: Int = 3, actionCount: Int = 1,
                                flags: TransitionFlags = []) -> Transition {
    let t = Float(tick)
    return Transition(
        header: TransitionHeader(
            timestampNanos: 1_000_000_000 + tick * 5_000_000, tick: tick, policyVersion: tick / 100,
            episode: episode, flags: flags, reward: -t * 0.5, droppedBefore: 0),
        observation: (0..<observationCount).map { t + Float($0) * 0.25 },
        action: (0..<actionCount).map { Float($0) - t * 0.001 })
}
