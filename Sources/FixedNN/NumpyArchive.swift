// Reading and writing numpy's `.npy` arrays and `.npz` archives, so that datasets, golden
// fixtures and benchmark inputs move between this project and numpy/JAX/PyTorch unchanged.
//
// Supported: little-endian float32, float64, int32, int64, bool and uint8 arrays in C order,
// .npy format versions 1.0, 2.0 and 3.0, and .npz archives whose entries are *stored*
// (what `np.savez` writes, zip64 extras included). Archives written by
// `np.savez_compressed` (deflate) are rejected with an error that says to use `np.savez`.
//
// Set-up code: everything here allocates and may throw. Not for a real-time path.

import Foundation

/// An n-dimensional numpy array: element type, shape and raw little-endian bytes in C order.
///
/// A value type; copying shares the byte storage until one copy is mutated.
public struct NumpyArray: Sendable, Equatable {
    /// The element types this reader and writer support, with numpy's `descr` strings.
    public enum DType: String, Sendable, CaseIterable {
        case float32 = "<f4"
        case float64 = "<f8"
        case int32 = "<i4"
        case int64 = "<i8"
        case bool = "|b1"
        case uint8 = "|u1"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .float32, .int32: 4
            case .float64, .int64: 8
            case .bool, .uint8: 1
            }
        }

        /// Parses a numpy `descr` ("<f4", "|b1", "=i8", ...); nil when not supported.
        init?(descr: String) {
            guard let first = descr.first else { return nil }
            var code = descr
            if first == "<" || first == "|" || first == "=" { code.removeFirst() }
            if first == ">" && !(descr == ">b1" || descr == ">u1") { return nil }
            if first == ">" { code.removeFirst() }
            switch code {
            case "f4": self = .float32
            case "f8": self = .float64
            case "i4": self = .int32
            case "i8": self = .int64
            case "b1", "?": self = .bool
            case "u1", "B": self = .uint8
            default: return nil
            }
        }
    }

    /// Element type.
    public var dtype: DType
    /// Dimensions, outermost first (C order). `[]` is a scalar.
    public var shape: [Int]
    /// Raw little-endian element bytes, `count * dtype.size` of them.
    public var bytes: [UInt8]

    /// Number of elements (the product of `shape`; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// An array from raw little-endian bytes. Precondition: the byte count matches the shape.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(
            bytes.count == shape.reduce(1, *) * dtype.size,
            "\(bytes.count) bytes do not hold a \(dtype) array of shape \(shape)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 array. `shape` defaults to one dimension of `values.count`.
    public init(_ values: [Float], shape: [Int]? = nil) {
        self.init(dtype: .float32, shape: shape ?? [values.count], bytes: Self.pack(values))
    }

    /// A float64 array. `shape` defaults to one dimension of `values.count`.
    public init(_ values: [Double], shape: [Int]? = nil) {
        self.init(dtype: .float64, shape: shape ?? [values.count], bytes: Self.pack(values))
    }

    /// An int32 array. `shape` defaults to one dimension of `values.count`.
    public init(_ values: [Int32], shape: [Int]? = nil) {
        self.init(dtype: .int32, shape: shape ?? [values.count], bytes: Self.pack(values))
    }

    /// An int64 array. `shape` defaults to one dimension of `values.count`.
    public init(_ values: [Int64], shape: [Int]? = nil) {
        self.init(dtype: .int64, shape: shape ?? [values.count], bytes: Self.pack(values))
    }

    /// A bool array (one byte per element, 0 or 1). `shape` defaults to one dimension.
    public init(_ values: [Bool], shape: [Int]? = nil) {
        self.init(dtype: .bool, shape: shape ?? [values.count], bytes: values.map { $0 ? 1 : 0 })
    }

    /// A uint8 array. `shape` defaults to one dimension of `values.count`.
    public init(_ values: [UInt8], shape: [Int]? = nil) {
        self.init(dtype: .uint8, shape: shape ?? [values.count], bytes: values)
    }

    /// The elements as Float, converting from any supported type (float64 is rounded, bool
    /// is 0 or 1).
    public func floats() -> [Float] {
        switch dtype {
        case .float32: return unpack(Float.self)
        case .float64: return unpack(Double.self).map { Float($0) }
        case .int32: return unpack(Int32.self).map { Float($0) }
        case .int64: return unpack(Int64.self).map { Float($0) }
        case .bool, .uint8: return bytes.map { Float($0) }
        }
    }

    /// The elements as Double, converting from any supported type.
    public func doubles() -> [Double] {
        switch dtype {
        case .float32: return unpack(Float.self).map { Double($0) }
        case .float64: return unpack(Double.self)
        case .int32: return unpack(Int32.self).map { Double($0) }
        case .int64: return unpack(Int64.self).map { Double($0) }
        case .bool, .uint8: return bytes.map { Double($0) }
        }
    }

    /// The elements as Int, converting from integer and bool types; nil for float arrays.
    public func ints() -> [Int]? {
        switch dtype {
        case .float32, .float64: return nil
        case .int32: return unpack(Int32.self).map { Int($0) }
        case .int64: return unpack(Int64.self).map { Int($0) }
        case .bool, .uint8: return bytes.map { Int($0) }
        }
    }

    /// The elements as Bool (nonzero is true), from any supported type.
    public func bools() -> [Bool] {
        switch dtype {
        case .bool, .uint8: return bytes.map { $0 != 0 }
        default: return doubles().map { $0 != 0 }
        }
    }

    private func unpack<T: FixedWidthNumeric>(_: T.Type) -> [T] {
        let n = count
        return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                for i in 0..<n { buffer[i] = T.fromLittleEndianBytes(raw, at: i * MemoryLayout<T>.size) }
            }
            initialized = n
        }
    }

    private static func pack<T: FixedWidthNumeric>(_ values: [T]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values { v.appendLittleEndianBytes(to: &out) }
        return out
    }
}

