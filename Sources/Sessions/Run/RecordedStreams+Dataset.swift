import Control
import Foundation
import H2OTrainer
import Reporting

extension RecordedStreams {
    /// The kept records of the dataset in `directory` (a teleop recording's discarded "redo"
    /// episodes left out, as every reader does), column by column, and the schema's creation
    /// time. Set-up code: reads the whole dataset.
    public static func read(datasetDirectory directory: String) throws(DatasetError) -> (streams: RecordedStreams, createdUTC: String) {
        let reader = try DatasetReader(directory: directory)
        let table = try reader.episodeTable()
        let s = reader.schema
        var streams = RecordedStreams(
            directory: directory, robotID: s.robotID, task: s.task, source: s.source, controlRateHz: s.controlRateHz,
            rewardDefinition: s.rewardDefinition, observationChannels: s.observation.map { StreamChannel(name: $0.name, unit: $0.unit) },
            actionChannels: s.action.map { StreamChannel(name: $0.name, unit: $0.unit) })
        for t in reader.keptTransitions(table) {
            let h = t.header
            streams.append(timestampNanos: h.timestampNanos, tick: h.tick, episode: h.episode, policyVersion: h.policyVersion,
                           flags: h.flags.rawValue, reward: h.reward, droppedBefore: h.droppedBefore,
                           observation: t.observation, action: t.action)
        }
        return (streams, s.createdUTC)
    }
}
