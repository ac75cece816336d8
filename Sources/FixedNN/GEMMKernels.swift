/// Register-blocked matrix kernels for the batched passes. Row-major matrices with explicit
/// strides; every column count `n` handed to them is a multiple of 16 (padded layouts).
/// Internal: the public entry points are ``MLPWorkspace``'s.

/// `C[r][0..<n] += Σ_k A(r, k)·B[k][0..<n]` for `r < m`, where `A(r, k) = a[r·aRow + k·aCol]`.
/// Used for the forward pass (`A = X`, `aRow = stride`, `aCol = 1`) and for the weight
/// gradient (`A = Xᵀ`, `aRow = 1`, `aCol = stride`).
@inline(__always)
func gemmAccumulate(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, aRow: Int, aCol: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
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
        while j + 32 <= n {
            var s00 = SIMD16<Float>.load(c0 + j), s01 = SIMD16<Float>.load(c0 + j + 16)
            var s10 = SIMD16<Float>.load(c1 + j), s11 = SIMD16<Float>.load(c1 + j + 16)
            var s20 = SIMD16<Float>.load(c2 + j), s21 = SIMD16<Float>.load(c2 + j + 16)
            var s30 = SIMD16<Float>.load(c3 + j), s31 = SIMD16<Float>.load(c3 + j + 16)
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
        if j < n {
            var s0 = SIMD16<Float>.load(c0 + j)
            var s1 = SIMD16<Float>.load(c1 + j)
            var s2 = SIMD16<Float>.load(c2 + j)
            var s3 = SIMD16<Float>.load(c3 + j)
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
        }
        r += 4
    }
    while r < m {
        let ap = a + r * aRow
        let cr = c + r * ldc
        var j = 0
        while j < n {
            var s0 = SIMD16<Float>.load(cr + j)
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

/// `C[r][i] = Σ_{o < n} A[r][o]·B[i][o]` for `r < m`, `i < p` (A times Bᵀ, both row-major,
/// `n` a multiple of 16); columns `p..<pStride` of each C row are set to zero.
/// Used for the input gradient `dX = dZ·Wᵀ` with W stored `[in][outStride]`.
@inline(__always)
func gemmTransposedB(
    m: Int, n: Int, p: Int, pStride: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    var r = 0
    while r + 2 <= m {
        let a0 = a + r * lda
        let a1 = a0 + lda
        let c0 = c + r * ldc
        let c1 = c0 + ldc
        var i = 0
        while i + 2 <= p {
            let b0 = b + i * ldb
            let b1 = b0 + ldb
            var s00 = SIMD16<Float>.zero, s01 = SIMD16<Float>.zero
            var s10 = SIMD16<Float>.zero, s11 = SIMD16<Float>.zero
            var o = 0
            while o < n {
                let x0 = SIMD16<Float>.load(a0 + o)
                let x1 = SIMD16<Float>.load(a1 + o)
                let w0 = SIMD16<Float>.load(b0 + o)
                let w1 = SIMD16<Float>.load(b1 + o)
                s00 = s00.addingProduct(x0, w0)
                s01 = s01.addingProduct(x0, w1)
                s10 = s10.addingProduct(x1, w0)
                s11 = s11.addingProduct(x1, w1)
                o += 16
            }
            c0[i] = s00.sum(); c0[i + 1] = s01.sum()
            c1[i] = s10.sum(); c1[i + 1] = s11.sum()
            i += 2
        }
        if i < p {
            let b0 = b + i * ldb
            var s0 = SIMD16<Float>.zero, s1 = SIMD16<Float>.zero
            var o = 0
            while o < n {
                let w0 = SIMD16<Float>.load(b0 + o)
                s0 = s0.addingProduct(SIMD16<Float>.load(a0 + o), w0)
                s1 = s1.addingProduct(SIMD16<Float>.load(a1 + o), w0)
                o += 16
            }
            c0[i] = s0.sum(); c1[i] = s1.sum()
            i += 1
        }
        for q in p..<pStride { c0[q] = 0; c1[q] = 0 }
        r += 2
    }
    if r < m {
        let a0 = a + r * lda
        let c0 = c + r * ldc
        for i in 0..<p {
            let b0 = b + i * ldb
            var s0 = SIMD16<Float>.zero
            var o = 0
            while o < n {
                s0 = s0.addingProduct(SIMD16<Float>.load(a0 + o), SIMD16<Float>.load(b0 + o))
                o += 16
            }
            c0[i] = s0.sum()
        }
        for q in p..<pStride { c0[q] = 0 }
    }
}
