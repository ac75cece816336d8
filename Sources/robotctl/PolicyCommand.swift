import ArgumentParser
import FixedNN
import Foundation

/// `robotctl policy`: look at and convert policy files.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Inspect policy files and export them for numpy or PyTorch.",
        discussion: "Example: robotctl policy info runs/latest/policy.safetensors",
        subcommands: [PolicyInfoCommand.self, PolicyExportCommand.self])
}

/// `robotctl policy info FILE`.
struct PolicyInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a policy's layer sizes, activations, head, normalisation, action scale and provenance.",
        discussion: """
            The file is loaded and validated as the control loop would load it; a problem is one \
            line naming the file, the problem and the fix.

            Example: robotctl policy info runs/latest/policy.safetensors --json
            """)

    @Argument(help: ArgumentHelp("The policy .safetensors file.", valueName: "file"))
    var file: String

    @Flag(help: "Print the information as JSON.")
    var json = false

    func run() throws {
        let p: PolicyFile
        do { p = try PolicyFile.load(path: file) } catch { throw UserError("\(error)") }
        let shape = p.network.shape
        if json {
            let out: [String: Any] = [
                "file": file, "layer_sizes": shape.layerSizes, "activations": shape.activations.map { "\($0)" },
                "head": p.head.rawValue, "parameters": shape.logicalParameterCount,
                "observation_size": p.observationSize, "action_size": p.actionSize,
                "observation_mean": p.observationMean.map(Double.init), "observation_std": p.observationStd.map(Double.init),
                "action_scale": p.actionScale.map(Double.init), "provenance": p.provenance,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            return
        }
        func list(_ v: [Float]) -> String { "[" + v.map { String(format: "%.4g", $0) }.joined(separator: ", ") + "]" }
        print("policy \(file)")
        print("  layers \(shape.layerSizes.map(String.init).joined(separator: " → ")), activations \(shape.activations.map { "\($0)" }.joined(separator: ", "))")
        print("  head \(p.head.rawValue): \(p.observationSize) observations → \(p.actionSize) actions, \(shape.logicalParameterCount) parameters")
        print("  observation normalisation: mean \(list(p.observationMean)), std \(list(p.observationStd))")
        print("  action scale \(list(p.actionScale))")
        if p.provenance.isEmpty {
            print("  provenance: (none)")
        } else {
            for (k, v) in p.provenance.sorted(by: { $0.key < $1.key }) { print("  provenance \(k): \(v)") }
        }
    }
}

/// `robotctl policy export FILE --output OUT.npz|OUT.safetensors`.
struct PolicyExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a policy's weights as a numpy .npz of plain arrays or as PyTorch-named safetensors.",
        discussion: """
            .npz: one array per layer (`layer<i>.weight` [out, in], `layer<i>.bias` [out]) plus \
            `observation_mean`, `observation_std`, `action_scale` and, for the tanh-Gaussian \
            head, `log_std_scale` and `log_std_bias`; load with numpy.load. .safetensors: the \
            names of a PyTorch `nn.Sequential` of Linear and activation modules (`<i>.weight`, \
            `<i>.bias` with i = 2·layer), loadable with `model.load_state_dict(safetensors.torch.load_file(F))`; \
            the normalisation and provenance travel in the metadata. Written through a temporary \
            file and a rename: an error leaves nothing behind.

            Example: robotctl policy export runs/latest/policy.safetensors --output policy.npz
            """)

    @Argument(help: ArgumentHelp("The policy .safetensors file.", valueName: "file"))
    var file: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The .npz or .safetensors file to write.", valueName: "file"))
    var output: String

    func validate() throws {
        guard output.hasSuffix(".npz") || output.hasSuffix(".safetensors") else {
            throw ValidationError("--output must end in .npz or .safetensors, got \(output)")
        }
    }

    func run() throws {
        let p: PolicyFile
        do { p = try PolicyFile.load(path: file) } catch { throw UserError("\(error)") }
        let t = p.tensors()
        let layers = p.network.shape.layerCount
        let temporary = output + ".partial-\(getpid())"
        do {
            if output.hasSuffix(".npz") {
                var arrays: [(name: String, array: NumpyArray)] = []
                for i in 0..<layers {
                    for part in ["weight", "bias"] {
                        let x = t.tensors["policy.\(i).\(part)"]!
                        arrays.append(("layer\(i).\(part)", NumpyArray(x.values, shape: x.shape)))
                    }
                }
                arrays.append(("observation_mean", NumpyArray(p.observationMean)))
                arrays.append(("observation_std", NumpyArray(p.observationStd)))
                arrays.append(("action_scale", NumpyArray(p.actionScale)))
                if p.head == .tanhGaussian {
                    arrays.append(("log_std_scale", NumpyArray([p.logStdScale])))
                    arrays.append(("log_std_bias", NumpyArray([p.logStdBias])))
                }
                try NumpyArchive.writeNPZ(arrays, path: temporary)
            } else {
                var torch = SafeTensors()
                for i in 0..<layers {
                    torch.tensors["\(2 * i).weight"] = t.tensors["policy.\(i).weight"]!
                    torch.tensors["\(2 * i).bias"] = t.tensors["policy.\(i).bias"]!
                }
                for (k, v) in t.metadata where k != "format" { torch.metadata["robotctl." + k] = v }
                torch.metadata["format"] = "pt"
                if p.head == .tanhGaussian {
                    torch.metadata["robotctl.policy.log_std_scale"] = "\(p.logStdScale)"
                    torch.metadata["robotctl.policy.log_std_bias"] = "\(p.logStdBias)"
                }
                try torch.write(path: temporary)
            }
            guard rename(temporary, output) == 0 else {
                throw UserError("\(output): cannot move the export into place (\(String(cString: strerror(errno)))); check the directory")
            }
        } catch {
            unlink(temporary)
            throw UserError("\(error)")
        }
        print("wrote \(output): \(layers) layers, \(p.network.shape.logicalParameterCount) parameters")
    }
}
