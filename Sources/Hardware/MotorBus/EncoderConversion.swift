import Control

/// Converts one joint between encoder units on the wire and SI units in Control.
///
/// `position_rad = direction · (counts − zeroOffsetCounts) · 2π / countsPerRevolution`;
/// velocities scale the same way without the offset; torque is N·m ↔ mN·m with the same
/// direction. Built from a calibration file's `Control.JointCalibration` with
/// `init(_:torqueConstantNmPerAmp:)`.
public struct EncoderConversion: Sendable, Equatable {
    /// Encoder count at which the joint is at 0 rad.
    public var zeroOffsetCounts: Int32
    /// +1 when encoder counts grow with the joint's positive direction, −1 otherwise.
    public var direction: Int8
    /// Encoder counts per output revolution; 0 = take the firmware's CAPABILITIES value.
    public var countsPerRevolution: Int32
    /// N·m per ampere, to report effort as torque; 0 = report the motor current in A.
    public var torqueConstantNmPerAmp: Float

    public init(
        zeroOffsetCounts: Int32 = 0, direction: Int8 = 1, countsPerRevolution: Int32 = 0,
        torqueConstantNmPerAmp: Float = 0
    ) {
        precondition(direction == 1 || direction == -1, "direction must be +1 or -1")
        self.zeroOffsetCounts = zeroOffsetCounts
        self.direction = direction
        self.countsPerRevolution = countsPerRevolution
        self.torqueConstantNmPerAmp = torqueConstantNmPerAmp
    }

    /// The conversion a calibration file's joint entry describes.
    public init(_ joint: JointCalibration, torqueConstantNmPerAmp: Float = 0) {
        self.init(
            zeroOffsetCounts: Int32(clamping: joint.zeroOffsetCounts), direction: Int8(joint.direction),
            countsPerRevolution: Int32(clamping: joint.encoderCountsPerRevolution),
            torqueConstantNmPerAmp: torqueConstantNmPerAmp)
    }

    /// The same calibration with `countsPerRevolution` filled in from the firmware when 0.
    public func resolved(firmwareCountsPerRevolution cpr: Int32) -> EncoderConversion {
        var c = self
        if c.countsPerRevolution == 0 { c.countsPerRevolution = cpr }
        return c
    }

    private var radiansPerCount: Double { 2 * Double.pi / Double(max(1, countsPerRevolution)) }

    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func radians(counts: Int32) -> Float {
        Float(Double(direction) * Double(Int64(counts) - Int64(zeroOffsetCounts)) * radiansPerCount)
    }

    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func radiansPerSecond(countsPerSecond: Int32) -> Float {
        Float(Double(direction) * Double(countsPerSecond) * radiansPerCount)
    }

    /// Absolute encoder counts for a position, rounded and saturated to Int32.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func counts(radians: Float) -> Int32 {
        saturate(Double(zeroOffsetCounts) + Double(direction) * Double(radians) / radiansPerCount)
    }

    /// Counts per second for a velocity, rounded and saturated.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func countsPerSecond(radiansPerSecond v: Float) -> Int32 {
        saturate(Double(direction) * Double(v) / radiansPerCount)
    }

    /// mN·m for a torque in N·m, rounded and saturated.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func milliNewtonMetres(newtonMetres t: Float) -> Int32 {
        saturate(Double(direction) * Double(t) * 1000)
    }

    /// Effort for a motor current: N·m if the torque constant is known, else amperes.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func effort(milliamps: Int16) -> Float {
        let amps = Float(direction) * Float(milliamps) / 1000
        return torqueConstantNmPerAmp != 0 ? amps * torqueConstantNmPerAmp : amps
    }

    @inline(__always)
    private func saturate(_ x: Double) -> Int32 {
        guard x.isFinite else { return 0 }
        return Int32(max(Double(Int32.min), min(Double(Int32.max), x.rounded())))
    }
}
