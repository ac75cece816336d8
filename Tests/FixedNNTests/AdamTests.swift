import Testing

@testable import FixedNN

@Suite("Adam")
struct AdamTests {
    @Test("two steps match PyTorch's bias-corrected formula on a hand-computed case")
    func handComputed() {
        // g = (0.5, −0.1) twice, lr 0.1. Step 1: m̂ = g, v̂ = g², p −= 0.1·sign(g) → (0.9, −1.9).
        // Step 2: m = 0.095 → m̂ = 0.095/0.19 = 0.5; v = 0.00049975 → v̂ = 0.00049975/0.001999 = 0.25
        // → p = (0.8, −1.8). The 17 parameters exercise the SIMD body and the scalar tail.
        let count = 17
        var params = FloatBuffer((0..<count).map { $0 % 2 == 0 ? 1 : -2 })
        let grad = FloatBuffer((0..<count).map { $0 % 2 == 0 ? 0.5 : -0.1 })
        var adam = Adam(parameterCount: count, learningRate: 0.1)
        adam.step(&params, gradient: grad)
        for k in 0..<count { #expect(abs(params[k] - (k % 2 == 0 ? 0.9 : -1.9)) <= 1e-6) }
        adam.step(&params, gradient: grad)
        for k in 0..<count { #expect(abs(params[k] - (k % 2 == 0 ? 0.8 : -1.8)) <= 2e-6) }
        #expect(adam.stepCount == 2)
        #expect(abs(adam.firstMoment[0] - 0.095) <= 1e-7)
        #expect(abs(adam.secondMoment[0] - 0.00049975) <= 1e-8)  // Float rounding of 1 − β2
    }

    @Test("epsilon enters outside the square root, as in PyTorch")
    func epsilonPlacement() {
        // g = 0 after a first step: m̂ and v̂ shrink by β1, β2 corrections; with g tiny, ε dominates.
        var p = FloatBuffer([0])
        let g = FloatBuffer([1e-6])
        var adam = Adam(parameterCount: 1, learningRate: 1, epsilon: 1e-6)
        adam.step(&p, gradient: g)
        // m̂ = 1e-6, √v̂ = 1e-6 → step = 1e-6 / (1e-6 + 1e-6) = 0.5
        #expect(abs(p[0] + 0.5) <= 1e-5)
    }
}

@Suite("Parameter buffer operations")
struct BufferOperationTests {
    @Test("Polyak averaging, copies and clones act on every parameter")
    func polyakCopyClone() {
        let shape = MLPShape(layerSizes: [3, 40, 2], hidden: .tanh)
        let online = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 1)
        var target = MLP(shape: shape, lastLayer: .uniformFanIn, seed: 2)
        let before = target.parameters.array
        target.polyakUpdate(toward: online, rate: 0.25)
        let after = target.parameters.array
        let source = online.parameters.array
        var worst: Float = 0
        for k in 0..<after.count { worst = max(worst, abs(after[k] - (0.75 * before[k] + 0.25 * source[k]))) }
        #expect(worst <= 1e-6)
        target.copyParameters(from: online)
        let copied = target.parameters.array == source
        #expect(copied)
        let clone = online.clone()
        let cloned = clone.parameters.array == source && clone.shape == shape
        #expect(cloned)
    }
}
