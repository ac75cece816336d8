import Foundation

/// A robot or task file that cannot be used, in one line naming the file, the field, the
/// problem and the fix: `robots/arm.json: joints[1].limits.velocity: -1 must be > 0; …`.
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let field: String
    public let problem: String
    public var description: String { field.isEmpty ? "\(file): \(problem)" : "\(file): \(field): \(problem)" }
    public init(file: String, field: String, problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }
}

/// JSONSerialization gives `true`/`false` as NSNumber's boolean subclass, and `1 is Bool`
/// holds too: the dynamic type is what tells them apart.
private let booleanType = ObjectIdentifier(type(of: NSNumber(value: true) as Any))
func isJSONBoolean(_ v: Any) -> Bool { ObjectIdentifier(type(of: v)) == booleanType }

/// Strict typed access to one JSON object of a spec file: every read names its field path in
/// errors, and `finish()` rejects keys nobody read (a typo is an error, not a silent default).
///
/// Set-up only (allocates); not for the control thread.
struct SpecObject {
    let file: String
    let path: String
    let values: [String: Any]
    private var read = Set<String>()

    /// The largest spec file read (robot and task files are hand-written, a few KiB).
    static let maxFileBytes = 1 << 20

    /// Reads and parses `path`; the size is checked before anything is read.
    static func load(path: String) throws(SpecError) -> SpecObject {
        let fail = { (p: String) in SpecError(file: path, field: "", problem: p) }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw fail("does not exist; check the path (robot files live in robots/, task files in tasks/)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw fail("is not a regular file") }
        guard Int(info.st_size) <= maxFileBytes else {
            throw fail("is \(info.st_size) bytes; a robot or task file is at most \(maxFileBytes) bytes of JSON")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot be read; check its permissions") }
        return try parse(data, file: path)
    }

    static func parse(_ data: Data, file: String) throws(SpecError) -> SpecObject {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data, options: []) } catch {
            throw SpecError(file: file, field: "", problem: "is not valid JSON (\(error.localizedDescription)); check the brackets and commas")
        }
        guard let dict = object as? [String: Any] else {
            throw SpecError(file: file, field: "", problem: "must hold one JSON object { … }")
        }
        return SpecObject(file: file, path: "", values: dict)
    }

    init(file: String, path: String, values: [String: Any]) {
        self.file = file
        self.path = path
        self.values = values
    }

    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func fail(_ key: String, _ problem: String) -> SpecError { SpecError(file: file, field: field(key), problem: problem) }

    mutating func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    mutating func raw(_ key: String) -> Any? {
        read.insert(key)
        if values[key] is NSNull { return nil }
        return values[key]
    }

    mutating func string(_ key: String) throws(SpecError) -> String {
        guard let v = raw(key) else { throw fail(key, "is missing") }
        guard let s = v as? String, !s.isEmpty else { throw fail(key, "must be a non-empty string") }
        return s
    }

    mutating func optionalString(_ key: String) throws(SpecError) -> String? {
        guard has(key) else { _ = raw(key); return nil }
        return try string(key)
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>, default fallback: Double? = nil, unit: String = "") throws(SpecError) -> Double {
        guard let v = raw(key) else {
            if let fallback { return fallback }
            throw fail(key, "is missing; give a number in [\(range.lowerBound), \(range.upperBound)]\(unit.isEmpty ? "" : " " + unit)")
        }
        guard let n = v as? NSNumber, !isJSONBoolean(v) else { throw fail(key, "must be a number") }
        let x = n.doubleValue
        guard x.isFinite, range.contains(x) else {
            throw fail(key, "\(x) is outside [\(range.lowerBound), \(range.upperBound)]\(unit.isEmpty ? "" : " " + unit)")
        }
        return x
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>, default fallback: Int? = nil) throws(SpecError) -> Int {
        guard has(key) else {
            _ = raw(key)
            if let fallback { return fallback }
            throw fail(key, "is missing; give a whole number in [\(range.lowerBound), \(range.upperBound)]")
        }
        let x = try number(key, in: Double(range.lowerBound)...Double(range.upperBound))
        guard x == x.rounded() else { throw fail(key, "\(x) must be a whole number") }
        return Int(x)
    }

    mutating func bool(_ key: String, default fallback: Bool) throws(SpecError) -> Bool {
        guard let v = raw(key) else { return fallback }
        guard let n = v as? NSNumber, isJSONBoolean(v) else { throw fail(key, "must be true or false") }
        return n.boolValue
    }

    mutating func object(_ key: String) throws(SpecError) -> SpecObject {
        guard let v = raw(key) else { throw fail(key, "is missing") }
        guard let d = v as? [String: Any] else { throw fail(key, "must be a JSON object { … }") }
        return SpecObject(file: file, path: field(key), values: d)
    }

    mutating func optionalObject(_ key: String) throws(SpecError) -> SpecObject? {
        guard has(key) else { _ = raw(key); return nil }
        return try object(key)
    }

    mutating func objects(_ key: String, count range: ClosedRange<Int>) throws(SpecError) -> [SpecObject] {
        guard let v = raw(key) else { throw fail(key, "is missing") }
        guard let a = v as? [Any] else { throw fail(key, "must be a JSON array [ … ]") }
        guard range.contains(a.count) else {
            throw fail(key, "has \(a.count) entries; it needs \(range.lowerBound) to \(range.upperBound)")
        }
        var out: [SpecObject] = []
        for (i, e) in a.enumerated() {
            guard let d = e as? [String: Any] else { throw fail("\(key)[\(i)]", "must be a JSON object { … }") }
            out.append(SpecObject(file: file, path: "\(field(key))[\(i)]", values: d))
        }
        return out
    }

    mutating func strings(_ key: String) throws(SpecError) -> [String] {
        guard let v = raw(key) else { return [] }
        guard let a = v as? [String] else { throw fail(key, "must be an array of strings") }
        return a
    }

    /// A number pair [lo, hi] with lo ≤ hi.
    mutating func range(_ key: String, within bounds: ClosedRange<Double>) throws(SpecError) -> ClosedRange<Double>? {
        guard let v = raw(key) else { return nil }
        guard let a = v as? [NSNumber], a.count == 2 else { throw fail(key, "must be [min, max]") }
        let lo = a[0].doubleValue, hi = a[1].doubleValue
        guard lo.isFinite, hi.isFinite, bounds.contains(lo), bounds.contains(hi) else {
            throw fail(key, "[\(lo), \(hi)] must be finite and within [\(bounds.lowerBound), \(bounds.upperBound)]")
        }
        guard lo <= hi else { throw fail(key, "[\(lo), \(hi)] is inverted (min > max); swap the two values") }
        return lo...hi
    }

    /// One of `choices`.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, default fallback: T? = nil) throws(SpecError) -> T
    where T.RawValue == String {
        guard has(key) else {
            _ = raw(key)
            if let fallback { return fallback }
            throw fail(key, "is missing; one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let s = try string(key)
        guard let v = T(rawValue: s) else {
            throw fail(key, "'\(s)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    /// Rejects keys nobody read.
    func finish() throws(SpecError) {
        let unknown = Set(values.keys).subtracting(read).sorted()
        guard let first = unknown.first else { return }
        let known = read.sorted().joined(separator: ", ")
        throw fail(first, "is not a known field (known here: \(known)); check its spelling")
    }
}
