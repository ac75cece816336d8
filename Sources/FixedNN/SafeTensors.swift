import Foundation

/// Named tensors and string metadata in the `.safetensors` format (Hugging Face), read and
/// written without dependencies: the one implementation behind policies, checkpoints and
/// `robotctl train verify-step` files.
///
/// Format: an 8-byte little-endian `UInt64` header length `N`; `N` bytes of UTF-8 JSON mapping
/// each tensor name to `{"dtype":"F32","shape":[…],"data_offsets":[begin,end]}` plus an optional
/// `"__metadata__"` object of string values; then the data buffer, offsets relative to its start,
/// row-major (C order), little-endian. Supported dtypes: `F32`, `F64`, `I32`, `I64`, `BOOL`, `U8`
/// (any other is rejected). The reader checks the header against the file before touching data:
/// every offset in range, ranges matching shapes and dtypes, tensors contiguous and
/// non-overlapping and covering the whole buffer (the rules of the reference implementation),
/// `BOOL` bytes 0 or 1, and all `F32`/`F64` values finite unless asked otherwise. Readers of
/// network weights (``tensor(_:shape:dtype:)`` by default, ``readLayered(prefix:shape:into:)``)
/// further require `F32`.
///
/// The writer sorts tensors by name, writes metadata first, pads the header with spaces to a
/// multiple of 8 bytes (as the reference implementation does) and lays tensors out back to back
/// in name order, so files are byte-for-byte reproducible. Durable files (checkpoints) are
/// written by the caller as ``encode()`` plus an fsyncing atomic write; ``write(path:)`` is
/// Foundation's atomic replace without fsync.
///
/// Networks use PyTorch's `nn.Linear` naming: ``insert(_:prefix:)`` stores layer `i` of an
/// ``MLP`` as `<prefix>.<i>.weight` (shape `[out, in]`) and `<prefix>.<i>.bias` (shape `[out]`),
/// `i` counting affine layers from 0 (a `torch.nn.ModuleList` of `nn.Linear`; for an
/// `nn.Sequential` that interleaves activations, rename its indices 0, 2, 4 → 0, 1, 2). The
/// in-memory panel layout of ``MLPShape`` is translated through
/// ``MLPShape/weightIndex(layer:output:input:)`` in both directions.
///
/// Set-up code: allocates and throws ``SafeTensorsError``; never real-time.
public struct SafeTensors: Sendable {
    /// One tensor: dtype, shape and little-endian bytes in row-major order (the same value type
    /// as numpy arrays; ``NumpyArray/init(shape:values:)`` and ``NumpyArray/values`` give F32).
    public typealias Tensor = NumpyArray

    /// Tensors by name.
    public var tensors: [String: Tensor]
    /// The `__metadata__` strings.
    public var metadata: [String: String]
    /// Where these tensors came from (a path, or `"<memory>"`), used in error messages.
    public var source: String

    /// Largest header accepted (the reference implementation's limit).
    public static let maximumHeaderLength = 100_000_000

    /// An empty collection.
    public init(source: String = "<memory>") {
        tensors = [:]
        metadata = [:]
        self.source = source
    }

    // MARK: Files

