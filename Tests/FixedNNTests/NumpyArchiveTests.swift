import Foundation
import Testing

@testable import FixedNN

/// `np.savez(f, f32=[[1.5,-2,3.25],[0,1e-7,-0]] (float32), f64=[pi,-1e300], i32=[-3,7],
/// i64=[[2**40],[-5]], b=[True,False,True], u8=[0,255,7] (uint8), scalar=np.float32(4.5))`,
/// numpy 2.4, base64. Written by numpy with zip64 local headers, as every np.savez archive is.
private let savezArchive = """
    UEsDBC0AAAAAAAAAIQDYpvMO//////////8HABQAZjMyLm5weQEAEACYAAAAAAAAAJgAAAAAAAAAk05VTVBZAQB2AHsn
    ZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAg
    ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAUEAAAAAAlb/WMwAA
    AIBQSwMELQAAAAAAAAAhAMuGHJH//////////wcAFABmNjQubnB5AQAQAJAAAAAAAAAAkAAAAAAAAACTTlVNUFkBAHYA
    eydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAg
    ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgChgtRFT7IQlAnHUAiDzkN/5QSwME
    LQAAAAAAAAAhAEwuJg7//////////wcAFABpMzIubnB5AQAQAIgAAAAAAAAAiAAAAAAAAACTTlVNUFkBAHYAeydkZXNj
    cic6ICc8aTQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAg
    ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgCv3///8HAAAAUEsDBC0AAAAAAAAAIQBXLm8V
    //////////8HABQAaTY0Lm5weQEAEACQAAAAAAAAAJAAAAAAAAAAk05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2Zv
    cnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDEpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg
    ICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAEAAPv/////////UEsDBC0AAAAAAAAAIQAWk4y7////////
    //8FABQAYi5ucHkBABAAgwAAAAAAAACDAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJ3xiMScsICdmb3J0cmFuX29y
    ZGVyJzogRmFsc2UsICdzaGFwZSc6ICgzLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg
    ICAgICAgICAgICAgICAgICAgICAKAQABUEsDBC0AAAAAAAAAIQD00jMW//////////8GABQAdTgubnB5AQAQAIMAAAAA
    AAAAgwAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICd8dTEnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUn
    OiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg
    CgD/B1BLAwQtAAAAAAAAACEA3CLnJ///////////CgAUAHNjYWxhci5ucHkBABAAhAAAAAAAAACEAAAAAAAAAJNOVU1Q
    WQEAdgB7J2Rlc2NyJzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgpLCB9ICAgICAgICAg
    ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAACQQFBLAQItAy0AAAAA
    AAAAIQDYpvMOmAAAAJgAAAAHAAAAAAAAAAAAAACAAQAAAABmMzIubnB5UEsBAi0DLQAAAAAAAAAhAMuGHJGQAAAAkAAA
    AAcAAAAAAAAAAAAAAIAB0QAAAGY2NC5ucHlQSwECLQMtAAAAAAAAACEATC4mDogAAACIAAAABwAAAAAAAAAAAAAAgAGa
    AQAAaTMyLm5weVBLAQItAy0AAAAAAAAAIQBXLm8VkAAAAJAAAAAHAAAAAAAAAAAAAACAAVsCAABpNjQubnB5UEsBAi0D
    LQAAAAAAAAAhABaTjLuDAAAAgwAAAAUAAAAAAAAAAAAAAIABJAMAAGIubnB5UEsBAi0DLQAAAAAAAAAhAPTSMxaDAAAA
    gwAAAAYAAAAAAAAAAAAAAIAB3gMAAHU4Lm5weVBLAQItAy0AAAAAAAAAIQDcIucnhAAAAIQAAAAKAAAAAAAAAAAAAACA
    AZkEAABzY2FsYXIubnB5UEsFBgAAAAAHAAcAcwEAAFkFAAAAAA==
    """

/// `np.savez_compressed(f, x=np.zeros(3, np.float32))`, base64.
private let compressedArchive = """
    UEsDBC0AAAAIAAAAIQCp9psY//////////8FABQAeC5ucHkBABAAjAAAAAAAAABHAAAAAAAAAJvsF+obEMnIUMZQrZ6S
    WpxcpG6loG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GsY6mjoKtQoUAC4GJAAAUEsBAi0DLQAAAAgA
    AAAhAKn2mxhHAAAAjAAAAAUAAAAAAAAAAAAAAIABAAAAAHgubnB5UEsFBgAAAAABAAEAMwAAAH4AAAAAAA==
    """

