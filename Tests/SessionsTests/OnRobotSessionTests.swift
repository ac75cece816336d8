import Control
import FixedNN
import Foundation
@testable import H2OTrainer
@testable import Sessions
import Reporting
import Testing
import TestSupport
import SystemSupport
import Tasks

/// The pendulum with 200-tick episodes and a reset phase that ends at once: the session's
/// logic without waiting for a real pendulum to hang still (the fake robot is no pendulum).
struct QuickPendulum: SimulatedTask {
    let base: PendulumTask
    init() {
        var p = PendulumParameters.rate200Hz
        p.episodeTicks = 200
        base = PendulumTask(parameters: p)
    }
    var parameters: PendulumParameters { base.parameters }
    var discount: Double { base.discount }
    var name: String { base.name }
    var observationSize: Int { 3 }
    var actionSize: Int { 1 }
    var controlPeriod: Double { base.controlPeriod }
    var episodeTicks: Int { base.episodeTicks }
    func observe(_ state: RobotState, into observation: UnsafeMutablePointer<Float>) { base.observe(state, into: observation) }
    func command(for action: UnsafePointer<Float>, into command: inout RobotCommand) { base.command(for: action, into: &command) }
    func reward(observation: UnsafePointer<Float>, action: UnsafePointer<Float>) -> Float {
        base.reward(observation: observation, action: action)
    }
    func isTerminal(observation: UnsafePointer<Float>) -> Bool { false }
    func resetStep(_ state: RobotState, ticksInReset: Int, into command: inout RobotCommand) -> Bool {
        command.mode = .torque
        command.jointCount = 1
        command.setpoint[0] = 0
        return true
    }
    var simStateNames: [String] { base.simStateNames }
    func simState(from values: UnsafePointer<Double>) -> PendulumTask.SimState { base.simState(from: values) }
    func write(_ state: PendulumTask.SimState, to values: UnsafeMutablePointer<Double>) { base.write(state, to: values) }
    func resetSim(random: inout SimRandom) -> PendulumTask.SimState { base.resetSim(random: &random) }
    func observeSim(_ state: PendulumTask.SimState, into observation: UnsafeMutablePointer<Float>) {
        base.observeSim(state, into: observation)
    }
    func stepSim(_ state: inout PendulumTask.SimState, action: UnsafePointer<Float>, random: inout SimRandom)
        -> (reward: Double, terminal: Bool)
    {
        base.stepSim(&state, action: action, random: &random)
    }
}

enum OnRobotFixtures {
    static let hidden = 16

    static func policyFile(seed: UInt64 = 3) -> PolicyFile {
        let net = MLP(shape: MLPShape(layerSizes: [3, hidden, hidden, 2], hidden: .relu), lastLayer: .xavierUniform(gain: 0.01), seed: seed)
        return PolicyFile(network: net, head: .tanhGaussian, actionScale: [2])
    }

    /// Finite weights whose action is NaN for every observation: the first layer saturates
    /// at 3e38, the second overflows to +inf, the output adds +inf and −inf.
    static func nanParameters() -> [Float] {
        var net = MLP(shape: MLPShape(layerSizes: [3, hidden, hidden, 2], hidden: .relu))
        for o in 0..<hidden {
            for i in 0..<3 { net.setWeight(layer: 0, output: o, input: i, 0) }
            net.setBias(layer: 0, output: o, 3e38)
            for i in 0..<hidden { net.setWeight(layer: 1, output: o, input: i, 3e38) }
            net.setBias(layer: 1, output: o, 0)
        }
        for o in 0..<2 {
            for i in 0..<hidden { net.setWeight(layer: 2, output: o, input: i, i % 2 == 0 ? 1 : -1) }
            net.setBias(layer: 2, output: o, 0)
        }
        return net.parameters.array
    }

    static let limits: SafetyLimits = {
        var l = SafetyLimits(joints: [JointLimits(positionMin: -1e6, positionMax: 1e6, velocityMax: 100, effortMax: 2, rateMax: 400)])
        l.stopDuration = 0.1
        return l
    }()

    static func schema() -> DatasetSchema {
        DatasetSchema(
            robotID: "fake", task: "pendulum", controlRateHz: 200,
            observation: [DatasetChannel(name: "cos", unit: "1"), DatasetChannel(name: "sin", unit: "1"), DatasetChannel(name: "w", unit: "rad/s")],
            action: [DatasetChannel(name: "torque", unit: "1")], rewardDefinition: "pendulum")
    }

