import FixedNN
import Foundation

/// The agent as named tensors: the layout of checkpoints and of `robotctl train verify-step`'s
/// parameter files (README, "H2OTrainer: files"), in ``SafeTensors`` (the one `.safetensors`
/// implementation). Weights go through ``SafeTensors/insertLayered(_:shape:prefix:)`` and
/// ``SafeTensors/readLayered(prefix:shape:into:)``, so files hold PyTorch's `[out][in]` at every
/// width, whatever the in-memory panel layout of ``MLPShape``.
///
/// - Networks `policy`, `q1`, `q2`, `q1_target`, `q2_target`, `v`, `disc_sa`, `disc_sas`, and for
///   an ensemble of N > 2 critics `q3`…`qN` with `q3_target`…`qN_target`:
///   `{net}.{l}.weight` F32 [out, in] (PyTorch's layout) and `{net}.{l}.bias` F32 [out], l = 0, 1, 2;
///   with LayerNorm critics (`critic_layernorm`) also `{net}.{l}.norm.weight` (gain) and
///   `{net}.{l}.norm.bias` F32 [out], l = 0, 1, for every Q, Q target and `v`. Files without
///   these (the default networks) load as before; the metadata's hyperparameters say which
///   tensors to expect.
/// - `policy.log_std_multiplier`, `policy.log_std_offset`, `log_alpha`: F32 [1].
/// - Adam moments `adam.m.{name}`, `adam.v.{name}` for every trained tensor above (not the
///   targets), same shapes; step counts `adam.step.{policy,q,v,disc_sa,disc_sas,log_alpha}`
///   I64 scalars (every Q shares the `q` count, the policy's m and c the `policy` count).
/// - Metadata `h2o.hyperparameters`: the hyperparameters as JSON (snake_case keys; missing keys
///   take the defaults), `h2o.algorithm`.
public enum AgentFile {
    /// Network name → keypath-free accessor index (the order tensors are listed in).
    static let networks = ["policy", "q1", "q2", "q1_target", "q2_target", "v", "disc_sa", "disc_sas"]
    static let optimised: [String: String] = [
        "policy": "policy", "q1": "q", "q2": "q", "v": "v", "disc_sa": "disc_sa", "disc_sas": "disc_sas",
    ]

    /// Reads a checkpoint or parameter file; a missing or malformed file is a
    /// `TrainerError.incompatibleCheckpoint` naming it.
    public static func read(path: String) throws -> SafeTensors {
        do { return try SafeTensors.read(path: path) } catch {
            throw TrainerError.incompatibleCheckpoint(path: path, problem: error.problem + (error.fix.isEmpty ? "" : "; \(error.fix)"))
        }
    }

    /// The agent's tensors and metadata.
    public static func tensors(of agent: borrowing H2OAgent, algorithm: Algorithm, extraMetadata: [String: String] = [:]) -> SafeTensors {
        var file = SafeTensors()
        func put(_ name: String, _ mlp: borrowing MLP) { file.insert(mlp, prefix: name) }
        func putMoments(_ name: String, _ shape: MLPShape, _ adam: borrowing Adam) {
            file.insertLayered(adam.firstMoment, shape: shape, prefix: "adam.m.\(name)")
            file.insertLayered(adam.secondMoment, shape: shape, prefix: "adam.v.\(name)")
        }
        put("policy", agent.policy)
        put("q1", agent.q1)
        put("q2", agent.q2)
        put("q1_target", agent.q1Target)
        put("q2_target", agent.q2Target)
        put("v", agent.value)
        put("disc_sa", agent.discriminatorSA)
        put("disc_sas", agent.discriminatorSAS)
        for k in 0..<agent.extraCritics.count {
            put("q\(k + 3)", agent.extraCritics[k])
            put("q\(k + 3)_target", agent.extraCriticTargets[k])
            putMoments("q\(k + 3)", agent.extraCritics[k].shape, agent.extraCriticOptimizers[k])
        }
        file.tensors["policy.log_std_multiplier"] = NumpyArray([agent.logStd[0]])
        file.tensors["policy.log_std_offset"] = NumpyArray([agent.logStd[1]])
        file.tensors["log_alpha"] = NumpyArray([agent.logAlpha[0]])
        putMoments("policy", agent.policy.shape, agent.policyOptimizer)
        putMoments("q1", agent.q1.shape, agent.q1Optimizer)
        putMoments("q2", agent.q2.shape, agent.q2Optimizer)
        putMoments("v", agent.value.shape, agent.valueOptimizer)
        putMoments("disc_sa", agent.discriminatorSA.shape, agent.discriminatorSAOptimizer)
        putMoments("disc_sas", agent.discriminatorSAS.shape, agent.discriminatorSASOptimizer)
        file.tensors["adam.m.policy.log_std_multiplier"] = NumpyArray([agent.logStdOptimizer.firstMoment[0]])
        file.tensors["adam.m.policy.log_std_offset"] = NumpyArray([agent.logStdOptimizer.firstMoment[1]])
        file.tensors["adam.v.policy.log_std_multiplier"] = NumpyArray([agent.logStdOptimizer.secondMoment[0]])
        file.tensors["adam.v.policy.log_std_offset"] = NumpyArray([agent.logStdOptimizer.secondMoment[1]])
        file.tensors["adam.m.log_alpha"] = NumpyArray([agent.logAlphaOptimizer.firstMoment[0]])
        file.tensors["adam.v.log_alpha"] = NumpyArray([agent.logAlphaOptimizer.secondMoment[0]])
        func step(_ n: Int) -> NumpyArray { NumpyArray([Int64(n)], shape: []) }
        file.tensors["adam.step.policy"] = step(agent.policyOptimizer.stepCount)
        file.tensors["adam.step.q"] = step(agent.q1Optimizer.stepCount)
        file.tensors["adam.step.v"] = step(agent.valueOptimizer.stepCount)
        file.tensors["adam.step.disc_sa"] = step(agent.discriminatorSAOptimizer.stepCount)
        file.tensors["adam.step.disc_sas"] = step(agent.discriminatorSASOptimizer.stepCount)
        file.tensors["adam.step.log_alpha"] = step(agent.logAlphaOptimizer.stepCount)
        file.metadata["h2o.hyperparameters"] = agent.hyperparameters.jsonString
        file.metadata["h2o.algorithm"] = algorithm.rawValue
        file.metadata["h2o.observation_size"] = String(agent.observationSize)
        file.metadata["h2o.action_size"] = String(agent.actionSize)
        for (k, v) in extraMetadata { file.metadata[k] = v }
        return file
    }

