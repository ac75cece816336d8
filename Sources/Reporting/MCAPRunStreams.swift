// The streams of a run as an MCAP file: one channel per stream, JSON messages described by
// JSON Schemas (schema encoding "jsonschema", message encoding "json"), documented in
// docs/mcap-schema.md. Per-tick streams come from the run's dataset (one message per kept
// record); episode returns, policy swaps, events, trainer metrics and the loop-timing summary
// from the run directory's files. Written after the run from its files (`robotctl report
// --mcap`), or by any logger-side thread: never from the control thread.

import Foundation

/// Writes a run's streams to an MCAP file.
public enum RunStreamsMCAP {
    /// The topics, in channel order. Per-tick topics carry one message per dataset record.
    public static let perTickTopics = ["/joint_states", "/observation", "/action", "/reward", "/loop_timing"]

    /// What `write` put in the file: messages per topic.
    public struct Written: Sendable, Equatable {
        public var path: String
        public var messages: [String: UInt64]
        public var total: UInt64 { messages.values.reduce(0, +) }
    }

    /// Writes `run`'s streams (and `streams`, its dataset's kept records, when given) to `path`.
    /// Log times are UTC nanoseconds: run.json's `started` (else the dataset's creation time)
    /// plus the host-clock time since the loop started, which the records' tick numbers give.
    /// `chunkBytes` is the uncompressed size at which a chunk is closed.
    public static func write(run: RunData, streams: RecordedStreams?, to path: String, createdUTC: String? = nil,
                             chunkBytes: Int = 1 << 20) throws -> Written {
        let w = try MCAPWriter(path: path, profile: "", library: "robotctl", chunkBytes: chunkBytes)
        var counts: [String: UInt64] = [:]
        var channels: [String: UInt16] = [:]
        func channel(_ topic: String, schemaName: String, schema: String, metadata: [(key: String, value: String)] = []) throws {
            let sid = try w.addSchema(name: schemaName, encoding: "jsonschema", data: Array(schema.utf8))
            channels[topic] = try w.addChannel(topic: topic, messageEncoding: "json", schemaID: sid, metadata: metadata)
            counts[topic] = 0
        }
        func send(_ topic: String, _ time: UInt64, _ json: String) throws {
            try w.write(channel: channels[topic]!, logTime: time, data: Array(json.utf8))
            counts[topic]! += 1
        }

        // Time base.
        let anchorUnix = unixNanos(iso: run.value("started")) ?? unixNanos(iso: createdUTC) ?? 0
        let rate = streams?.controlRateHz ?? (run.timing.map { 1e6 / $0.periodMicros } ?? 200)
        let periodNanos = 1e9 / max(rate, 1e-9)
        let loopStartMono: UInt64? = streams.flatMap { s in
            s.isEmpty ? nil : s.timestampNanos[0] &- UInt64((Double(s.tick[0]) * periodNanos).rounded())
        }
        func logTime(seconds: Double) -> UInt64 {
            seconds.isFinite && seconds > 0 ? anchorUnix &+ UInt64((seconds * 1e9).rounded()) : anchorUnix
        }
        func logTime(mono: UInt64) -> UInt64 { anchorUnix &+ (mono &- (loopStartMono ?? mono)) }
        func secondsSinceStart(mono: UInt64) -> Double { Double(mono &- (loopStartMono ?? mono)) * 1e-9 }

        // Metadata: what the run was, flat.
        var meta: [(key: String, value: String)] = run.info.map { ($0.key, $0.value) } + run.trainConfig.map { ("train." + $0.key, $0.value) }
        if let s = streams {
            meta += [("dataset.directory", s.directory), ("dataset.robot_id", s.robotID), ("dataset.task", s.task),
                     ("dataset.source", s.source), ("dataset.control_rate_hz", json(s.controlRateHz)),
                     ("dataset.reward", s.rewardDefinition)]
        }
        meta.append(("time_base", "log_time = UTC ns; t_s = seconds since the control loop started (tick 0)"))
        try w.addMetadata(name: "robotctl", meta)

        // Channels.
        if let s = streams {
            let joints = s.joints
            try channel("/joint_states", schemaName: "robotctl.JointState", schema: jointStateSchema,
                        metadata: [("joints", joints.map(\.name).joined(separator: ",")),
                                   ("position_units", joints.map(\.positionUnit).joined(separator: ",")),
                                   ("velocity_units", joints.map(\.velocityUnit).joined(separator: ","))])
            try channel("/observation", schemaName: "robotctl.Observation", schema: vectorSchema(
                "robotctl.Observation", "The observation the policy saw at this tick, by channel name.", s.observationChannels, extra: ""),
                        metadata: s.observationChannels.map { ($0.name, $0.unit) })
            try channel("/action", schemaName: "robotctl.Action", schema: vectorSchema(
                "robotctl.Action", "The action executed at this tick (policy output in [-1, 1], or the operator's), by channel name.",
                s.actionChannels, extra: actionExtra), metadata: s.actionChannels.map { ($0.name, $0.unit) })
            try channel("/reward", schemaName: "robotctl.Reward", schema: rewardSchema, metadata: [("reward", s.rewardDefinition)])
            try channel("/loop_timing", schemaName: "robotctl.LoopTick", schema: loopTickSchema,
                        metadata: [("period_us", json(periodNanos / 1000))])
            try channel("/policy_version", schemaName: "robotctl.PolicyVersion", schema: policyVersionSchema)
        }
        if run.episodes != nil || streams != nil {
            try channel("/episode_return", schemaName: "robotctl.EpisodeReturn", schema: episodeReturnSchema)
        }
        if run.swaps != nil { try channel("/policy_swaps", schemaName: "robotctl.PolicySwap", schema: policySwapSchema) }
        if run.events != nil { try channel("/events", schemaName: "foxglove.Log", schema: eventSchema) }
        let metricTable = run.trainer ?? run.trainMetrics
        if metricTable != nil { try channel("/trainer_metrics", schemaName: "robotctl.TrainerMetrics", schema: trainerMetricsSchema) }
        if run.timing != nil { try channel("/loop_timing_summary", schemaName: "robotctl.LoopTimingSummary", schema: timingSummarySchema) }

        // Sparse messages (from the run directory's files), merged into the per-tick stream by time.
        var sparse: [(time: UInt64, topic: String, json: String)] = []
        if let ep = run.episodes {
            let c = { (name: String) in ep.column(name) ?? [Double](repeating: .nan, count: ep.rows.count) }
            let (n, start, end, ticks, ret, version, aborted, exploring) =
                (c("episode"), c("start_s"), c("end_s"), c("ticks"), c("return"), c("policy_version"), c("aborted"), c("exploring"))
            for i in ep.rows.indices {
                var o = JSONObject()
                o.number("episode", n[i]); o.number("return", ret[i]); o.number("start_s", start[i]); o.number("end_s", end[i])
                o.number("ticks", ticks[i]); o.number("policy_version", version[i])
                o.bool("aborted", aborted[i] == 1); o.bool("exploring", exploring[i] == 1); o.string("source", RunFiles.episodes)
                sparse.append((logTime(seconds: end[i]), "/episode_return", o.text))
            }
        } else if let s = streams {
            for e in s.episodes {
                let endMono = s.timestampNanos[e.range.upperBound - 1]
                var o = JSONObject()
                o.number("episode", Double(e.episode)); o.number("return", e.rewardSum)
                o.number("start_s", secondsSinceStart(mono: s.timestampNanos[e.range.lowerBound])); o.number("end_s", secondsSinceStart(mono: endMono))
                o.number("ticks", Double(e.range.count)); o.number("policy_version", Double(e.policyVersion))
                o.bool("aborted", e.aborted); o.bool("exploring", e.exploring); o.string("source", "sum of the dataset's per-tick rewards")
                sparse.append((logTime(mono: endMono), "/episode_return", o.text))
            }
        }
        if let sw = run.swaps {
            let ti = sw.columns.firstIndex(of: "time_s")
            for row in sw.rows {
                var o = JSONObject()
                for (k, name) in sw.columns.enumerated() where k < row.count { o.number(name == "time_s" ? "t_s" : name, row[k]) }
                let t = ti.map { $0 < row.count ? row[$0] : .nan } ?? .nan
                sparse.append((logTime(seconds: t), "/policy_swaps", o.text))
            }
        }
        if let ev = run.events {
            let col = { (n: String) in ev.columns.firstIndex(of: n) }
            for row in ev.rows {
                func cell(_ n: String) -> String { col(n).flatMap { $0 < row.count ? row[$0] : nil } ?? "" }
                let t = Double(cell("time_s")) ?? .nan
                let time = logTime(seconds: t)
                let kind = cell("kind"), detail = cell("detail")
                var stamp = JSONObject()
                stamp.number("sec", Double(time / 1_000_000_000)); stamp.number("nsec", Double(time % 1_000_000_000))
                var o = JSONObject()
                o.raw("timestamp", stamp.text)
                o.number("level", Double(eventLevel(kind)))
                o.string("message", detail.isEmpty ? kind : "\(kind): \(detail)")
                o.string("name", kind); o.string("file", RunFiles.events); o.number("line", 0)
                o.string("kind", kind); o.string("detail", detail); o.number("t_s", t); o.number("tick", Double(cell("tick")) ?? .nan)
                sparse.append((time, "/events", o.text))
            }
        }
        if let m = metricTable {
            let t = m.column("time_s")
            let names = m.columns.filter { $0.contains("/") }
            for (i, row) in m.rows.enumerated() {
                var values = JSONObject()
                for name in names { values.number(name, row[m.columns.firstIndex(of: name)!]) }
                var o = JSONObject()
                for key in ["step", "epoch", "updates", "time_s"] {
                    if let k = m.columns.firstIndex(of: key), k < row.count { o.number(key == "time_s" ? "t_s" : key, row[k]) }
                }
                o.raw("values", values.text)
                // A train directory's epochs have no run clock: one second apart from the anchor.
                sparse.append((logTime(seconds: t?[i] ?? Double(i)), "/trainer_metrics", o.text))
            }
        }
        if let timing = run.timing {
            var stages = JSONObject()
            for (name, h) in [("wakeup_latency", timing.wakeupLatency)] + timing.stages.sorted(by: { $0.key < $1.key }).map({ ($0.key, $0.value) }) {
                var o = JSONObject()
                o.number("p50_us", h.p50Micros); o.number("p99_us", h.p99Micros); o.number("p999_us", h.p999Micros); o.number("max_us", h.maxMicros)
                stages.raw(name, o.text)
            }
            var o = JSONObject()
            o.number("period_us", timing.periodMicros); o.number("ticks", Double(timing.ticks)); o.number("missed_deadlines", Double(timing.missedTicks))
            o.string("realtime", timing.realtime); o.raw("stages", stages.text)
            let end = run.summaryNumbers["seconds"] ?? (Double(timing.ticks) * timing.periodMicros * 1e-6)
            sparse.append((logTime(seconds: end), "/loop_timing_summary", o.text))
        }
        sparse.sort { $0.time < $1.time }
        var next = 0
        func flushSparse(upTo time: UInt64) throws {
            while next < sparse.count && sparse[next].time <= time {
                try send(sparse[next].topic, sparse[next].time, sparse[next].json)
                next += 1
            }
        }

        // Per-tick messages, one per record.
        if let s = streams {
            let joints = s.joints
            let names = "[" + joints.map { quoted($0.name) }.joined(separator: ",") + "]"
            let observationKeys = s.observationChannels.map { quoted($0.name) }, actionKeys = s.actionChannels.map { quoted($0.name) }
            var previousVersion: UInt64?
            for i in 0..<s.count {
                let mono = s.timestampNanos[i]
                let time = logTime(mono: mono)
                try flushSparse(upTo: time)
                let head = "\"t_s\":\(json(secondsSinceStart(mono: mono))),\"tick\":\(s.tick[i]),\"episode\":\(s.episode[i])"
                let pos = joints.map { json(s.position($0, i)) }.joined(separator: ",")
                let vel = joints.map { json(s.velocity($0, i)) }.joined(separator: ",")
                try send("/joint_states", time, "{\(head),\"name\":\(names),\"position\":[\(pos)],\"velocity\":[\(vel)]}")
                let obs = observationKeys.enumerated().map { "\($1):\(json(Double(s.observation(i, $0))))" }.joined(separator: ",")
                try send("/observation", time, "{\(head),\"values\":{\(obs)}}")
                let f = s.flags[i]
                let act = actionKeys.enumerated().map { "\($1):\(json(Double(s.action(i, $0))))" }.joined(separator: ",")
                try send("/action", time, "{\(head),\"values\":{\(act)},\"policy_version\":\(s.policyVersion[i]),\"teleop\":\(f & RecordFlag.teleop != 0),\"exploring\":\(f & RecordFlag.exploring != 0),\"safety_modified\":\(f & RecordFlag.safetyModified != 0)}")
                try send("/reward", time, "{\(head),\"reward\":\(json(Double(s.reward[i]))),\"terminal\":\(f & RecordFlag.terminal != 0),\"timeout\":\(f & RecordFlag.timeout != 0),\"aborted\":\(f & RecordFlag.aborted != 0)}")
                // The period since the previous record, when that record was the previous tick's
                // neighbour in the same recording (not across a reset gap).
                var period = "null", skipped: UInt64 = 0
                if i > 0, s.tick[i] > s.tick[i - 1], f & RecordFlag.episodeStart == 0 {
                    let ticks = s.tick[i] - s.tick[i - 1]
                    skipped = ticks - 1
                    period = json(Double(mono &- s.timestampNanos[i - 1]) / 1000 / Double(ticks))
                }
                try send("/loop_timing", time, "{\(head),\"period_us\":\(period),\"ticks_skipped\":\(skipped),\"late\":\(f & RecordFlag.late != 0),\"dropped_before\":\(s.droppedBefore[i])}")
                if previousVersion != s.policyVersion[i] {
                    let prev = previousVersion.map { "\($0)" } ?? "null"
                    try send("/policy_version", time, "{\(head),\"version\":\(s.policyVersion[i]),\"previous\":\(prev)}")
                    previousVersion = s.policyVersion[i]
                }
            }
        }
        try flushSparse(upTo: .max)
        try w.finish()
        return Written(path: path, messages: counts)
    }

