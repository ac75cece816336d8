/// Register-blocked matrix kernels for the batched passes. Row-major matrices with explicit
/// strides; every column count `n` handed to them is a multiple of 16 (padded layouts).
/// Internal: the public entry points are ``MLPWorkspace``'s.

/// Register blocking of `gemmAccumulate`: 4 rows × 32 columns (8 SIMD16 accumulators) where
/// the vector file holds them (x86-64: 16 × 256-bit = eight SIMD16 plus loads and broadcasts);
/// 4 rows × 16 columns on ARM64, whose 32 × 128-bit registers hold eight SIMD16 in total.
#if arch(arm64)
    @usableFromInline let gemmWideBlocks = false
#else
    @usableFromInline let gemmWideBlocks = true
#endif

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
    @inline(__always) func start(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
        overwrite ? .zero : SIMD16<Float>.load(p)
    }
    var r = 0
    while r + 4 <= m {
        let a0p = a + r * aRow
        let a1p = a0p + aRow
        let a2p = a1p + aRow
        let a3p = a2p + aRow
        let c0 = c + r * ldc
        let c1 = c0 + ldc
        let c2 = c1 + ldc
        let c3 = c2 + ldc
        var j = 0
        while gemmWideBlocks && j + 32 <= n {
            var s00 = start(c0 + j), s01 = start(c0 + j + 16)
            var s10 = start(c1 + j), s11 = start(c1 + j + 16)
            var s20 = start(c2 + j), s21 = start(c2 + j + 16)
            var s30 = start(c3 + j), s31 = start(c3 + j + 16)
            var bp = b + j
            var off = 0
            for _ in 0..<k {
                let b0 = SIMD16<Float>.load(bp)
                let b1 = SIMD16<Float>.load(bp + 16)
                let x0 = SIMD16<Float>(repeating: a0p[off])
                s00 = s00.addingProduct(x0, b0)
                s01 = s01.addingProduct(x0, b1)
                let x1 = SIMD16<Float>(repeating: a1p[off])
                s10 = s10.addingProduct(x1, b0)
                s11 = s11.addingProduct(x1, b1)
                let x2 = SIMD16<Float>(repeating: a2p[off])
                s20 = s20.addingProduct(x2, b0)
                s21 = s21.addingProduct(x2, b1)
                let x3 = SIMD16<Float>(repeating: a3p[off])
                s30 = s30.addingProduct(x3, b0)
                s31 = s31.addingProduct(x3, b1)
                bp += ldb
                off += aCol
            }
            s00.store(c0 + j); s01.store(c0 + j + 16)
            s10.store(c1 + j); s11.store(c1 + j + 16)
            s20.store(c2 + j); s21.store(c2 + j + 16)
            s30.store(c3 + j); s31.store(c3 + j + 16)
            j += 32
        }
        while j < n {
            var s0 = start(c0 + j)
            var s1 = start(c1 + j)
            var s2 = start(c2 + j)
            var s3 = start(c3 + j)
            var bp = b + j
            var off = 0
            for _ in 0..<k {
                let b0 = SIMD16<Float>.load(bp)
                s0 = s0.addingProduct(SIMD16<Float>(repeating: a0p[off]), b0)
                s1 = s1.addingProduct(SIMD16<Float>(repeating: a1p[off]), b0)
                s2 = s2.addingProduct(SIMD16<Float>(repeating: a2p[off]), b0)
                s3 = s3.addingProduct(SIMD16<Float>(repeating: a3p[off]), b0)
                bp += ldb
                off += aCol
            }
            s0.store(c0 + j); s1.store(c1 + j); s2.store(c2 + j); s3.store(c3 + j)
            j += 16
        }
        r += 4
    }
    while r < m {
        let ap = a + r * aRow
        let cr = c + r * ldc
        var j = 0
        while j < n {
            var s0 = start(cr + j)
            var s1 = SIMD16<Float>.zero
            var bp = b + j
            var off = 0
            var kk = 0
            while kk + 2 <= k {
                s0 = s0.addingProduct(SIMD16<Float>(repeating: ap[off]), SIMD16<Float>.load(bp))
                s1 = s1.addingProduct(SIMD16<Float>(repeating: ap[off + aCol]), SIMD16<Float>.load(bp + ldb))
                bp += 2 * ldb
                off += 2 * aCol
                kk += 2
            }
            if kk < k { s0 = s0.addingProduct(SIMD16<Float>(repeating: ap[off]), SIMD16<Float>.load(bp)) }
            (s0 + s1).store(cr + j)
            j += 16
        }
        r += 1
    }
}

/// Writes the panelled weight block `w` (``MLPShape``; `inputs` rows, `stride` padded output
/// columns) transposed into `t` as `[stride][inputStride]`, with columns `inputs..<inputStride`
/// zero, so `dX = dZ·Wᵀ` becomes a plain register-blocked GEMM.
@inline(__always)
func transposePanels(
    _ w: UnsafePointer<Float>, inputs: Int, stride: Int, into t: UnsafeMutablePointer<Float>, inputStride: Int
) {
    var column = 0
    while column < stride {
        let width = Swift.min(MLPShape.panelWidth, stride - column)
        let panel = w + column * inputs
        for c in 0..<width {
            let row = t + (column + c) * inputStride
            var src = panel + c
            for i in 0..<inputs {
                row[i] = src.pointee
                src += width
            }
            for i in inputs..<inputStride { row[i] = 0 }
        }
        column += width
    }
}
