/// Ordinary least squares for a handful of parameters, with heteroscedasticity- and
/// autocorrelation-consistent (Newey–West) standard errors: residuals of overlapping
/// windows are correlated, and plain OLS errors would be too optimistic.
///
/// Set-up code (allocates); not for the control thread.
public struct LeastSquaresFit: Sendable {
    /// Fitted coefficients.
    public var coefficients: [Double]
    /// Covariance of the coefficients (row-major p×p), Newey–West with `lag`.
    public var covariance: [Double]
    /// Residual sum of squares.
    public var residualSumOfSquares: Double
    /// Number of rows used.
    public var rows: Int

    /// Standard error of coefficient `i`.
    public func standardError(_ i: Int) -> Double {
        covariance[i * coefficients.count + i].squareRoot()
    }

    /// Fits y ≈ X c. `x` is row-major rows×p. `lag` is the Bartlett-kernel lag of the
    /// Newey–West covariance (0 = White's heteroscedasticity-consistent errors).
    /// Throws when XᵀX is singular (a regressor never varies).
    public static func fit(
        x: [Double], y: [Double], parameters p: Int, lag: Int
    ) throws(SimError)
        -> LeastSquaresFit
    {
        let n = y.count
        guard n > p, x.count == n * p else {
            throw SimError(
                "least squares: \(n) rows for \(p) parameters; log more data (at least \(p + 1) usable samples)"
            )
        }
        var xtx = [Double](repeating: 0, count: p * p)
        var xty = [Double](repeating: 0, count: p)
        for r in 0..<n {
            for i in 0..<p {
                let xi = x[r * p + i]
                xty[i] += xi * y[r]
                for j in 0..<p { xtx[i * p + j] += xi * x[r * p + j] }
            }
        }
        let inverse = try invertSymmetric(xtx, p)
        var c = [Double](repeating: 0, count: p)
        for i in 0..<p { for j in 0..<p { c[i] += inverse[i * p + j] * xty[j] } }
        var residuals = [Double](repeating: 0, count: n)
        var rss = 0.0
        for r in 0..<n {
            var prediction = 0.0
            for i in 0..<p { prediction += x[r * p + i] * c[i] }
            residuals[r] = y[r] - prediction
            rss += residuals[r] * residuals[r]
        }
        // Meat: Σ_l w_l Σ_r e_r e_{r−l} (x_r x_{r−l}ᵀ + x_{r−l} x_rᵀ), Bartlett weights.
        var meat = [Double](repeating: 0, count: p * p)
        for l in 0...min(lag, n - 1) {
            let w = l == 0 ? 1.0 : 1.0 - Double(l) / Double(lag + 1)
            for r in l..<n {
                let ee = residuals[r] * residuals[r - l] * w
                for i in 0..<p {
                    for j in 0..<p {
                        let a = x[r * p + i] * x[(r - l) * p + j]
                        meat[i * p + j] += l == 0 ? ee * a : ee * (a + x[(r - l) * p + i] * x[r * p + j])
                    }
                }
            }
        }
        let scale = Double(n) / Double(n - p)
        let covariance = multiply(multiply(inverse, meat, p), inverse, p).map { $0 * scale }
        return LeastSquaresFit(coefficients: c, covariance: covariance, residualSumOfSquares: rss, rows: n)
    }

    static func multiply(_ a: [Double], _ b: [Double], _ p: Int) -> [Double] {
        var out = [Double](repeating: 0, count: p * p)
        for i in 0..<p { for k in 0..<p { for j in 0..<p { out[i * p + j] += a[i * p + k] * b[k * p + j] } } }
        return out
    }

    /// Inverse of a symmetric positive-definite matrix by Gauss–Jordan with partial pivoting.
    static func invertSymmetric(_ m: [Double], _ p: Int) throws(SimError) -> [Double] {
        var a = m
        var inv = [Double](repeating: 0, count: p * p)
        for i in 0..<p { inv[i * p + i] = 1 }
        let scale = (0..<p).map { abs(m[$0 * p + $0]) }.max() ?? 1
        for col in 0..<p {
            var pivot = col
            for r in col..<p where abs(a[r * p + col]) > abs(a[pivot * p + col]) { pivot = r }
            guard abs(a[pivot * p + col]) > 1e-13 * scale else {
                throw SimError(
                    "least squares: the regressors are linearly dependent (column \(col)); excite the system more (larger, richer torques, motion in both directions)"
                )
            }
            if pivot != col {
                for j in 0..<p {
                    a.swapAt(col * p + j, pivot * p + j)
                    inv.swapAt(col * p + j, pivot * p + j)
                }
            }
            let d = a[col * p + col]
            for j in 0..<p {
                a[col * p + j] /= d
                inv[col * p + j] /= d
            }
            for r in 0..<p where r != col {
                let f = a[r * p + col]
                if f == 0 { continue }
                for j in 0..<p {
                    a[r * p + j] -= f * a[col * p + j]
                    inv[r * p + j] -= f * inv[col * p + j]
                }
            }
        }
        return inv
    }
}