    /// Builds an agent from a file's tensors. Sizes come from the tensors; hyperparameters from
    /// the metadata overlaid on `base`. When `expect` is given (S, A, hidden, discriminator
    /// hidden), a mismatch is a one-line error naming both architectures. `source` names the
    /// file in errors.
    public static func agent(
        from file: SafeTensors, base: Hyperparameters = .mujoco, expect: (S: Int, A: Int, hidden: Int, discriminatorHidden: Int)? = nil,
        source: String
    ) throws -> H2OAgent {
        func fail(_ problem: String) -> TrainerError { .incompatibleCheckpoint(path: source, problem: problem) }
        func tensor(_ name: String) throws -> SafeTensors.Tensor {
            guard let t = file.tensors[name] else {
                throw fail("missing tensor '\(name)'; this is not an H2OTrainer checkpoint or parameter file (see README, H2OTrainer files)")
            }
            return t
        }
        let p0 = try tensor("policy.0.weight"), p2 = try tensor("policy.2.weight"), d0 = try tensor("disc_sa.0.weight")
        guard p0.shape.count == 2, p2.shape.count == 2, d0.shape.count == 2, p2.shape[0] % 2 == 0 else {
            throw fail("policy/disc_sa weights are not matrices")
        }
        let S = p0.shape[1], H = p0.shape[0], A = p2.shape[0] / 2, D = d0.shape[0]
        if let e = expect, (e.S, e.A, e.hidden, e.discriminatorHidden) != (S, A, H, D) {
            throw fail(
                "holds networks for S=\(S), A=\(A), hidden \(H), discriminators \(D) but this run needs S=\(e.S), A=\(e.A), hidden \(e.hidden), discriminators \(e.discriminatorHidden); use a matching --preset/--hidden or start without --resume")
        }
        var h = base
        if let json = file.metadata["h2o.hyperparameters"] {
            guard let parsed = Hyperparameters(json: json, base: base) else {
                throw fail("metadata h2o.hyperparameters is not valid JSON for the hyperparameters")
            }
            h = parsed
        }
        h.hiddenSize = H
        h.discriminatorHiddenSize = D
        var agent = H2OAgent(observationSize: S, actionSize: A, hyperparameters: h, seed: 0)
        func load(_ name: String, into buffer: inout FloatBuffer, shape: MLPShape) throws {
            for l in 0..<shape.layerCount {
                let (i, o) = (shape.layerSizes[l], shape.layerSizes[l + 1])
                let w = try tensor("\(name).\(l).weight"), b = try tensor("\(name).\(l).bias")
                guard w.shape == [o, i], b.shape == [o] else {
                    throw fail("tensor '\(name).\(l).weight' has shape \(w.shape) (bias \(b.shape)) but the architecture needs [\(o), \(i)] ([\(o)])")
                }
            }
            do { try file.readLayered(prefix: name, shape: shape, into: &buffer) } catch {
                throw fail(error.problem + (error.fix.isEmpty ? "" : "; \(error.fix)"))
            }
        }
        func scalar(_ name: String) throws -> Float {
            let t = try tensor(name)
            guard t.count == 1 else { throw fail("tensor '\(name)' must hold one value (has shape \(t.shape))") }
            return t.floats()[0]
        }
        func steps(_ group: String) throws -> Int {
            guard let t = file.tensors["adam.step.\(group)"] else { return 0 }
            guard t.count == 1 else { throw fail("tensor 'adam.step.\(group)' must hold one value") }
            return t.ints()?[0] ?? Int(t.doubles()[0])
        }
        let hasMoments = file.tensors["adam.m.policy.0.weight"] != nil
        try load("policy", into: &agent.policy.parameters, shape: agent.policy.shape)
        try load("q1", into: &agent.q1.parameters, shape: agent.q1.shape)
        try load("q2", into: &agent.q2.parameters, shape: agent.q2.shape)
        try load("q1_target", into: &agent.q1Target.parameters, shape: agent.q1Target.shape)
        try load("q2_target", into: &agent.q2Target.parameters, shape: agent.q2Target.shape)
        try load("v", into: &agent.value.parameters, shape: agent.value.shape)
        try load("disc_sa", into: &agent.discriminatorSA.parameters, shape: agent.discriminatorSA.shape)
        try load("disc_sas", into: &agent.discriminatorSAS.parameters, shape: agent.discriminatorSAS.shape)
        let extraCritics = agent.extraCritics.base, extraTargets = agent.extraCriticTargets.base
        let extraOptimizers = agent.extraCriticOptimizers.base
        for k in 0..<agent.extraCritics.count {
            try load("q\(k + 3)", into: &extraCritics[k].parameters, shape: extraCritics[k].shape)
            try load("q\(k + 3)_target", into: &extraTargets[k].parameters, shape: extraTargets[k].shape)
            if hasMoments {
                try load("adam.m.q\(k + 3)", into: &extraOptimizers[k].firstMoment, shape: extraCritics[k].shape)
                try load("adam.v.q\(k + 3)", into: &extraOptimizers[k].secondMoment, shape: extraCritics[k].shape)
            }
            extraOptimizers[k].stepCount = try steps("q")
        }
        agent.logStd[0] = try scalar("policy.log_std_multiplier")
        agent.logStd[1] = try scalar("policy.log_std_offset")
        agent.logAlpha[0] = try scalar("log_alpha")
        if hasMoments {
            try load("adam.m.policy", into: &agent.policyOptimizer.firstMoment, shape: agent.policy.shape)
            try load("adam.v.policy", into: &agent.policyOptimizer.secondMoment, shape: agent.policy.shape)
            try load("adam.m.q1", into: &agent.q1Optimizer.firstMoment, shape: agent.q1.shape)
            try load("adam.v.q1", into: &agent.q1Optimizer.secondMoment, shape: agent.q1.shape)
            try load("adam.m.q2", into: &agent.q2Optimizer.firstMoment, shape: agent.q2.shape)
            try load("adam.v.q2", into: &agent.q2Optimizer.secondMoment, shape: agent.q2.shape)
            try load("adam.m.v", into: &agent.valueOptimizer.firstMoment, shape: agent.value.shape)
            try load("adam.v.v", into: &agent.valueOptimizer.secondMoment, shape: agent.value.shape)
            try load("adam.m.disc_sa", into: &agent.discriminatorSAOptimizer.firstMoment, shape: agent.discriminatorSA.shape)
            try load("adam.v.disc_sa", into: &agent.discriminatorSAOptimizer.secondMoment, shape: agent.discriminatorSA.shape)
            try load("adam.m.disc_sas", into: &agent.discriminatorSASOptimizer.firstMoment, shape: agent.discriminatorSAS.shape)
            try load("adam.v.disc_sas", into: &agent.discriminatorSASOptimizer.secondMoment, shape: agent.discriminatorSAS.shape)
            agent.logStdOptimizer.firstMoment[0] = try scalar("adam.m.policy.log_std_multiplier")
            agent.logStdOptimizer.firstMoment[1] = try scalar("adam.m.policy.log_std_offset")
            agent.logStdOptimizer.secondMoment[0] = try scalar("adam.v.policy.log_std_multiplier")
            agent.logStdOptimizer.secondMoment[1] = try scalar("adam.v.policy.log_std_offset")
            agent.logAlphaOptimizer.firstMoment[0] = try scalar("adam.m.log_alpha")
            agent.logAlphaOptimizer.secondMoment[0] = try scalar("adam.v.log_alpha")
        }
        agent.policyOptimizer.stepCount = try steps("policy")
        agent.logStdOptimizer.stepCount = try steps("policy")
        agent.q1Optimizer.stepCount = try steps("q")
        agent.q2Optimizer.stepCount = try steps("q")
        agent.valueOptimizer.stepCount = try steps("v")
        agent.discriminatorSAOptimizer.stepCount = try steps("disc_sa")
        agent.discriminatorSASOptimizer.stepCount = try steps("disc_sas")
        agent.logAlphaOptimizer.stepCount = try steps("log_alpha")
        return agent
    }
}

extension Hyperparameters {
    /// The hyperparameters as JSON with snake_case keys.
    public var jsonString: String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Parses snake_case JSON; keys it lacks keep `base`'s values. Nil when malformed.
    public init?(json: String, base: Hyperparameters) {
        guard let given = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            var merged = try? JSONSerialization.jsonObject(with: Data(base.jsonString.utf8)) as? [String: Any]
        else { return nil }
        for (k, v) in given { merged[k] = v }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let data = try? JSONSerialization.data(withJSONObject: merged),
            let h = try? decoder.decode(Hyperparameters.self, from: data)
        else { return nil }
        self = h
    }
}