/// Numbers with a fixed little-endian byte layout (the element types of `NumpyArray`).
protocol FixedWidthNumeric {
    static func fromLittleEndianBytes(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Self
    func appendLittleEndianBytes(to out: inout [UInt8])
}

extension Float: FixedWidthNumeric {
    static func fromLittleEndianBytes(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }
    func appendLittleEndianBytes(to out: inout [UInt8]) { bitPattern.appendLittleEndianBytes(to: &out) }
}

extension Double: FixedWidthNumeric {
    static func fromLittleEndianBytes(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Double {
        Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
    }
    func appendLittleEndianBytes(to out: inout [UInt8]) { bitPattern.appendLittleEndianBytes(to: &out) }
}

extension Int32: FixedWidthNumeric {
    static func fromLittleEndianBytes(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int32 {
        Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }
    func appendLittleEndianBytes(to out: inout [UInt8]) { UInt32(bitPattern: self).appendLittleEndianBytes(to: &out) }
}

extension Int64: FixedWidthNumeric {
    static func fromLittleEndianBytes(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int64 {
        Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }
    func appendLittleEndianBytes(to out: inout [UInt8]) { UInt64(bitPattern: self).appendLittleEndianBytes(to: &out) }
}

extension UInt32 {
    func appendLittleEndianBytes(to out: inout [UInt8]) {
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: self >> (8 * k))) }
    }
}

extension UInt64 {
    func appendLittleEndianBytes(to out: inout [UInt8]) {
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: self >> (8 * k))) }
    }
}

extension UInt16 {
    func appendLittleEndianBytes(to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: self))
        out.append(UInt8(truncatingIfNeeded: self >> 8))
    }
}

