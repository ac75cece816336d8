import Foundation

/// How a policy network's output becomes an action in [−1, 1].
public enum PolicyHeadKind: String, Sendable, Hashable {
    /// Output `[μ | raw]` (2A values) read by ``TanhGaussianHead``; deterministic action `tanh(μ)`;
    /// the trainable scalars `m`, `c` are stored with the network.
    case tanhGaussian = "tanh_gaussian"
    /// Output A values; action `tanh(output)` (e.g. a deterministic actor trained elsewhere).
    case tanh
}

/// A policy on disk: the network, its head, observation normalisation, action scale and
/// provenance, in one `.safetensors` file.
///
/// Tensors: `policy.<i>.weight` `[out, in]`, `policy.<i>.bias` `[out]` for affine layer `i`
/// (0-based), and for the tanh-Gaussian head `policy.log_std_scale` `[1]` (m) and
/// `policy.log_std_bias` `[1]` (c). Metadata (all strings, lists as JSON text):
///
/// | key | value |
/// |---|---|
/// | `format` | `pt` |
/// | `policy.layer_sizes` | `[S, H, …, out]` |
/// | `policy.activations` | `["relu", …, "identity"]`, one per layer |
/// | `policy.head` | `tanh_gaussian` or `tanh` |
/// | `policy.observation_mean`, `policy.observation_std` | S numbers each; the network sees `(obs − mean)/std` |
/// | `policy.action_scale` | A numbers; the robot command is `scale · a` with `a ∈ [−1, 1]` |
/// | `provenance.<key>` | free-form strings (algorithm, run id, seed, dataset, git commit, date…) |
///
/// Loading validates every field and throws ``SafeTensorsError`` naming the file, the problem and
/// the fix. Set-up code: allocates and throws.
public struct PolicyFile: ~Copyable, Sendable {
    /// The policy network (input S, output 2A or A).
    public var network: MLP
    /// How the output becomes an action.
    public var head: PolicyHeadKind
    /// Trainable `m` of logσ = clamp(m·raw + c, −20, 2) (tanh-Gaussian head; 1 otherwise).
    public var logStdScale: Float
    /// Trainable `c` of logσ (tanh-Gaussian head; 0 otherwise).
    public var logStdBias: Float
    /// Subtracted from each observation before the network.
    public var observationMean: [Float]
    /// Each observation is divided by this (all > 0).
    public var observationStd: [Float]
    /// Robot command = `actionScale · a`.
    public var actionScale: [Float]
    /// Free-form provenance (written as `provenance.<key>` metadata).
    public var provenance: [String: String]

    /// Observations the policy reads.
    public var observationSize: Int { network.shape.inputSize }
    /// Actions it writes.
    public var actionSize: Int {
        head == .tanhGaussian ? network.shape.outputSize / 2 : network.shape.outputSize
    }

    /// A policy around `network` with identity normalisation and unit action scale unless given.
    public init(
        network: consuming MLP, head: PolicyHeadKind, logStdScale: Float = 1, logStdBias: Float = -1,
        observationMean: [Float]? = nil, observationStd: [Float]? = nil, actionScale: [Float]? = nil,
        provenance: [String: String] = [:]
    ) {
        let s = network.shape.inputSize
        let a = head == .tanhGaussian ? network.shape.outputSize / 2 : network.shape.outputSize
        precondition(
            head != .tanhGaussian || network.shape.outputSize % 2 == 0,
            "PolicyFile: a tanh-Gaussian head needs an even output size (μ and raw)")
        self.network = network
        self.head = head
        self.logStdScale = logStdScale
        self.logStdBias = logStdBias
        self.observationMean = observationMean ?? [Float](repeating: 0, count: s)
        self.observationStd = observationStd ?? [Float](repeating: 1, count: s)
        self.actionScale = actionScale ?? [Float](repeating: 1, count: a)
        self.provenance = provenance
        precondition(
            self.observationMean.count == s && self.observationStd.count == s,
            "PolicyFile: normalisation must have one entry per observation")
        precondition(self.actionScale.count == a, "PolicyFile: action scale must have one entry per action")
    }

    /// Widest layer a policy file may declare (a 65536×65536 layer is already 16 GiB).
    public static let maximumWidth = 65_536
    /// Most affine layers a policy file may declare.
    public static let maximumLayers = 256
    /// Largest `action_scale` entry accepted on load (robot units, e.g. N·m). The robot's own
    /// torque limit bounds it further where the policy meets a robot.
    public static let maximumActionScale: Float = 1_000_000

