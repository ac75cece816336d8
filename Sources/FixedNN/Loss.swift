import Foundation

/// The losses the H2O+ trainer needs, each returning its value and writing its gradient with
/// respect to the predictions (or logits).
///
/// Predictions and gradients are read/written with a row stride, so a loss can run straight on
/// an ``MLPWorkspace``'s `output` / `outputGradient` (stride `outputStride`, column 0 for a
/// scalar head). `scale` multiplies the gradient (not the returned value); `accumulate` adds the
/// gradient instead of overwriting it (for a sum of losses on one output). Squared errors have no
/// ½ factor. Real-time safe: does not allocate, lock or throw.
public enum Loss {
    /// `L = (1/n)·Σ (p_i − y_i)²`; `∂L/∂p_i = 2(p_i − y_i)/n`.
    public static func meanSquaredError(
        predictions: UnsafePointer<Float>, predictionStride: Int, targets: UnsafePointer<Float>, count n: Int,
        gradient: UnsafeMutablePointer<Float>?, gradientStride: Int, scale: Float = 1,
        accumulate: Bool = false
    ) -> Float {
        guard n > 0 else { return 0 }
        var sum: Float = 0
        let inv = 1 / Float(n)
        for i in 0..<n {
            let e = predictions[i * predictionStride] - targets[i]
            sum += e * e
            if let gradient { write(gradient, i * gradientStride, 2 * e * inv * scale, accumulate) }
        }
        return sum * inv
    }

    /// `L = (1/n)·Σ w_i·(p_i − y_i)²`; `∂L/∂p_i = 2·w_i·(p_i − y_i)/n`.
    public static func weightedMeanSquaredError(
        predictions: UnsafePointer<Float>, predictionStride: Int, targets: UnsafePointer<Float>,
        weights: UnsafePointer<Float>, count n: Int,
        gradient: UnsafeMutablePointer<Float>?, gradientStride: Int, scale: Float = 1,
        accumulate: Bool = false
    ) -> Float {
        guard n > 0 else { return 0 }
        var sum: Float = 0
        let inv = 1 / Float(n)
        for i in 0..<n {
            let e = predictions[i * predictionStride] - targets[i]
            sum += weights[i] * e * e
            if let gradient {
                write(gradient, i * gradientStride, 2 * weights[i] * e * inv * scale, accumulate)
            }
        }
        return sum * inv
    }

    /// Two-class softmax cross-entropy on logits `(l0, l1)` at columns 0 and 1 of each row, every
    /// row labelled `label` (0 or 1): `L = (1/n)·Σ −log softmax(l)[label]`;
    /// `∂L/∂l_k = (softmax(l)_k − 1{k = label})/n`. Stable for any logit magnitude.
    public static func softmaxCrossEntropy2(
        logits: UnsafePointer<Float>, logitStride: Int, count n: Int, label: Int,
        gradient: UnsafeMutablePointer<Float>?, gradientStride: Int, scale: Float = 1,
        accumulate: Bool = false
    ) -> Float {
        precondition(label == 0 || label == 1, "Loss.softmaxCrossEntropy2: label must be 0 or 1")
        guard n > 0 else { return 0 }
        var sum: Float = 0
        let inv = 1 / Float(n)
        for i in 0..<n {
            let row = logits + i * logitStride
            // d = l_other − l_label; −log p_label = softplus(d); p_other = sigmoid(d).
            let d = row[1 - label] - row[label]
            sum += Swift.max(d, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(d)))
            if let gradient {
                let pOther =
                    d >= 0 ? 1 / (1 + Foundation.exp(-d)) : Foundation.exp(d) / (1 + Foundation.exp(d))
                let g = gradient + i * gradientStride
                write(g, label, -pOther * inv * scale, accumulate)
                write(g, 1 - label, pOther * inv * scale, accumulate)
            }
        }
        return sum * inv
    }

    /// Expectile regression with `e_i = y_i − p_i`: `L = (1/n)·Σ |τ − 1{e_i < 0}|·e_i²`;
    /// `∂L/∂p_i = −2·|τ − 1{e_i < 0}|·e_i/n`. (H2O+'s value loss: `p = V(s)`, `y = min Q̄(s,a)`.)
    public static func expectile(
        predictions: UnsafePointer<Float>, predictionStride: Int, targets: UnsafePointer<Float>, count n: Int,
        tau: Float, gradient: UnsafeMutablePointer<Float>?, gradientStride: Int, scale: Float = 1,
        accumulate: Bool = false
    ) -> Float {
        guard n > 0 else { return 0 }
        var sum: Float = 0
        let inv = 1 / Float(n)
        for i in 0..<n {
            let e = targets[i] - predictions[i * predictionStride]
            let w = e < 0 ? 1 - tau : tau
            sum += w * e * e
            if let gradient { write(gradient, i * gradientStride, -2 * w * e * inv * scale, accumulate) }
        }
        return sum * inv
    }

    @inline(__always)
    private static func write(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ v: Float, _ accumulate: Bool) {
        if accumulate { p[i] += v } else { p[i] = v }
    }
}
