/// Register-blocked matrix kernels for the batched passes. Row-major matrices with explicit
/// strides; every column count `n` handed to them is a multiple of 16 (padded layouts).
/// Internal: the public entry points are ``MLPWorkspace``'s.
///
/// Blocking: the output is computed in 16-column strips; within a strip, blocks of 6 rows
/// (then 4, 2, 1) run a micro-kernel that keeps one SIMD16 accumulator per row in registers
/// (x86-64 AVX2: 12 of the 16 ymm registers, plus 2 for the B row and 1 for the broadcast;
/// ARM64 NEON: 24 of the 32 q registers) and performs `k` rank-1 updates: per step, one load of
/// 16 B values, one broadcast of A per row, one FMA per row. The strip of B (`k × 16` floats)
/// stays in L1 while every row block streams past it. Each output element is summed in order
/// of `k`, so results do not depend on the blocking.

/// `C[r][0..<n] += Σ_k A(r, k)·B[k][0..<n]` for `r < m`, where `A(r, k) = a[r·aRow + k·aCol]`
/// (`C = …` instead when `overwrite`).
/// Used for the forward pass (`A = X`, `aRow = stride`, `aCol = 1`) and for the weight
/// gradient (`A = Xᵀ`, `aRow = 1`, `aCol = stride`).
@inline(__always)
func gemmAccumulate(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, aRow: Int, aCol: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool = false
) {
    var j = 0
    while j < n {
        let strip = b + j
        var r = 0
        while r + 6 <= m {
            microKernel6(
                k: k, a: a + r * aRow, aRow: aRow, aCol: aCol, b: strip, ldb: ldb, c: c + r * ldc + j, ldc: ldc,
                overwrite: overwrite)
            r += 6
        }
        if r + 4 <= m {
            microKernel4(
                k: k, a: a + r * aRow, aRow: aRow, aCol: aCol, b: strip, ldb: ldb, c: c + r * ldc + j, ldc: ldc,
                overwrite: overwrite)
            r += 4
        }
        if r + 2 <= m {
            microKernel2(
                k: k, a: a + r * aRow, aRow: aRow, aCol: aCol, b: strip, ldb: ldb, c: c + r * ldc + j, ldc: ldc,
                overwrite: overwrite)
            r += 2
        }
        if r < m {
            microKernel1(k: k, a: a + r * aRow, aCol: aCol, b: strip, ldb: ldb, c: c + r * ldc + j, overwrite: overwrite)
        }
        j += 16
    }
}

/// Six rows × 16 columns of `gemmAccumulate`.
@inline(__always)
func microKernel6(
    k: Int, a: UnsafePointer<Float>, aRow: Int, aCol: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool
) {
    let a0 = a, a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow, a4 = a + 4 * aRow, a5 = a + 5 * aRow
    let c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc, c4 = c + 4 * ldc, c5 = c + 5 * ldc
    var s0 = overwrite ? .zero : SIMD16<Float>.load(c0)
    var s1 = overwrite ? .zero : SIMD16<Float>.load(c1)
    var s2 = overwrite ? .zero : SIMD16<Float>.load(c2)
    var s3 = overwrite ? .zero : SIMD16<Float>.load(c3)
    var s4 = overwrite ? .zero : SIMD16<Float>.load(c4)
    var s5 = overwrite ? .zero : SIMD16<Float>.load(c5)
    var bp = b
    var off = 0
    for _ in 0..<k {
        let bv = SIMD16<Float>.load(bp)
        s0 = s0.addingProduct(SIMD16<Float>(repeating: a0[off]), bv)
        s1 = s1.addingProduct(SIMD16<Float>(repeating: a1[off]), bv)
        s2 = s2.addingProduct(SIMD16<Float>(repeating: a2[off]), bv)
        s3 = s3.addingProduct(SIMD16<Float>(repeating: a3[off]), bv)
        s4 = s4.addingProduct(SIMD16<Float>(repeating: a4[off]), bv)
        s5 = s5.addingProduct(SIMD16<Float>(repeating: a5[off]), bv)
        bp += ldb
        off += aCol
    }
    s0.store(c0)
    s1.store(c1)
    s2.store(c2)
    s3.store(c3)
    s4.store(c4)
    s5.store(c5)
}

/// Four rows × 16 columns of `gemmAccumulate`.
@inline(__always)
func microKernel4(
    k: Int, a: UnsafePointer<Float>, aRow: Int, aCol: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool
) {
    let a0 = a, a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow
    let c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc
    var s0 = overwrite ? .zero : SIMD16<Float>.load(c0)
    var s1 = overwrite ? .zero : SIMD16<Float>.load(c1)
    var s2 = overwrite ? .zero : SIMD16<Float>.load(c2)
    var s3 = overwrite ? .zero : SIMD16<Float>.load(c3)
    var bp = b
    var off = 0
    for _ in 0..<k {
        let bv = SIMD16<Float>.load(bp)
        s0 = s0.addingProduct(SIMD16<Float>(repeating: a0[off]), bv)
        s1 = s1.addingProduct(SIMD16<Float>(repeating: a1[off]), bv)
        s2 = s2.addingProduct(SIMD16<Float>(repeating: a2[off]), bv)
        s3 = s3.addingProduct(SIMD16<Float>(repeating: a3[off]), bv)
        bp += ldb
        off += aCol
    }
    s0.store(c0)
    s1.store(c1)
    s2.store(c2)
    s3.store(c3)
}

