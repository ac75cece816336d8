import Control
import Foundation

/// Set-up helpers for recording teleop sessions into a dataset directory.
public enum TeleopRecording {
    /// The episode number a new session starts at: one past the largest episode in
    /// `directory` (records or episode table), 0 for a new dataset. Throws, naming the file,
    /// if the directory holds a dataset of another robot, task or rate.
    public static func nextEpisode(directory: String, schema: DatasetSchema) throws(DatasetError) -> UInt32 {
        guard FileManager.default.fileExists(atPath: directory + "/" + DatasetSchema.fileName) else { return 0 }
        let reader = try DatasetReader(directory: directory)
        guard reader.schema.isCompatible(with: schema) else {
            throw .incompatibleSchema(
                directory,
                "its schema.json is for robot \"\(reader.schema.robotID)\", task \"\(reader.schema.task)\" at \(reader.schema.controlRateHz) Hz with \(reader.schema.observationCount)+\(reader.schema.actionCount) channels, this session records robot \"\(schema.robotID)\", task \"\(schema.task)\" at \(schema.controlRateHz) Hz")
        }
        var maxEpisode: UInt32?
        reader.forEach { h, _, _ in maxEpisode = max(maxEpisode ?? 0, h.episode) }
        if let t = try reader.episodeTable().maxEpisode { maxEpisode = max(maxEpisode ?? 0, t) }
        return maxEpisode.map { $0 &+ 1 } ?? 0
    }
}

extension EpisodeOutcome {
    /// The episode-table line for this outcome (allocates: not for the control thread).
    public func entry(safetyReason: String? = nil) -> EpisodeEntry {
        var why = reason.description
        if reason == .safetyStop, let safetyReason { why += ": " + safetyReason }
        return EpisodeEntry(
            episode: episode, status: discarded ? .discarded : .kept, reason: why,
            firstTimestampNanos: firstTimestampNanos, lastTimestampNanos: lastTimestampNanos,
            firstTick: firstTick, lastTick: lastTick, records: records)
    }
}