    static func temporaryDirectory(_ tag: String) -> String {
        let dir = NSTemporaryDirectory() + "onrobot-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static let noRealtime = RealtimeOptions.none
}

@Suite("On-robot session")
struct OnRobotSessionTests {
    @Test("a NaN-producing policy published into the slot never reaches the motors; the run rolls back and continues")
    func nanPolicyIsHeldAndRolledBack() throws {
        let task = QuickPendulum()
        let robot = FakeRobot(jointCount: 1, plant: .integrator(inertia: 1, damping: 0.5, dt: 0.005), commandLogCapacity: 8192)
        let file = OnRobotFixtures.policyFile()
        let dir = OnRobotFixtures.temporaryDirectory("nan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = OnRobotOptions(duration: 2.5, finetune: false, datasetDirectory: dir + "/dataset", realtime: OnRobotFixtures.noRealtime)
        options.maxRestarts = 3
        let session = try RunSession<QuickPendulum, QuickPendulum>(
            robot: robot, task: task, policy: DeterministicPolicy(file), limits: OnRobotFixtures.limits,
            schema: OnRobotFixtures.schema(), learner: nil, settings: OnRobotSettings(seed: 1), options: options)
        session.faults.nanPolicyAfterSeconds = 0.8
        session.faults.nanPolicyParameters = OnRobotFixtures.nanParameters()
        let result = try session.run { _ in }

        let kinds = result.events.map(\.kind)
        #expect(kinds.contains("policy_injected"))
        let stop = try #require(result.events.first { $0.kind == "safety_stop" })
        #expect(stop.detail.contains("non-finite action"))
        #expect(kinds.contains("policy_rolled_back"))
        #expect(kinds.contains("restarted"))
        #expect(result.endReason == "duration reached")
        // Version 2 was the NaN policy; the loop ended on the rolled-back copy of version 1.
        #expect(result.finalPolicyVersion == 3)
        #expect(result.finalPolicyParameters == file.network.parameters.array)
        // Every command that reached the robot was finite, and the loop kept running after.
        let setpoints = robot.setpoints(joint: 0)
        #expect(setpoints.count > 300)
        #expect(setpoints.allSatisfy { $0.isFinite })
        #expect(result.episodes.contains { $0.startSeconds > stop.seconds })

        let report = try RunDirectoryWriter.write(
            result, command: "test", started: Date(), config: ["case": "nan"], summary: ["ok": true], to: dir, title: "nan")
        let data = try RunData.load(directory: dir)
        #expect(FileManager.default.fileExists(atPath: report))
        #expect(data.events?.rows.contains { $0.count > 2 && $0[2] == "policy_rolled_back" } == true)
        #expect((data.episodes?.rows.count ?? 0) == result.episodes.count)
        #expect(data.timing?.ticks == result.statistics[.ticks])
    }

    @Test("a diverging trainer is restored from its last checkpoint and never publishes a non-finite policy")
    func divergingTrainerIsContained() throws {
        let task = QuickPendulum()
        let robot = FakeRobot(jointCount: 1, plant: .integrator(inertia: 1, damping: 0.5, dt: 0.005), commandLogCapacity: 8192)
        let file = OnRobotFixtures.policyFile()
        var h = OnRobotSettings.defaultHyperparameters
        h.hiddenSize = OnRobotFixtures.hidden
        h.discriminatorHiddenSize = 16
        h.batchSize = 32
        h.gamma = task.discount
        var settings = OnRobotSettings(hyperparameters: h, seed: 2)
        settings.minimumRealTransitions = 100
        settings.warmupUpdates = 10
        settings.hyperparameters.simStepsPerEpoch = 40
        settings.hyperparameters.updatesPerEpoch = 10
        settings.hyperparameters.publishEveryUpdates = 40
        settings.validationEpisodes = 1
        settings.validationTolerance = 1e9
        // Publish validated candidates at once (selection on the robot needs whole episodes).
        settings.selectOnRobot = false
        let learner = try StartingPolicy.learner(
            task: task, checkpoint: nil, policy: file, hyperparameters: h, settings: settings, realCapacity: 10_000, source: "test")
        let options = OnRobotOptions(duration: 3, finetune: true, datasetDirectory: nil, realtime: OnRobotFixtures.noRealtime)
        let session = try RunSession(
            robot: robot, task: task, policy: DeterministicPolicy(file), limits: OnRobotFixtures.limits,
            schema: OnRobotFixtures.schema(), learner: learner, settings: settings, options: options)
        session.faults.divergeAtUpdate = 25
        let result = try session.run { _ in }

        let diverged = try #require(result.events.first { $0.kind == "trainer_diverged" })
        #expect(diverged.detail.contains("restored"))
        #expect(result.trainerUpdates > 40)
        #expect(!result.swaps.isEmpty)
        #expect(result.finalPolicyParameters.allSatisfy { $0.isFinite })
        #expect(robot.setpoints(joint: 0).allSatisfy { $0.isFinite })
        #expect(!result.events.contains { $0.kind == "safety_stop" })
        let agentFinite = learner.agent.allFinite
        #expect(agentFinite)
    }

    @Test("the recorder turns consecutive records of an episode into transitions and counts returns")
    func recorderBuildsTransitions() throws {
        let ring = TransitionRing(capacity: 64, observationCount: 3, actionCount: 1)
        let recorder = RunRecorder(ring: ring, writer: nil, startNanos: 0, feedsTrainer: true)
        for t in 0..<5 {
            var flags: TransitionFlags = t == 0 ? [.episodeStart] : []
            if t == 4 { flags.insert(.timeout) }
            let obs: [Float] = [Float(t), 0, 0]
            let act: [Float] = [0.5]
            _ = ring.push(
                TransitionHeader(timestampNanos: UInt64(t) * 5_000_000, tick: UInt64(t), policyVersion: 1, episode: 0, flags: flags,
                                 reward: -1, droppedBefore: 0),
                observation: obs, action: act)
        }
        recorder.drainForLoading()
        let p = recorder.takeTransitions()
        // 5 records, the time-out's has no successor: 4 transitions, each next = following obs.
        #expect(p.count == 4)
        #expect(p.nextObservations[0] == 1 && p.nextObservations[9] == 4)
        #expect(p.terminals.allSatisfy { !$0 })
        let e = try #require(recorder.episodes.first)
        #expect(e.ticks == 5 && e.episodeReturn == -5 && !e.aborted)
    }
}