    /// Reads and validates `path`. Values must be finite unless `allowNonFinite`.
    public static func read(
        path: String, allowNonFinite: Bool = false
    ) throws(SafeTensorsError) -> SafeTensors {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw SafeTensorsError(
                file: path, problem: "cannot read the file (\(Self.reason(error)))",
                fix: "check the path and its permissions")
        }
        return try decode(bytes, source: path, allowNonFinite: allowNonFinite)
    }

    /// Writes the encoded file to `path` atomically (temporary file, then rename).
    public func write(path: String) throws(SafeTensorsError) {
        do {
            try Data(encode()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SafeTensorsError(
                file: path, problem: "cannot write the file (\(Self.reason(error)))",
                fix: "check that the directory exists and is writable")
        }
    }

    private static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }

    // MARK: Encoding

    /// The file's bytes.
    public func encode() -> [UInt8] {
        let names = tensors.keys.sorted()
        var header = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let entries = metadata.keys.sorted().map {
                "\(Self.jsonString($0)):\(Self.jsonString(metadata[$0]!))"
            }
            fields.append("\"__metadata__\":{" + entries.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let end = offset + t.bytes.count
            let shape = t.shape.map(String.init).joined(separator: ",")
            fields.append(
                "\(Self.jsonString(name)):{\"dtype\":\"\(t.dtype.safetensorsName)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}"
            )
            offset = end
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for name in names { out.append(contentsOf: tensors[name]!.bytes) }
        return out
    }

    /// `s` as a JSON string literal.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out +=
                        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    // MARK: Decoding

    /// Parses and validates a file's bytes; `source` names it in errors.
    public static func decode(
        _ bytes: [UInt8], source: String = "<memory>", allowNonFinite: Bool = false
    )
        throws(SafeTensorsError) -> SafeTensors
    {
        func fail(_ problem: String, _ fix: String = "") -> SafeTensorsError {
            SafeTensorsError(file: source, problem: problem, fix: fix)
        }
        let notSafetensors = "re-export the file with safetensors' save_file, or restore it from a good copy"
        guard bytes.count >= 8 else {
            throw fail(
                "file is \(bytes.count) bytes, too short for the 8-byte header length (truncated or not a .safetensors file)",
                notSafetensors)
        }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard n <= UInt64(maximumHeaderLength) else {
            throw fail(
                "header length \(n) is implausible (limit \(maximumHeaderLength) bytes); not a .safetensors file or corrupted",
                notSafetensors)
        }
        let headerLength = Int(n)
        guard 8 + headerLength <= bytes.count else {
            throw fail(
                "header length \(headerLength) runs past the end of the \(bytes.count)-byte file (truncated)",
                notSafetensors)
        }
        guard headerLength >= 2, bytes[8] == UInt8(ascii: "{") else {
            throw fail(
                "header does not start with '{' (not a .safetensors file or corrupted)", notSafetensors)
        }
        let headerData = Data(bytes[8..<(8 + headerLength)])
        guard String(data: headerData, encoding: .utf8) != nil else {
            throw fail("header is not valid UTF-8 (corrupted)", notSafetensors)
        }
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
                throw fail("header is not a JSON object", notSafetensors)
            }
            root = object
        } catch let error as SafeTensorsError {
            throw error
        } catch {
            throw fail("header is not valid JSON (truncated or corrupted)", notSafetensors)
        }
        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        var result = SafeTensors(source: source)

        if let meta = root["__metadata__"] {
            guard let dict = meta as? [String: Any] else {
                throw fail("__metadata__ is not a JSON object", notSafetensors)
            }
            for (k, v) in dict {
                guard let s = v as? String else {
                    throw fail(
                        "__metadata__ entry '\(k)' is not a string (safetensors metadata values must be strings)",
                        "store numbers and lists as JSON text")
                }
                result.metadata[k] = s
            }
        }

        struct Entry {
            var name: String
            var dtype: NumpyArray.DType
            var shape: [Int]
            var begin: Int
            var end: Int
        }
        var entries: [Entry] = []
        for (name, value) in root where name != "__metadata__" {
            guard let info = value as? [String: Any] else {
                throw fail("tensor '\(name)' is not described by a JSON object", notSafetensors)
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw fail("tensor '\(name)' has no dtype", notSafetensors)
            }
            guard let dtype = NumpyArray.DType(safetensorsName: dtypeName) else {
                throw fail(
                    "tensor '\(name)' has dtype \(dtypeName); only \(NumpyArray.DType.allCases.map(\.safetensorsName).joined(separator: ", ")) are supported",
                    "convert before saving (torch: tensor.float(); numpy: array.astype(np.float32))")
            }
            guard let shapeAny = info["shape"] as? [Any], let shape = integers(shapeAny),
                shape.allSatisfy({ $0 >= 0 })
            else {
                throw fail(
                    "tensor '\(name)' has a shape that is not a list of non-negative integers", notSafetensors
                )
            }
            guard let offsetsAny = info["data_offsets"] as? [Any], let offsets = integers(offsetsAny),
                offsets.count == 2
            else {
                throw fail("tensor '\(name)' has data_offsets that are not two integers", notSafetensors)
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= 0 else {
                throw fail("tensor '\(name)' has negative data_offsets [\(begin), \(end)]", notSafetensors)
            }
            guard begin <= end else {
                throw fail(
                    "tensor '\(name)' has data_offsets [\(begin), \(end)] that end before they begin",
                    notSafetensors)
            }
            guard end <= dataLength else {
                throw fail(
                    "tensor '\(name)' data_offsets [\(begin), \(end)] run past the end of the \(dataLength)-byte data (truncated file?)",
                    notSafetensors)
            }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                // A dimension beyond the file's size is refused even when another is 0.
                guard !overflow, p <= dataLength, d <= bytes.count else {
                    throw fail(
                        "tensor '\(name)' shape \(shape) is larger than the file's data", notSafetensors)
                }
                elements = p
            }
            guard end - begin == dtype.size * elements else {
                throw fail(
                    "tensor '\(name)' spans \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(dtype.size * elements)",
                    notSafetensors)
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expected = 0
        var previous = ""
        for e in entries {
            if e.begin < expected {
                throw fail("tensors '\(previous)' and '\(e.name)' overlap in the data buffer", notSafetensors)
            }
            if e.begin > expected {
                throw fail(
                    "bytes \(expected)..<\(e.begin) of the data buffer belong to no tensor (offsets leave a gap)",
                    notSafetensors)
            }
            expected = e.end
            previous = e.name
        }
        guard expected == dataLength else {
            throw fail(
                "the data buffer has \(dataLength) bytes but the tensors cover \(expected) (trailing bytes or truncated header)",
                notSafetensors)
        }
        for e in entries {
            let tensor = NumpyArray(
                dtype: e.dtype, shape: e.shape,
                bytes: Array(bytes[(dataStart + e.begin)..<(dataStart + e.end)]))
            switch e.dtype {
            case .float32, .float64:
                if !allowNonFinite, let i = tensor.doubles().firstIndex(where: { !$0.isFinite }) {
                    throw fail(
                        "tensor '\(e.name)' holds \(tensor.doubles()[i]) at index \(i) (training diverged?)",
                        "use an earlier checkpoint or retrain")
                }
            case .bool:
                if let i = tensor.bytes.firstIndex(where: { $0 > 1 }) {
                    throw fail(
                        "tensor '\(e.name)' is BOOL but byte \(i) is \(tensor.bytes[i]), not 0 or 1 (corrupted)",
                        notSafetensors)
                }
            case .int32, .int64, .uint8:
                break
            }
            result.tensors[e.name] = tensor
        }
        return result
    }

    /// JSON numbers as exact Ints (nil if any is fractional, out of range or not a number).
    private static func integers(_ list: [Any]) -> [Int]? {
        var out: [Int] = []
        for item in list {
            guard let number = jsonNumber(item) else { return nil }
            let d = number.doubleValue
            guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
            out.append(Int(d))
        }
        return out
    }

    /// `item` as a JSON number (nil for strings, booleans, null, …). Foundation on Linux
    /// bridges `0`/`1` to `Bool` too, so booleans are told apart by their `objCType` "c".
    static func jsonNumber(_ item: Any) -> NSNumber? {
        guard let number = item as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        return number
    }

    // MARK: Networks and buffers

    /// Stores `network`'s parameters as `<prefix>.<i>.weight` `[out, in]` and `<prefix>.<i>.bias` `[out]`,
    /// and a LayerNorm's gain and bias as `<prefix>.<i>.norm.weight` and `<prefix>.<i>.norm.bias`
    /// `[out]` (PyTorch `nn.LayerNorm` names) for each hidden layer `i` of a `layerNorm` shape.
    public mutating func insert(_ network: borrowing MLP, prefix: String) {
        insertLayered(network.parameters, shape: network.shape, prefix: prefix)
    }

    /// Stores a buffer laid out like the parameters of `shape` (gradients, Adam moments) under
    /// the network naming (`<prefix>.<i>.weight`, `<prefix>.<i>.bias`).
    public mutating func insertLayered(_ buffer: borrowing FloatBuffer, shape: MLPShape, prefix: String) {
        precondition(
            buffer.count == shape.parameterCount, "SafeTensors.insertLayered: buffer does not match the shape"
        )
        for l in 0..<shape.layerCount {
            let (fanIn, fanOut) = (shape.layerSizes[l], shape.layerSizes[l + 1])
            let b = shape.biasOffset(ofLayer: l)
            var weight = [Float](repeating: 0, count: fanIn * fanOut)
            for o in 0..<fanOut {
                for i in 0..<fanIn {
                    weight[o * fanIn + i] =
                        buffer.baseAddress[shape.weightIndex(layer: l, output: o, input: i)]
                }
            }
            tensors["\(prefix).\(l).weight"] = Tensor(shape: [fanOut, fanIn], values: weight)
            tensors["\(prefix).\(l).bias"] = Tensor(
                shape: [fanOut],
                values: Array(UnsafeBufferPointer(start: buffer.baseAddress + b, count: fanOut)))
            if shape.hasLayerNorm(l) {
                let gain = shape.layerNormGainOffset(ofLayer: l), beta = shape.layerNormBiasOffset(ofLayer: l)
                tensors["\(prefix).\(l).norm.weight"] = Tensor(
                    shape: [fanOut], values: Array(UnsafeBufferPointer(start: buffer.baseAddress + gain, count: fanOut)))
                tensors["\(prefix).\(l).norm.bias"] = Tensor(
                    shape: [fanOut], values: Array(UnsafeBufferPointer(start: buffer.baseAddress + beta, count: fanOut)))
            }
        }
    }

    /// A network of `shape` whose parameters are `<prefix>.<i>.weight` / `.bias`.
    /// Every layer's tensors are checked against `shape` before the network is allocated, so a
    /// header declaring huge layers fails without allocating them.
    public func network(prefix: String, shape: MLPShape) throws(SafeTensorsError) -> MLP {
        for l in 0..<shape.layerCount {
            let (fanIn, fanOut) = (shape.layerSizes[l], shape.layerSizes[l + 1])
            _ = try tensor("\(prefix).\(l).weight", shape: [fanOut, fanIn])
            _ = try tensor("\(prefix).\(l).bias", shape: [fanOut])
        }
        var net = MLP(shape: shape)
        try readLayered(prefix: prefix, shape: shape, into: &net.parameters)
        return net
    }

    /// Fills `buffer` (laid out like the parameters of `shape`) from `<prefix>.<i>.weight` / `.bias`.
    public func readLayered(
        prefix: String, shape: MLPShape, into buffer: inout FloatBuffer
    ) throws(SafeTensorsError) {
        precondition(
            buffer.count == shape.parameterCount, "SafeTensors.readLayered: buffer does not match the shape")
        buffer.fill(0)
        for l in 0..<shape.layerCount {
            let (fanIn, fanOut) = (shape.layerSizes[l], shape.layerSizes[l + 1])
            let weight = try tensor("\(prefix).\(l).weight", shape: [fanOut, fanIn]).values
            let bias = try tensor("\(prefix).\(l).bias", shape: [fanOut]).values
            let b = shape.biasOffset(ofLayer: l)
            for o in 0..<fanOut {
                for i in 0..<fanIn {
                    buffer.baseAddress[shape.weightIndex(layer: l, output: o, input: i)] =
                        weight[o * fanIn + i]
                }
                buffer.baseAddress[b + o] = bias[o]
            }
            if shape.hasLayerNorm(l) {
                let gain = try tensor("\(prefix).\(l).norm.weight", shape: [fanOut]).values
                let beta = try tensor("\(prefix).\(l).norm.bias", shape: [fanOut]).values
                let g = shape.layerNormGainOffset(ofLayer: l), n = shape.layerNormBiasOffset(ofLayer: l)
                for o in 0..<fanOut {
                    buffer.baseAddress[g + o] = gain[o]
                    buffer.baseAddress[n + o] = beta[o]
                }
            }
        }
        if !shape.layerNorm, let norm = tensors.keys.sorted().first(where: { $0.hasPrefix(prefix + ".") && $0.contains(".norm.") }) {
            throw SafeTensorsError(
                file: source,
                problem: "tensor '\(norm)' is a LayerNorm parameter but \(shape) has no LayerNorm",
                fix: "load it with LayerNorm enabled (critic_layernorm true in the hyperparameters)")
        }
        if let extra = tensors.keys.sorted().first(where: {
            $0.hasPrefix(prefix + ".")
                && Int($0.dropFirst(prefix.count + 1).split(separator: ".").first ?? "")
                    .map { $0 >= shape.layerCount } == true
        }) {
            throw SafeTensorsError(
                file: source,
                problem:
                    "tensor '\(extra)' belongs to a layer beyond the \(shape.layerCount) layers of \(shape)",
                fix: "check the layer sizes in the metadata")
        }
    }

    /// Stores a flat buffer as a 1-D tensor `name`.
    public mutating func insert(_ buffer: borrowing FloatBuffer, name: String) {
        tensors[name] = Tensor(shape: [buffer.count], values: buffer.array)
    }

    /// Fills `buffer` from tensor `name`, which must hold exactly `buffer.count` values.
    public func read(_ name: String, into buffer: inout FloatBuffer) throws(SafeTensorsError) {
        let t = try tensor(name, shape: nil)
        guard t.count == buffer.count else {
            throw SafeTensorsError(
                file: source,
                problem: "tensor '\(name)' has \(t.count) values, expected \(buffer.count)",
                fix: "the file was written for a different network size")
        }
        for (i, v) in t.values.enumerated() { buffer.baseAddress[i] = v }
    }

    /// Tensor `name`, checked against `shape` when given and against `dtype` (default F32;
    /// nil accepts any).
    public func tensor(
        _ name: String, shape: [Int]?, dtype: NumpyArray.DType? = .float32
    ) throws(SafeTensorsError) -> Tensor {
        guard let t = tensors[name] else {
            throw SafeTensorsError(
                file: source, problem: "tensor '\(name)' is missing",
                fix: "tensor names follow <net>.<layer>.weight/.bias (see FixedNN README)")
        }
        if let shape, t.shape != shape {
            throw SafeTensorsError(
                file: source, problem: "tensor '\(name)' has shape \(t.shape), expected \(shape)",
                fix: "the file was written for a different network size")
        }
        if let dtype, t.dtype != dtype {
            throw SafeTensorsError(
                file: source,
                problem:
                    "tensor '\(name)' has dtype \(t.dtype.safetensorsName), expected \(dtype.safetensorsName)",
                fix: dtype == .float32
                    ? "convert before saving (torch: tensor.float(); numpy: array.astype(np.float32))"
                    : "rewrite the file with \(dtype.safetensorsName) for this tensor")
        }
        return t
    }
}

