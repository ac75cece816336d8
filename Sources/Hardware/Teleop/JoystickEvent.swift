/// One Linux joystick API event (`struct js_event` from <linux/joystick.h>, 8 bytes in host
/// byte order): u32 time in ms, s16 value, u8 type, u8 number.
public struct JoystickEvent: Sendable, Equatable {
    /// Event time, milliseconds (driver clock, wraps).
    public var timeMillis: UInt32
    /// Axis position (-32767...32767) or button state (0/1).
    public var value: Int16
    /// Raw type byte: 0x01 button, 0x02 axis, ORed with 0x80 for the initial-state events
    /// the driver sends on open.
    public var type: UInt8
    /// Axis or button number.
    public var number: UInt8

    public static let byteCount = 8
    public static let typeButton: UInt8 = 0x01
    public static let typeAxis: UInt8 = 0x02
    public static let typeInit: UInt8 = 0x80

    public init(timeMillis: UInt32, value: Int16, type: UInt8, number: UInt8) {
        self.timeMillis = timeMillis
        self.value = value
        self.type = type
        self.number = number
    }

    /// Decodes 8 bytes. Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public init(bytes p: UnsafeRawPointer) {
        timeMillis = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
        value = Int16(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: Int16.self))
        type = p.load(fromByteOffset: 6, as: UInt8.self)
        number = p.load(fromByteOffset: 7, as: UInt8.self)
    }

    /// The 8 bytes the driver would send (for tests and recorders).
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 8)
        out.withUnsafeMutableBytes { b in
            b.storeBytes(of: timeMillis.littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: value.littleEndian, toByteOffset: 4, as: Int16.self)
            b[6] = type
            b[7] = number
        }
        return out
    }

    public var isInitialState: Bool { type & JoystickEvent.typeInit != 0 }
    public var isButton: Bool { type & ~JoystickEvent.typeInit == JoystickEvent.typeButton }
    public var isAxis: Bool { type & ~JoystickEvent.typeInit == JoystickEvent.typeAxis }
}