    // MARK: Files

    /// Reads and validates the policy at `path`.
    public static func load(path: String) throws(SafeTensorsError) -> PolicyFile {
        try PolicyFile(tensors: SafeTensors.read(path: path))
    }

    /// Writes the policy to `path` (atomically).
    public func save(path: String) throws(SafeTensorsError) {
        try tensors().write(path: path)
    }

    /// The tensors and metadata of this policy.
    public func tensors() -> SafeTensors {
        var t = SafeTensors()
        t.insert(network, prefix: "policy")
        if head == .tanhGaussian {
            t.tensors["policy.log_std_scale"] = SafeTensors.Tensor(shape: [1], values: [logStdScale])
            t.tensors["policy.log_std_bias"] = SafeTensors.Tensor(shape: [1], values: [logStdBias])
        }
        t.metadata["format"] = "pt"
        t.metadata["policy.layer_sizes"] =
            "[" + network.shape.layerSizes.map(String.init).joined(separator: ",") + "]"
        t.metadata["policy.activations"] =
            "[" + network.shape.activations.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]"
        t.metadata["policy.head"] = head.rawValue
        t.metadata["policy.observation_mean"] = Self.numberList(observationMean)
        t.metadata["policy.observation_std"] = Self.numberList(observationStd)
        t.metadata["policy.action_scale"] = Self.numberList(actionScale)
        for (k, v) in provenance { t.metadata["provenance." + k] = v }
        return t
    }

    /// The gains that turn this policy's `tanh(μ)` into the action of a task whose command is
    /// `actionUnit · u` for `u ∈ [−1, 1]`: `actionScale / actionUnit`, each in (0, 1]. Throws,
    /// naming `source`, when a scale exceeds the task's range (the robot would be asked for more
    /// than the task allows) or the sizes differ.
    public func commandGain(actionUnit: [Float], source: String) throws(SafeTensorsError) -> [Float] {
        guard actionUnit.count == actionScale.count else {
            throw SafeTensorsError(
                file: source,
                problem: "metadata 'policy.action_scale' has \(actionScale.count) values, the task has \(actionUnit.count) actions",
                fix: "pass a policy trained for this task")
        }
        var gains: [Float] = []
        for (j, (scale, unit)) in zip(actionScale, actionUnit).enumerated() {
            precondition(unit > 0 && unit.isFinite, "PolicyFile.commandGain: the task's action unit must be finite and > 0")
            // A relative tolerance of 1e-6: a scale written as the limit itself must pass.
            guard scale > 0, scale <= unit * (1 + 1e-6) else {
                throw SafeTensorsError(
                    file: source,
                    problem: "metadata 'policy.action_scale' entry \(j) is \(scale), outside the task's command range (0, \(unit)]",
                    fix: "store an action_scale of at most \(unit) (the task's torque limit)")
            }
            gains.append(min(1, scale / unit))
        }
        return gains
    }

    /// Floats as JSON numbers that read back to the same Float (shortest round-trip form).
    static func numberList(_ values: [Float]) -> String {
        "[" + values.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]"
    }

    /// Builds and validates a policy from decoded tensors.
    public init(tensors t: SafeTensors) throws(SafeTensorsError) {
        let file = t.source
        func fail(_ problem: String, _ fix: String) -> SafeTensorsError {
            SafeTensorsError(file: file, problem: problem, fix: fix)
        }
        let writeHint =
            "write policies with PolicyFile.save or Tests/Fixtures/fixednn/make_policy.py's naming"
        func entry(_ key: String) throws(SafeTensorsError) -> String {
            guard let v = t.metadata[key] else {
                throw fail("metadata '\(key)' is missing (not a FixedNN policy file?)", writeHint)
            }
            return v
        }
        func list(_ key: String) throws(SafeTensorsError) -> [Any] {
            let text = try entry(key)
            guard let data = text.data(using: .utf8),
                let parsed = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
                    as? [Any]
            else { throw fail("metadata '\(key)' is not a JSON list: \(text.prefix(60))", writeHint) }
            return parsed
        }
        func floats(_ key: String, count: Int) throws(SafeTensorsError) -> [Float] {
            let items = try list(key)
            var out: [Float] = []
            for item in items {
                // Finite as a Float too: 1e39 is a finite Double but an infinite Float.
                guard let n = SafeTensors.jsonNumber(item), Float(n.doubleValue).isFinite else {
                    throw fail(
                        "metadata '\(key)' holds a value that is not a finite 32-bit number (\(item))", writeHint)
                }
                out.append(Float(n.doubleValue))
            }
            guard out.count == count else {
                throw fail(
                    "metadata '\(key)' has \(out.count) values, expected \(count)",
                    "one value per observation/action")
            }
            return out
        }
        let sizeItems = try list("policy.layer_sizes")
        var sizes: [Int] = []
        for item in sizeItems {
            guard let n = SafeTensors.jsonNumber(item), n.doubleValue == n.doubleValue.rounded(),
                n.doubleValue >= 1
            else {
                throw fail(
                    "metadata 'policy.layer_sizes' holds a value that is not a positive integer", writeHint)
            }
            guard n.doubleValue <= Double(Self.maximumWidth) else {
                throw fail(
                    "metadata 'policy.layer_sizes' declares a layer \(n.doubleValue) wide (limit \(Self.maximumWidth))",
                    "use layers of at most \(Self.maximumWidth) units")
            }
            sizes.append(n.intValue)
        }
        guard sizes.count >= 2 else {
            throw fail("metadata 'policy.layer_sizes' needs at least input and output sizes", writeHint)
        }
        guard sizes.count <= Self.maximumLayers + 1 else {
            throw fail(
                "metadata 'policy.layer_sizes' declares \(sizes.count - 1) layers (limit \(Self.maximumLayers))",
                "use at most \(Self.maximumLayers) affine layers")
        }
        var activations: [Activation] = []
        for item in try list("policy.activations") {
            guard let name = item as? String, let a = Activation(rawValue: name) else {
                throw fail(
                    "metadata 'policy.activations' holds an unknown activation \(item)",
                    "use relu, tanh or identity")
            }
            activations.append(a)
        }
        guard activations.count == sizes.count - 1 else {
            throw fail(
                "metadata 'policy.activations' has \(activations.count) entries for \(sizes.count - 1) layers",
                "one activation per affine layer")
        }
        guard let head = PolicyHeadKind(rawValue: try entry("policy.head")) else {
            throw fail(
                "metadata 'policy.head' is '\(t.metadata["policy.head"] ?? "")'", "use tanh_gaussian or tanh")
        }
        let shape = MLPShape(layerSizes: sizes, activations: activations)
        if head == .tanhGaussian && shape.outputSize % 2 != 0 {
            throw fail(
                "a tanh_gaussian policy needs an even output size (μ and raw), got \(shape.outputSize)",
                "the network's last layer must have 2 × action size outputs")
        }
        let actionSize = head == .tanhGaussian ? shape.outputSize / 2 : shape.outputSize
        let mean = try floats("policy.observation_mean", count: shape.inputSize)
        let std = try floats("policy.observation_std", count: shape.inputSize)
        if let bad = std.firstIndex(where: { !($0 > 0) }) {
            throw fail(
                "metadata 'policy.observation_std' entry \(bad) is \(std[bad]); standard deviations must be > 0",
                "replace zero deviations by 1")
        }
        let scale = try floats("policy.action_scale", count: actionSize)
        if let bad = scale.firstIndex(where: { !($0 > 0 && $0 <= Self.maximumActionScale) }) {
            throw fail(
                "metadata 'policy.action_scale' entry \(bad) is \(scale[bad]); it must be > 0 and ≤ \(Self.maximumActionScale)",
                "store the robot command per unit action (e.g. the torque limit in N·m)")
        }
        let network = try t.network(prefix: "policy", shape: shape)
        var m: Float = 1, c: Float = 0
        if head == .tanhGaussian {
            m = try t.tensor("policy.log_std_scale", shape: [1]).values[0]
            c = try t.tensor("policy.log_std_bias", shape: [1]).values[0]
        }
        var provenance: [String: String] = [:]
        for (k, v) in t.metadata where k.hasPrefix("provenance.") {
            provenance[String(k.dropFirst("provenance.".count))] = v
        }
        self.init(
            network: network, head: head, logStdScale: m, logStdBias: c, observationMean: mean,
            observationStd: std,
            actionScale: scale, provenance: provenance)
    }
}
