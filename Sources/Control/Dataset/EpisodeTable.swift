import Foundation
import Glibc
import SystemSupport

/// One line of a dataset's episode table (`episodes.jsonl`, DATASET.md "Episode table"): how
/// an episode recorded by teleop ended and whether its records are to be used.
public struct EpisodeEntry: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// The episode's records are data.
        case kept
        /// The operator asked to redo it: readers skip its records.
        case discarded
    }

    /// The records' `episode` field.
    public var episode: UInt32
    public var status: Status
    /// Why it ended or was discarded: "next", "time limit", "terminal", "stop", "redo",
    /// "safety stop: <reason>".
    public var reason: String
    /// Timestamps (ns, CLOCK_MONOTONIC) of its first and last record: with `episode` they
    /// identify the records even when several sessions appended to one dataset.
    public var firstTimestampNanos: UInt64
    public var lastTimestampNanos: UInt64
    /// Tick numbers of its first and last record and the number of records.
    public var firstTick: UInt64
    public var lastTick: UInt64
    public var records: Int

    public init(
        episode: UInt32, status: Status, reason: String, firstTimestampNanos: UInt64, lastTimestampNanos: UInt64,
        firstTick: UInt64, lastTick: UInt64, records: Int
    ) {
        self.episode = episode
        self.status = status
        self.reason = reason
        self.firstTimestampNanos = firstTimestampNanos
        self.lastTimestampNanos = lastTimestampNanos
        self.firstTick = firstTick
        self.lastTick = lastTick
        self.records = records
    }

    /// True if `header` belongs to this episode.
    public func contains(_ header: TransitionHeader) -> Bool {
        header.episode == episode && header.timestampNanos >= firstTimestampNanos
            && header.timestampNanos <= lastTimestampNanos
    }
}

/// A dataset's episode table, read from `episodes.jsonl` (absent: every episode is kept).
///
/// Lines are applied in order: the last line for an episode (same `episode` and
/// `firstTimestampNanos`) decides its status. A torn last line (a crash while appending) is
/// ignored and counted in `droppedBytes`.
///
/// Thread contract: immutable value.
public struct EpisodeTable: Sendable, Equatable {
    public static let fileName = "episodes.jsonl"

    /// The final entry of each episode, in order of first appearance.
    public private(set) var entries: [EpisodeEntry] = []
    /// Bytes of an incomplete or unreadable last line that were ignored.
    public private(set) var droppedBytes = 0

    public init(entries: [EpisodeEntry] = []) {
        for e in entries { apply(e) }
    }

    /// Loads `directory/episodes.jsonl`; a missing file is an empty table. A line that is
    /// complete (ends in a newline) but not a valid entry is an error naming the file and line.
    public static func load(directory: String) throws(DatasetError) -> EpisodeTable {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) {
                throw .invalidSchema(path, "cannot be read; check its permissions")
            }
            return EpisodeTable()
        }
        var table = EpisodeTable()
        let bytes = [UInt8](data)
        var start = 0
        var lineNumber = 0
        let decoder = JSONDecoder()
        while start < bytes.count {
            guard let nl = bytes[start...].firstIndex(of: 0x0A) else {
                table.droppedBytes = bytes.count - start
                break
            }
            lineNumber += 1
            let line = Data(bytes[start..<nl])
            start = nl + 1
            if line.isEmpty { continue }
            do {
                table.apply(try decoder.decode(EpisodeEntry.self, from: line))
            } catch {
                throw .invalidSchema(path, "line \(lineNumber) is not an episode entry (\(error)); remove the line or the file (every episode is then kept)")
            }
        }
        return table
    }

    mutating func apply(_ e: EpisodeEntry) {
        if let i = entries.firstIndex(where: { $0.episode == e.episode && $0.firstTimestampNanos == e.firstTimestampNanos }) {
            entries[i] = e
        } else {
            entries.append(e)
        }
    }

    /// The entries whose records readers skip.
    public var discarded: [EpisodeEntry] { entries.filter { $0.status == .discarded } }

    /// True if the record with `header` belongs to a discarded episode.
    public func isDiscarded(_ header: TransitionHeader) -> Bool {
        for e in entries where e.status == .discarded && e.contains(header) { return true }
        return false
    }

    /// The largest episode number the table mentions.
    public var maxEpisode: UInt32? { entries.map(\.episode).max() }
}

/// Appends entries to `episodes.jsonl`, one JSON object per line, each fsynced before
/// `append` returns (episodes end a few times a minute, so this is cheap). On open it cuts a
/// torn last line left by a crash.
///
/// Thread contract: one owner thread (never the control thread: it writes files and throws).
public final class EpisodeTableWriter {
    public let path: String
    private var fd: Int32

    public init(directory: String) throws(DatasetError) {
        path = directory + "/" + EpisodeTable.fileName
        let existed = access(path, F_OK) == 0
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .system(SystemError("open", path, errno: errno, fix: "check the dataset directory is writable"))
        }
        if existed, let data = FileManager.default.contents(atPath: path), let last = data.last, last != 0x0A {
            let keep = (data.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
            if ftruncate(fd, off_t(keep)) != 0 {
                let e = errno
                Glibc.close(fd)
                throw .system(SystemError("ftruncate", path, errno: e, fix: "check the dataset directory is writable"))
            }
        }
        lseek(fd, 0, SEEK_END)
        if !existed { try? FileDescriptor.syncDirectory(directory) }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Appends one entry and fsyncs it.
    public func append(_ entry: EpisodeEntry) throws(DatasetError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let json = try? encoder.encode(entry) else {
            throw .vectorSize("episode entry cannot be encoded")
        }
        let line = [UInt8](json) + [0x0A]
        let file = FileDescriptor(raw: fd, path: path)
        let failure = line.withUnsafeBytes { bytes -> SystemError? in
            do throws(SystemError) {
                try file.writeAll(bytes)
                return nil
            } catch { return error }
        }
        if let failure {
            throw .system(SystemError("write", path, errno: failure.errno, fix: "check free disk space"))
        }
        guard fsync(fd) == 0 else {
            throw .system(SystemError("fsync", path, errno: errno, fix: "check the disk"))
        }
    }
}

extension DatasetReader {
    /// The dataset's episode table (empty if it has none).
    public func episodeTable() throws(DatasetError) -> EpisodeTable {
        try EpisodeTable.load(directory: directory)
    }

    /// Every valid transition not in a discarded episode, in file order (allocates).
    public func keptTransitions(_ table: EpisodeTable) -> [Transition] {
        guard !table.discarded.isEmpty else { return transitions() }
        var out: [Transition] = []
        out.reserveCapacity(transitionCount)
        forEach { h, o, a in
            if !table.isDiscarded(h) { out.append(Transition(header: h, observation: Array(o), action: Array(a))) }
        }
        return out
    }

    /// D4RL arrays of the kept transitions (the episode table applied, `TransitionPairing`).
    /// Use this rather than `d4rlArrays()` for recorded data.
    public func keptD4RLArrays() throws(DatasetError) -> D4RLArrays {
        let table = try episodeTable()
        var arrays = D4RLArrays(observationSize: schema.observationCount, actionSize: schema.actionCount)
        forEachTransition(episodes: table) { arrays.append($0) }
        return arrays
    }
}
