import Control

#if canImport(Glibc)
import Glibc
#endif

/// The dynamics gap of a pendulum dataset: the onboard simulator is put in each recorded
/// state and stepped once with the recorded action (its latency line primed with the
/// episode's earlier actions); the prediction is compared with the recorded next state.
public enum PendulumDynamicsGap {
    /// Per-step prediction errors over a dataset.
    public struct Report: Sendable, Equatable {
        /// Transitions compared.
        public var steps: Int
        /// RMS and largest error of the angle (rad, wrapped) and of the speed (rad/s).
        public var angleRMS: Double
        public var angleMax: Double
        public var speedRMS: Double
        public var speedMax: Double
        /// Per-step speed error, in transition order (for plots).
        public var speedErrors: [Double]
    }

    /// A dataset this replay cannot read.
    public struct ReplayError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Checks that `schema` is a pendulum dataset (cos θ, sin θ, θ̇; one action).
    public static func check(_ schema: DatasetSchema, file: String) throws(ReplayError) {
        let names = schema.observation.map(\.name)
        guard schema.task == "pendulum", names == ["cos_theta", "sin_theta", "theta_dot"], schema.actionCount == 1 else {
            throw ReplayError(description: "\(file): schema is for task \"\(schema.task)\" with observation \(names); replay steps the pendulum simulator, so give a pendulum dataset")
        }
    }

    /// Replays `arrays` (D4RL pairing, `transitions` in order with their episode numbers for
    /// the latency line) through `PendulumTask(parameters:)`.
    public static func replay(_ arrays: D4RLArrays, episodes: [UInt32], parameters: PendulumParameters) -> Report {
        let task = PendulumTask(parameters: parameters)
        var random = SimRandom(seed: 1)
        var noiseless = parameters
        noiseless.actionNoise = 0
        let noiselessTask = PendulumTask(parameters: noiseless)
        var history: [Double] = []
        var previousEpisode: UInt32?
        var sumA = 0.0, sumS = 0.0, maxA = 0.0, maxS = 0.0
        var speedErrors: [Double] = []
        speedErrors.reserveCapacity(arrays.count)
        for i in 0..<arrays.count {
            let o = arrays.observations[(3 * i)..<(3 * i + 3)].map(Double.init)
            let next = arrays.nextObservations[(3 * i)..<(3 * i + 3)].map(Double.init)
            let torque = task.torque(for: arrays.actions[i])
            if episodes.indices.contains(i), episodes[i] != previousEpisode {
                history = []
                previousEpisode = episodes[i]
            }
            var state = PendulumTask.SimState(theta: atan2(o[1], o[0]), thetaDot: o[2])
            // Prime the latency line with the actions before this one.
            for u in history.suffix(parameters.latencyTicks) { _ = state.latency.push(u, latency: parameters.latencyTicks) }
            history.append(torque)
            if history.count > 64 { history.removeFirst(history.count - 64) }
            _ = noiselessTask.stepSim(&state, torque: torque, random: &random)
            if arrays.terminals[i] { continue }
            let angleError = abs(PendulumDynamics.normalizeAngle(state.theta - atan2(next[1], next[0])))
            let speedError = abs(state.thetaDot - next[2])
            sumA += angleError * angleError
            sumS += speedError * speedError
            maxA = max(maxA, angleError)
            maxS = max(maxS, speedError)
            speedErrors.append(speedError)
        }
        let n = max(1, speedErrors.count)
        return Report(
            steps: speedErrors.count, angleRMS: (sumA / Double(n)).squareRoot(), angleMax: maxA,
            speedRMS: (sumS / Double(n)).squareRoot(), speedMax: maxS, speedErrors: speedErrors)
    }

    /// `nominal` with the gap parameters of a calibration's system identification applied.
    public static func parameters(_ nominal: PendulumParameters, fittedBy s: SystemIdentification) -> PendulumParameters {
        var p = nominal
        for (name, value) in s.parameters.sorted(by: { $0.key < $1.key }) { try? p.set(name, to: value) }
        return p
    }
}