/// A problem reading or writing a .npy/.npz file: names the file (and entry), the problem
/// and the fix in one line.
public struct NumpyArchiveError: Error, CustomStringConvertible, Equatable {
    /// The one-line message.
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Reads and writes `.npy` arrays and `.npz` archives (see the file comment for what is
/// supported). Set-up code: allocates and throws.
public enum NumpyArchive {
    // MARK: .npy

    /// Decodes one `.npy` file's bytes. `source` names the file (or archive entry) in errors.
    public static func decodeNPY(_ data: [UInt8], source: String) throws -> NumpyArray {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard data.count >= 10, Array(data[0..<6]) == magic else {
            throw NumpyArchiveError("\(source): not a .npy array (no \\x93NUMPY magic); save it with np.save or np.savez")
        }
        let major = data[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(data[8]) | Int(data[9]) << 8
            headerStart = 10
        case 2, 3:
            guard data.count >= 12 else { throw NumpyArchiveError("\(source): truncated .npy header; re-save the array") }
            headerLength = (0..<4).reduce(0) { $0 | Int(data[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw NumpyArchiveError("\(source): .npy format version \(major).\(data[7]) is not supported (1.0-3.0 are); re-save with a current numpy")
        }
        guard headerStart + headerLength <= data.count else {
            throw NumpyArchiveError("\(source): truncated .npy header; re-save the array")
        }
        guard let header = String(bytes: data[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw NumpyArchiveError("\(source): unreadable .npy header; re-save the array")
        }
        let (descr, fortran, shape) = try parseHeader(header, source: source)
        guard let dtype = NumpyArray.DType(descr: descr) else {
            throw NumpyArchiveError("\(source): dtype '\(descr)' is not supported (little-endian f4, f8, i4, i8, b1, u1 are); convert with arr.astype(np.float32)")
        }
        if fortran && shape.filter({ $0 > 1 }).count > 1 {
            throw NumpyArchiveError("\(source): array is in Fortran order; save np.ascontiguousarray(arr) instead")
        }
        let start = headerStart + headerLength
        // The declared size, checked step by step against the data actually present (a shape
        // whose product overflows, or exceeds the file, is refused before anything is allocated).
        // No dimension may exceed the file's size either: a shape such as (10^12, 0) holds no
        // data but would make a reader size its buffers by the first dimension.
        var needed = dtype.size
        for dimension in shape {
            let (product, overflow) = needed.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= data.count - start, dimension <= data.count else {
                throw NumpyArchiveError("\(source): shape \(shape) of \(descr) declares more data than the \(data.count - start) bytes the file holds; the header is corrupt or the file truncated, re-save it")
            }
            needed = product
        }
        guard data.count - start >= needed else {
            throw NumpyArchiveError("\(source): holds \(data.count - start) data bytes but shape \(shape) of \(descr) needs \(needed); the file is truncated, re-save it")
        }
        return NumpyArray(dtype: dtype, shape: shape, bytes: Array(data[start..<(start + needed)]))
    }

    /// Encodes an array as a version 1.0 `.npy` file (version 2.0 if the header needs it).
    public static func encodeNPY(_ array: NumpyArray) -> [UInt8] {
        let shapeText: String
        switch array.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(array.shape[0]),)"
        default: shapeText = "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(array.dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let v1 = 10 + header.utf8.count + 1 <= 65535 + 10
        let prefix = v1 ? 10 : 12
        let total = prefix + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, v1 ? 1 : 2, 0]
        if v1 {
            UInt16(header.utf8.count).appendLittleEndianBytes(to: &out)
        } else {
            UInt32(header.utf8.count).appendLittleEndianBytes(to: &out)
        }
        out += Array(header.utf8)
        out += array.bytes
        return out
    }

    /// Reads a `.npy` file.
    public static func readNPY(path: String) throws -> NumpyArray {
        try decodeNPY(readFile(path), source: path)
    }

    /// Writes a `.npy` file.
    public static func writeNPY(_ array: NumpyArray, path: String) throws {
        try writeFile(encodeNPY(array), path: path)
    }

    // MARK: .npz

    /// Reads every array of a `.npz` archive written by `np.savez` (stored entries), keyed by
    /// name without the `.npy` suffix.
    public static func readNPZ(path: String) throws -> [String: NumpyArray] {
        try decodeNPZ(readFile(path), source: path)
    }

    /// Decodes a `.npz` archive's bytes. `source` names the file in errors.
    public static func decodeNPZ(_ data: [UInt8], source: String) throws -> [String: NumpyArray] {
        var result: [String: NumpyArray] = [:]
        for entry in try ZipReader.entries(data, source: source) {
            guard entry.method == 0 else {
                throw NumpyArchiveError("\(source): entry '\(entry.name)' is compressed (method \(entry.method)); np.savez_compressed archives are not supported, write it with np.savez")
            }
            guard entry.name.hasSuffix(".npy") else { continue }
            let key = String(entry.name.dropLast(4))
            // `entries` checked that the stored bytes lie inside the archive.
            let bytes = Array(data[entry.dataOffset..<(entry.dataOffset + entry.size)])
            guard crc32(bytes) == entry.crc else {
                throw NumpyArchiveError("\(source): entry '\(entry.name)' fails its CRC check; the archive is corrupt, re-create it")
            }
            result[key] = try decodeNPY(bytes, source: "\(source)[\(key)]")
        }
        return result
    }

    /// Writes a `.npz` archive of stored entries (readable by `np.load`), entries in the
    /// order given. Names must be unique.
    public static func writeNPZ(_ arrays: [(name: String, array: NumpyArray)], path: String) throws {
        try writeFile(encodeNPZ(arrays), path: path)
    }

    /// Writes a `.npz` archive with entries sorted by name.
    public static func writeNPZ(_ arrays: [String: NumpyArray], path: String) throws {
        try writeNPZ(arrays.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, path: path)
    }

    /// Encodes a `.npz` archive of stored entries.
    public static func encodeNPZ(_ arrays: [(name: String, array: NumpyArray)]) -> [UInt8] {
        precondition(Set(arrays.map(\.name)).count == arrays.count, "duplicate array names in npz")
        var out = [UInt8]()
        var central = [UInt8]()
        for (name, array) in arrays {
            let fileName = Array((name + ".npy").utf8)
            let payload = encodeNPY(array)
            precondition(payload.count < 0xFFFF_FFFF && out.count < 0xFFFF_FFFF, "npz entry too large for a zip32 archive")
            let crc = crc32(payload)
            let offset = UInt32(out.count)
            // Local file header.
            UInt32(0x0403_4B50).appendLittleEndianBytes(to: &out)
            UInt16(20).appendLittleEndianBytes(to: &out)  // version needed
            UInt16(0).appendLittleEndianBytes(to: &out)  // flags
            UInt16(0).appendLittleEndianBytes(to: &out)  // stored
            UInt16(0).appendLittleEndianBytes(to: &out)  // time
            UInt16(0x21).appendLittleEndianBytes(to: &out)  // date 1980-01-01
            crc.appendLittleEndianBytes(to: &out)
            UInt32(payload.count).appendLittleEndianBytes(to: &out)
            UInt32(payload.count).appendLittleEndianBytes(to: &out)
            UInt16(fileName.count).appendLittleEndianBytes(to: &out)
            UInt16(0).appendLittleEndianBytes(to: &out)
            out += fileName
            out += payload
            // Central directory record.
            UInt32(0x0201_4B50).appendLittleEndianBytes(to: &central)
            UInt16(20).appendLittleEndianBytes(to: &central)  // made by
            UInt16(20).appendLittleEndianBytes(to: &central)  // needed
            UInt16(0).appendLittleEndianBytes(to: &central)
            UInt16(0).appendLittleEndianBytes(to: &central)
            UInt16(0).appendLittleEndianBytes(to: &central)
            UInt16(0x21).appendLittleEndianBytes(to: &central)
            crc.appendLittleEndianBytes(to: &central)
            UInt32(payload.count).appendLittleEndianBytes(to: &central)
            UInt32(payload.count).appendLittleEndianBytes(to: &central)
            UInt16(fileName.count).appendLittleEndianBytes(to: &central)
            UInt16(0).appendLittleEndianBytes(to: &central)  // extra
            UInt16(0).appendLittleEndianBytes(to: &central)  // comment
            UInt16(0).appendLittleEndianBytes(to: &central)  // disk
            UInt16(0).appendLittleEndianBytes(to: &central)  // internal attrs
            UInt32(0o600 << 16).appendLittleEndianBytes(to: &central)  // external attrs
            offset.appendLittleEndianBytes(to: &central)
            central += fileName
        }
        let centralOffset = UInt32(out.count)
        out += central
        UInt32(0x0605_4B50).appendLittleEndianBytes(to: &out)
        UInt16(0).appendLittleEndianBytes(to: &out)
        UInt16(0).appendLittleEndianBytes(to: &out)
        UInt16(arrays.count).appendLittleEndianBytes(to: &out)
        UInt16(arrays.count).appendLittleEndianBytes(to: &out)
        UInt32(central.count).appendLittleEndianBytes(to: &out)
        centralOffset.appendLittleEndianBytes(to: &out)
        UInt16(0).appendLittleEndianBytes(to: &out)
        return out
    }

    // MARK: Helpers

    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
    static func parseHeader(_ header: String, source: String) throws -> (String, Bool, [Int]) {
        func value(after key: String) -> Substring? {
            guard let r = header.range(of: "'\(key)':") ?? header.range(of: "\"\(key)\":") else { return nil }
            return header[r.upperBound...].drop { $0 == " " }
        }
        let bad = NumpyArchiveError("\(source): malformed .npy header '\(header.trimmingCharacters(in: .whitespacesAndNewlines))'; re-save the array with np.save")
        guard let d = value(after: "descr"), let quote = d.first, quote == "'" || quote == "\"",
            let end = d.dropFirst().firstIndex(of: quote)
        else { throw bad }
        let descr = String(d[d.index(after: d.startIndex)..<end])
        guard let f = value(after: "fortran_order") else { throw bad }
        let fortran = f.hasPrefix("True")
        guard let s = value(after: "shape"), s.first == "(", let close = s.firstIndex(of: ")") else { throw bad }
        let inner = s[s.index(after: s.startIndex)..<close]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let n = Int(t.hasSuffix("L") ? String(t.dropLast()) : t), n >= 0 else { throw bad }
            shape.append(n)
        }
        return (descr, fortran, shape)
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw NumpyArchiveError("\(path): no such file; check the path")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NumpyArchiveError("\(path): cannot be read; check its permissions")
        }
        return [UInt8](data)
    }

    static func writeFile(_ bytes: [UInt8], path: String) throws {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw NumpyArchiveError("\(path): cannot be written (\(error.localizedDescription)); check the directory exists and is writable")
        }
    }

    /// CRC-32 (IEEE 802.3, reflected, as zip uses).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc = crcTable[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}

/// The central-directory walk of a zip archive: enough of the format for numpy's archives
/// (zip32 and zip64, any compression method reported but only stored entries read).
enum ZipReader {
    struct Entry {
        var name: String
        var method: Int
        var crc: UInt32
        var size: Int
        var dataOffset: Int
    }

    static func entries(_ d: [UInt8], source: String) throws -> [Entry] {
        let corrupt = NumpyArchiveError("\(source): not a readable zip/.npz archive (no central directory); write it with np.savez")
        func u16(_ o: Int) throws -> Int {
            guard o >= 0, o + 2 <= d.count else { throw corrupt }
            return Int(d[o]) | Int(d[o + 1]) << 8
        }
        func u32(_ o: Int) throws -> Int { try u16(o) | u16(o + 2) << 16 }
        // Below 2^62, so that no sum of two of them overflows; offsets are checked against the
        // archive's size before use.
        func u64(_ o: Int) throws -> Int {
            let high = try u32(o + 4)
            guard high < 0x4000_0000 else { throw corrupt }
            return try u32(o) | high << 32
        }

        // End of central directory: scan back over a possible comment.
        guard d.count >= 22 else { throw corrupt }
        var eocd = -1
        var i = d.count - 22
        while i >= max(0, d.count - 22 - 65535) {
            if d[i] == 0x50 && d[i + 1] == 0x4B && d[i + 2] == 0x05 && d[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw corrupt }
        var count = try u16(eocd + 10)
        var cdOffset = try u32(eocd + 16)
        // Zip64 end of central directory locator just before.
        if (count == 0xFFFF || cdOffset == 0xFFFF_FFFF), eocd >= 20, try u32(eocd - 20) == 0x0706_4B50 {
            let z64 = try u64(eocd - 20 + 8)
            guard try u32(z64) == 0x0606_4B50 else { throw corrupt }
            count = try u64(z64 + 32)
            cdOffset = try u64(z64 + 48)
        }
        // Each central-directory record takes at least 46 bytes.
        guard count <= d.count / 46, cdOffset <= d.count else { throw corrupt }
        var entries: [Entry] = []
        var p = cdOffset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw corrupt }
            let method = try u16(p + 10)
            let crc = UInt32(try u32(p + 16))
            var compressed = try u32(p + 20)
            var size = try u32(p + 24)
            let nameLength = try u16(p + 28)
            let extraLength = try u16(p + 30)
            let commentLength = try u16(p + 32)
            var localOffset = try u32(p + 42)
            guard p + 46 + nameLength <= d.count else { throw corrupt }
            let name = String(decoding: d[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            // Zip64 extended information: present fields are those set to 0xFFFFFFFF.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e)
                let len = try u16(e + 2)
                if id == 0x0001 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF { size = try u64(q); q += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try u64(q); q += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try u64(q); q += 8 }
                }
                e += 4 + len
            }
            guard localOffset <= d.count, compressed <= d.count else {
                throw NumpyArchiveError("\(source): entry '\(name)' declares an offset or size beyond the \(d.count)-byte archive; the archive is corrupt, re-create it with np.savez")
            }
            guard try u32(localOffset) == 0x0403_4B50 else { throw corrupt }
            let dataOffset = try localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28)
            guard dataOffset + compressed <= d.count else {
                throw NumpyArchiveError("\(source): entry '\(name)' runs past the end of the file; the archive is truncated")
            }
            guard method != 0 || size == compressed else {
                throw NumpyArchiveError("\(source): stored entry '\(name)' declares \(size) bytes but holds \(compressed); the archive is corrupt, re-create it with np.savez")
            }
            entries.append(Entry(name: name, method: method, crc: crc, size: method == 0 ? size : compressed, dataOffset: dataOffset))
            p = extraEnd + commentLength
        }
        return entries
    }
}
