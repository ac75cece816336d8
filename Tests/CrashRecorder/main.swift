// CrashRecorder: a child process for the crash-safety test. It records synthetic transitions
// at 200 Hz through the real recording path (transition ring → logger thread → DatasetWriter)
// until it is killed, printing "durable N" whenever the first N records are known to be on
// disk (fsync returned). Every value of record `tick` is a function of `tick`, so the parent can
// check each record it reads back.
//
// Usage: CrashRecorder DIR FSYNC_INTERVAL_SECONDS
import Control
import Foundation
import Glibc
import SystemSupport

/// Writes one line to stdout unbuffered (the parent reads it while we may be killed any time).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let args = CommandLine.arguments
guard args.count == 3, let interval = Double(args[2]) else {
    FileHandle.standardError.write(Data("usage: CrashRecorder DIR FSYNC_INTERVAL_SECONDS\n".utf8))
    exit(2)
}
let schema = DatasetSchema(
    robotID: "crash-test", task: "synthetic", controlRateHz: 200,
    observation: (0..<3).map { DatasetChannel(name: "o\($0)", unit: "1") },
    action: [DatasetChannel(name: "a0", unit: "1")], rewardDefinition: "-tick/2", source: "sim")
do {
    let writer = try DatasetWriter(directory: args[1], schema: schema, options: .init(fsyncInterval: interval))
    let ring = TransitionRing(capacity: 1024, observationCount: 3, actionCount: 1)
    let logger = TransitionLogger(ring: ring, writer: writer)
    try logger.start()
    say("started")
    let producer = try NativeThread(name: "producer") {
        var pacer = DeadlinePacer(.deadlines(periodNanos: 5_000_000))
        pacer.start()
        var obs: [Float] = [0, 0, 0]
        var act: [Float] = [0]
        while true {
            // The tick is the deadline index, so a starved producer leaves gaps, as the loop does.
            let tick = pacer.waitForNextTick().tick
            let t = Float(tick)
            obs[0] = t; obs[1] = t + 0.25; obs[2] = t + 0.5
            act[0] = -t * 0.001
            let header = TransitionHeader(
                timestampNanos: 1_000_000_000 + tick * 5_000_000, tick: tick, policyVersion: tick / 100,
                episode: 0, flags: tick == 0 ? .episodeStart : [], reward: -t * 0.5)
            ring.push(header, observation: obs, action: act)
        }
    }
    var reported: UInt64 = 0
    while true {
        usleep(10_000)
        let d = logger.durable
        if d != reported {
            reported = d
            say("durable \(d)")
        }
    }
    _ = producer
} catch {
    FileHandle.standardError.write(Data("CrashRecorder: \(error)\n".utf8))
    exit(1)
}