    private static func eventLevel(_ kind: String) -> Int {
        // foxglove.Log levels: 1 debug, 2 info, 3 warning, 4 error, 5 fatal.
        switch kind {
        case "safety_stop", "trainer_diverged", "fault": 4
        case "policy_rejected", "policy_reverted": 3
        default: 2
        }
    }
}

// MARK: JSON text

/// A number as JSON (non-finite values as null).
func json(_ v: Double) -> String {
    guard v.isFinite else { return "null" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return "\(v)"
}

/// A JSON string literal (Foundation's escaping).
func quoted(_ s: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("\"\"".utf8)
    return String(decoding: data, as: UTF8.self)
}

/// A JSON object built field by field.
struct JSONObject {
    private var fields: [String] = []
    mutating func number(_ k: String, _ v: Double) { fields.append("\(quoted(k)):\(json(v))") }
    mutating func bool(_ k: String, _ v: Bool) { fields.append("\(quoted(k)):\(v)") }
    mutating func string(_ k: String, _ v: String) { fields.append("\(quoted(k)):\(quoted(v))") }
    mutating func raw(_ k: String, _ v: String) { fields.append("\(quoted(k)):\(v)") }
    var text: String { "{" + fields.joined(separator: ",") + "}" }
}

func unixNanos(iso: String?) -> UInt64? {
    guard let iso, !iso.isEmpty else { return nil }
    let f = ISO8601DateFormatter()
    var date = f.date(from: iso)
    if date == nil {
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        date = f.date(from: iso)
    }
    guard let d = date, d.timeIntervalSince1970 > 0 else { return nil }
    return UInt64((d.timeIntervalSince1970 * 1e9).rounded())
}

// MARK: Schemas (JSON Schema, draft 2020-12)

private let tickFields = """
    "t_s": {"type": "number", "description": "seconds since the control loop started (tick 0), host monotonic clock"},
    "tick": {"type": "integer", "description": "deadline index since the loop started; missed deadlines leave gaps"},
    "episode": {"type": "integer", "description": "episode number within the recording"}
    """

private func objectSchema(_ title: String, _ description: String, properties: String, required: [String]) -> String {
    """
    {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": \(quoted(title)), "description": \(quoted(description)),
     "type": "object", "properties": {\(properties)}, "required": [\(required.map(quoted).joined(separator: ", "))]}
    """
}

private let jointStateSchema = objectSchema(
    "robotctl.JointState", "Joint positions and velocities read from the observation (angles from atan2(sin, cos)); units in the channel metadata.",
    properties: tickFields + """
        ,
        "name": {"type": "array", "items": {"type": "string"}, "description": "joint names, in the order of position and velocity"},
        "position": {"type": "array", "items": {"type": ["number", "null"]}, "description": "joint positions (rad or m)"},
        "velocity": {"type": "array", "items": {"type": ["number", "null"]}, "description": "joint velocities (rad/s or m/s)"}
        """, required: ["t_s", "tick", "episode", "name", "position", "velocity"])

private func vectorSchema(_ title: String, _ description: String, _ channels: [StreamChannel], extra: String) -> String {
    let props = channels.map { "\(quoted($0.name)): {\"type\": [\"number\", \"null\"], \"description\": \(quoted("unit: " + $0.unit))}" }
        .joined(separator: ", ")
    return objectSchema(
        title, description,
        properties: tickFields + ",\n\"values\": {\"type\": \"object\", \"properties\": {\(props)}, \"required\": [\(channels.map { quoted($0.name) }.joined(separator: ", "))]}" + extra,
        required: ["t_s", "tick", "episode", "values"])
}

private let actionExtra = """
    ,
    "policy_version": {"type": "integer", "description": "version of the policy that produced the action (0: none, e.g. teleop)"},
    "teleop": {"type": "boolean", "description": "the action came from a human"},
    "exploring": {"type": "boolean", "description": "exploration noise was added in this episode (the action is the executed one)"},
    "safety_modified": {"type": "boolean", "description": "the safety filter changed the command made from this action"}
    """

private let rewardSchema = objectSchema(
    "robotctl.Reward", "The reward of this tick's action, and how the episode ended at it.",
    properties: tickFields + """
        ,
        "reward": {"type": ["number", "null"]},
        "terminal": {"type": "boolean"}, "timeout": {"type": "boolean"}, "aborted": {"type": "boolean"}
        """, required: ["t_s", "tick", "episode", "reward"])

private let loopTickSchema = objectSchema(
    "robotctl.LoopTick", "Per-tick loop timing from the records' host timestamps.",
    properties: tickFields + """
        ,
        "period_us": {"type": ["number", "null"], "description": "time since the previous record divided by the ticks between them, µs; null at an episode start"},
        "ticks_skipped": {"type": "integer", "description": "deadlines missed just before this tick"},
        "late": {"type": "boolean", "description": "one or more deadlines were missed just before this tick"},
        "dropped_before": {"type": "integer", "description": "records the logger lost just before this one (ring full)"}
        """, required: ["t_s", "tick", "period_us", "late"])

private let policyVersionSchema = objectSchema(
    "robotctl.PolicyVersion", "The policy version acting on the robot, one message at each change (the first record included).",
    properties: tickFields + """
        ,
        "version": {"type": "integer"}, "previous": {"type": ["integer", "null"]}
        """, required: ["t_s", "tick", "version"])

private let episodeReturnSchema = objectSchema(
    "robotctl.EpisodeReturn", "One message per episode at its end: its undiscounted return.",
    properties: """
        "episode": {"type": "integer"}, "return": {"type": ["number", "null"], "description": "null for an aborted episode"},
        "start_s": {"type": ["number", "null"]}, "end_s": {"type": ["number", "null"]}, "ticks": {"type": ["integer", "null"]},
        "policy_version": {"type": ["integer", "null"]}, "aborted": {"type": "boolean"}, "exploring": {"type": "boolean"},
        "source": {"type": "string", "description": "episodes.csv (decision-rate returns) or the sum of the dataset's per-tick rewards"}
        """, required: ["episode", "return"])

private let policySwapSchema = objectSchema(
    "robotctl.PolicySwap", "A policy the trainer published into the loop (policy_swaps.csv).",
    properties: """
        "t_s": {"type": ["number", "null"]}, "tick": {"type": ["integer", "null"]}, "version": {"type": ["integer", "null"]},
        "trainer_updates": {"type": ["integer", "null"]}, "validation_return": {"type": ["number", "null"]}
        """, required: ["version"])

private let eventSchema = objectSchema(
    "foxglove.Log", "A run event (events.csv) as a foxglove.Log message, plus its kind, detail, t_s and tick.",
    properties: """
        "timestamp": {"type": "object", "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}}},
        "level": {"type": "integer", "description": "1 debug, 2 info, 3 warning, 4 error, 5 fatal"},
        "message": {"type": "string"}, "name": {"type": "string"}, "file": {"type": "string"}, "line": {"type": "integer"},
        "kind": {"type": "string"}, "detail": {"type": "string"}, "t_s": {"type": ["number", "null"]}, "tick": {"type": ["integer", "null"]}
        """, required: ["timestamp", "level", "message", "kind"])

private let trainerMetricsSchema = objectSchema(
    "robotctl.TrainerMetrics", "One row of trainer_metrics.csv (on the robot) or metrics.csv (train): namespaced means (losses/…, charts/…).",
    properties: """
        "step": {"type": ["integer", "null"]}, "epoch": {"type": ["integer", "null"]}, "updates": {"type": ["integer", "null"]},
        "t_s": {"type": ["number", "null"]},
        "values": {"type": "object", "additionalProperties": {"type": ["number", "null"]}}
        """, required: ["values"])

private let timingSummarySchema = objectSchema(
    "robotctl.LoopTimingSummary", "The run's loop_timing.json percentiles, one message at the end of the run.",
    properties: """
        "period_us": {"type": "number"}, "ticks": {"type": "integer"}, "missed_deadlines": {"type": "integer"}, "realtime": {"type": "string"},
        "stages": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            "p50_us": {"type": "number"}, "p99_us": {"type": "number"}, "p999_us": {"type": "number"}, "max_us": {"type": "number"}}}}
        """, required: ["period_us", "stages"])