/// Two rows × 16 columns of `gemmAccumulate`.
@inline(__always)
func microKernel2(
    k: Int, a: UnsafePointer<Float>, aRow: Int, aCol: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, overwrite: Bool
) {
    let a0 = a, a1 = a + aRow
    var s0 = overwrite ? .zero : SIMD16<Float>.load(c)
    var s1 = overwrite ? .zero : SIMD16<Float>.load(c + ldc)
    var bp = b
    var off = 0
    for _ in 0..<k {
        let bv = SIMD16<Float>.load(bp)
        s0 = s0.addingProduct(SIMD16<Float>(repeating: a0[off]), bv)
        s1 = s1.addingProduct(SIMD16<Float>(repeating: a1[off]), bv)
        bp += ldb
        off += aCol
    }
    s0.store(c)
    s1.store(c + ldc)
}

/// One row × 16 columns of `gemmAccumulate` (a single dependency chain: in order of `k`).
@inline(__always)
func microKernel1(
    k: Int, a: UnsafePointer<Float>, aCol: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, overwrite: Bool
) {
    var s = overwrite ? .zero : SIMD16<Float>.load(c)
    var bp = b
    var off = 0
    for _ in 0..<k {
        s = s.addingProduct(SIMD16<Float>(repeating: a[off]), SIMD16<Float>.load(bp))
        bp += ldb
        off += aCol
    }
    s.store(c)
}

/// Writes the panelled weight block `w` (``MLPShape``; `inputs` rows, `stride` padded output
/// columns) transposed into `t` as `[stride][inputStride]`, with columns `inputs..<inputStride`
/// zero, so `dX = dZ·Wᵀ` becomes a plain register-blocked GEMM.
///
/// 8 × 8 tiles, each transposed in registers by three rounds of even/odd de-interleaving
/// (portable SIMD: no x86 or NEON intrinsics), so reads and writes are both contiguous rows.
@inline(__always)
func transposePanels(
    _ w: UnsafePointer<Float>, inputs: Int, stride: Int, into t: UnsafeMutablePointer<Float>, inputStride: Int
) {
    var column = 0
    while column < stride {
        let width = Swift.min(MLPShape.panelWidth, stride - column)  // a multiple of 16
        let panel = w + column * inputs
        var i0 = 0
        while i0 + 8 <= inputs {
            var c = 0
            while c < width {
                transposeTile8(panel + i0 * width + c, rowStride: width, into: t + (column + c) * inputStride + i0,
                               outputStride: inputStride)
                c += 8
            }
            i0 += 8
        }
        if i0 < inputs {
            for c in 0..<width {
                let row = t + (column + c) * inputStride
                for i in i0..<inputs { row[i] = panel[i * width + c] }
            }
        }
        for c in 0..<width {
            let row = t + (column + c) * inputStride
            for i in inputs..<inputStride { row[i] = 0 }
        }
        column += width
    }
}

/// Transposes the 8 × 8 tile at `p` (rows `rowStride` apart) into `q` (rows `outputStride` apart).
/// Three rounds of de-interleaving pairs of rows `(2j, 2j+1)` into `(even → j, odd → j+4)`
/// rotate the six index bits (row, column) by three: a transpose.
@inline(__always)
func transposeTile8(
    _ p: UnsafePointer<Float>, rowStride: Int, into q: UnsafeMutablePointer<Float>, outputStride: Int
) {
    var r0 = SIMD8<Float>.load(p), r1 = SIMD8<Float>.load(p + rowStride)
    var r2 = SIMD8<Float>.load(p + 2 * rowStride), r3 = SIMD8<Float>.load(p + 3 * rowStride)
    var r4 = SIMD8<Float>.load(p + 4 * rowStride), r5 = SIMD8<Float>.load(p + 5 * rowStride)
    var r6 = SIMD8<Float>.load(p + 6 * rowStride), r7 = SIMD8<Float>.load(p + 7 * rowStride)
    for _ in 0..<3 {
        let p0 = SIMD16(lowHalf: r0, highHalf: r1), p1 = SIMD16(lowHalf: r2, highHalf: r3)
        let p2 = SIMD16(lowHalf: r4, highHalf: r5), p3 = SIMD16(lowHalf: r6, highHalf: r7)
        r0 = p0.evenHalf
        r1 = p1.evenHalf
        r2 = p2.evenHalf
        r3 = p3.evenHalf
        r4 = p0.oddHalf
        r5 = p1.oddHalf
        r6 = p2.oddHalf
        r7 = p3.oddHalf
    }
    r0.store(q)
    r1.store(q + outputStride)
    r2.store(q + 2 * outputStride)
    r3.store(q + 3 * outputStride)
    r4.store(q + 4 * outputStride)
    r5.store(q + 5 * outputStride)
    r6.store(q + 6 * outputStride)
    r7.store(q + 7 * outputStride)
}

extension SIMD8 where Scalar == Float {
    /// Loads 8 floats from `p` (no alignment requirement).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Stores the 8 lanes at `p` (no alignment requirement).
    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: SIMD8<Float>.self)
    }
}
