/// Vectorised double-precision sine and cosine for the batch simulator: Cody–Waite
/// reduction by π/2 in three parts and fdlibm's kernel polynomials on [−π/4, π/4]. Swift has
/// no SIMD `sin`, and the scalar libm call per lane would dominate a pendulum step.
///
/// Accuracy: within 4e-16 of libm for |x| ≤ 1e4 (tested); lanes beyond about 1e6 rad lose
/// precision (the reduction's products stop being exact). No libm, no branches, no
/// allocation; pure arithmetic, so it is real-time safe and vectorises on x86-64 and ARM64.
public enum SIMDMath {
    public typealias Vector = SIMD8<Double>
    public typealias Bits = SIMD8<UInt64>

    /// sin x and cos x of every lane.
    @inline(__always)
    public static func sinCos(_ x: Vector) -> (sin: Vector, cos: Vector) {
        // Constants are literals in the body (not static lets) so no lazy-global check runs
        // per call. Round-to-nearest by the 1.5·2^52 trick (valid for |x| < 2^51); π/2 =
        // p1 + p2 + p3 with p1, p2 of 33 significant bits, so k·p1 and k·p2 are exact.
        let magic = Vector(repeating: 6_755_399_441_055_744.0)
        let twoOverPi = Vector(repeating: 0.636_619_772_367_581_34)
        let p1 = Vector(repeating: 1.570_796_326_734_125_614_17e+00)
        let p2 = Vector(repeating: 6.077_100_506_303_965_976_60e-11)
        let p3 = Vector(repeating: 2.022_266_248_795_950_631_54e-21)
        let shifted = x * twoOverPi + magic
        let k = shifted - magic
        let quadrant = unsafeBitCast(shifted, to: Bits.self) & 3
        var r = x.addingProduct(-k, p1)
        r = r.addingProduct(-k, p2)
        r = r.addingProduct(-k, p3)
        let z = r * r
        // fdlibm __kernel_sin / __kernel_cos coefficients.
        var ps = Vector(repeating: 1.589_690_995_211_550_102_21e-10)
        ps = Vector(repeating: -2.505_076_025_340_686_341_95e-08).addingProduct(z, ps)
        ps = Vector(repeating: 2.755_731_370_707_006_767_89e-06).addingProduct(z, ps)
        ps = Vector(repeating: -1.984_126_982_985_794_931_34e-04).addingProduct(z, ps)
        ps = Vector(repeating: 8.333_333_333_322_489_461_24e-03).addingProduct(z, ps)
        ps = Vector(repeating: -1.666_666_666_666_663_243_48e-01).addingProduct(z, ps)
        let sinR = r.addingProduct(r * z, ps)
        var pc = Vector(repeating: -1.135_964_755_778_819_482_65e-11)
        pc = Vector(repeating: 2.087_572_321_298_174_827_90e-09).addingProduct(z, pc)
        pc = Vector(repeating: -2.755_731_435_139_066_330_35e-07).addingProduct(z, pc)
        pc = Vector(repeating: 2.480_158_728_947_672_941_78e-05).addingProduct(z, pc)
        pc = Vector(repeating: -1.388_888_888_887_410_957_49e-03).addingProduct(z, pc)
        pc = Vector(repeating: 4.166_666_666_666_660_190_37e-02).addingProduct(z, pc)
        let halfZ = 0.5 * z
        let w = 1 - halfZ
        // fdlibm's compensation: 1 − z/2 loses bits; add back what rounding dropped.
        let cosR = w + (((1 - w) - halfZ) + (z * z) * pc)
        let swap = (quadrant & 1) .== 1
        let s = sinR.replacing(with: cosR, where: swap)
        let c = cosR.replacing(with: sinR, where: swap)
        let sinSign = (quadrant & 2) &<< 62
        let cosSign = ((quadrant &+ 1) & 2) &<< 62
        return (
            unsafeBitCast(unsafeBitCast(s, to: Bits.self) ^ sinSign, to: Vector.self),
            unsafeBitCast(unsafeBitCast(c, to: Bits.self) ^ cosSign, to: Vector.self)
        )
    }

    /// x − 2π·round(x / 2π): the angle in [−π, π] (Gymnasium's normalisation up to ties).
    @inline(__always)
    public static func wrapAngle(_ x: Vector) -> Vector {
        let magic = Vector(repeating: 6_755_399_441_055_744.0)
        let n = (x * Vector(repeating: 0.159_154_943_091_895_335_77) + magic) - magic
        // 2π = hi + lo (hi the double nearest 2π); the FMAs keep n·hi exact in the subtraction.
        return x.addingProduct(-n, Vector(repeating: 6.283_185_307_179_586_232))
            .addingProduct(-n, Vector(repeating: 2.449_293_598_294_706_6e-16))
    }
}