extension NumpyArray {
    /// An F32 tensor of `shape` holding `values` (`values.count` must equal the shape's product).
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "SafeTensors.Tensor: values do not fill the shape")
        self.init(values, shape: shape)
    }

    /// The elements of an F32 tensor (precondition: `dtype == .float32`; use ``floats()`` to
    /// convert other dtypes). Setting stores F32 values of the same count.
    public var values: [Float] {
        get {
            precondition(dtype == .float32, "NumpyArray.values: \(dtype) tensor, use floats()")
            return floats()
        }
        set {
            precondition(
                newValue.count == count, "NumpyArray.values: \(newValue.count) values for shape \(shape)")
            self = NumpyArray(newValue, shape: shape)
        }
    }
}

extension NumpyArray.DType {
    /// The dtype's name in a `.safetensors` header (`F32`, `F64`, `I32`, `I64`, `BOOL`, `U8`).
    public var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float64: "F64"
        case .int32: "I32"
        case .int64: "I64"
        case .bool: "BOOL"
        case .uint8: "U8"
        }
    }

    /// The dtype named `name` in a `.safetensors` header; nil when not supported.
    public init?(safetensorsName name: String) {
        guard let match = Self.allCases.first(where: { $0.safetensorsName == name }) else { return nil }
        self = match
    }
}