private func decode(_ base64: String) -> [UInt8] {
    [UInt8](Data(base64Encoded: base64.filter { !$0.isWhitespace })!)
}

@Suite("NumpyArchive")
struct NumpyArchiveTests {
    @Test("reads every supported dtype from an archive numpy wrote")
    func readsNumpyArchive() throws {
        let arrays = try NumpyArchive.decodeNPZ(decode(savezArchive), source: "savez.npz")
        #expect(Set(arrays.keys) == ["f32", "f64", "i32", "i64", "b", "u8", "scalar"])
        let f32 = try #require(arrays["f32"])
        #expect(f32.dtype == .float32 && f32.shape == [2, 3])
        #expect(f32.floats() == [1.5, -2, 3.25, 0, 1e-7, -0.0])
        #expect(arrays["f64"]?.doubles() == [Double.pi, -1e300])
        #expect(arrays["i32"]?.ints() == [-3, 7])
        #expect(arrays["i64"]?.shape == [2, 1])
        #expect(arrays["i64"]?.ints() == [1 << 40, -5])
        #expect(arrays["b"]?.bools() == [true, false, true])
        #expect(arrays["u8"]?.ints() == [0, 255, 7])
        #expect(arrays["scalar"]?.shape == [])
        #expect(arrays["scalar"]?.floats() == [4.5])
    }

    @Test("writes archives it reads back unchanged, in every dtype")
    func roundTrips() throws {
        let original: [(name: String, array: NumpyArray)] = [
            ("observations", NumpyArray([Float](stride(from: -1, to: 1, by: 0.25)), shape: [4, 2])),
            ("d", NumpyArray([1e-300, 2.5] as [Double])),
            ("i", NumpyArray([Int32.min, 0, Int32.max])),
            ("l", NumpyArray([Int64.min, 42], shape: [1, 2])),
            ("terminals", NumpyArray([false, true])),
            ("bytes", NumpyArray([1, 2, 3] as [UInt8], shape: [3, 1, 1])),
            ("empty", NumpyArray([Float](), shape: [0, 3])),
        ]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("npz-\(UUID()).npz").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try NumpyArchive.writeNPZ(original, path: path)
        let back = try NumpyArchive.readNPZ(path: path)
        #expect(back.count == original.count)
        for (name, array) in original { #expect(back[name] == array, "\(name)") }
    }

    @Test("a .npy header is padded to 64 bytes and ends in a newline")
    func npyHeaderLayout() throws {
        let bytes = NumpyArchive.encodeNPY(NumpyArray([1, 2, 3] as [Float], shape: [3]))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        #expect(bytes[10 + headerLength - 1] == 0x0A)
        #expect(try NumpyArchive.decodeNPY(bytes, source: "x").floats() == [1, 2, 3])
    }

    @Test("a savez_compressed archive is refused with advice to use np.savez")
    func refusesCompressed() {
        #expect {
            try NumpyArchive.decodeNPZ(decode(compressedArchive), source: "c.npz")
        } throws: { error in
            "\(error)".contains("np.savez_compressed") && "\(error)".contains("c.npz")
        }
    }

    @Test("unsupported dtypes, Fortran order, truncation and corruption are one-line errors")
    func badInputs() {
        func npy(_ header: String, payload: Int) -> [UInt8] {
            var h = header
            h += String(repeating: " ", count: (64 - (10 + h.utf8.count + 1) % 64) % 64) + "\n"
            return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(h.utf8.count), 0] + Array(h.utf8)
                + [UInt8](repeating: 0, count: payload)
        }
        let cases: [([UInt8], String)] = [
            (npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", payload: 16), "astype"),
            (npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", payload: 8), "astype"),
            (npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", payload: 16), "ascontiguousarray"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", payload: 8), "truncated"),
            ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], "magic"),
        ]
        for (bytes, hint) in cases {
            #expect {
                try NumpyArchive.decodeNPY(bytes, source: "bad.npy")
            } throws: { error in
                let text = "\(error)"
                return text.contains("bad.npy") && text.contains(hint) && !text.contains("\n")
            }
        }
        var corrupt = decode(savezArchive)
        corrupt[200] ^= 0xFF  // inside the first entry's payload
        #expect(throws: NumpyArchiveError.self) { try NumpyArchive.decodeNPZ(corrupt, source: "x.npz") }
        #expect(throws: NumpyArchiveError.self) { try NumpyArchive.decodeNPZ(Array(decode(savezArchive)[0..<500]), source: "x.npz") }
        #expect(throws: NumpyArchiveError.self) { try NumpyArchive.readNPZ(path: "/nonexistent/file.npz") }
    }
}
