/// The Feetech STS3215 memory table entries the controller uses (Feetech "STS3215 memory
/// table"; the same addresses LeRobot's feetech tables use for the SO-100/SO-101 arms).
/// Two-byte values are little-endian on STS; signed values are sign-magnitude (bit 15).
public enum FeetechMemoryTable {
    // EEPROM area (persists only while Lock = 0).
    public static let firmwareVersion = ServoRegister(0, 2)
    public static let modelNumber = ServoRegister(3, 2)
    public static let id = ServoRegister(5, 1)
    /// 0: 1 M, 1: 500 k, 2: 250 k, 3: 128 k, 4: 115 200, 5: 76 800, 6: 57 600, 7: 38 400.
    public static let baudRate = ServoRegister(6, 1)
    /// Unit 2 µs; robotctl sets 0.
    public static let returnDelayTime = ServoRegister(7, 1)
    /// 0 position (servo), 1 constant speed (wheel), 2 PWM, 3 step.
    public static let operatingMode = ServoRegister(33, 1)
    // RAM area.
    /// 0 off, 1 on (128: take the present position as the middle; not used).
    public static let torqueEnable = ServoRegister(40, 1)
    public static let acceleration = ServoRegister(41, 1)
    public static let goalPosition = ServoRegister(42, 2)
    public static let goalTime = ServoRegister(44, 2)
    public static let goalSpeed = ServoRegister(46, 2)
    /// 0: EEPROM writes persist; 1: locked (writes change the running value only).
    public static let lock = ServoRegister(55, 1)
    public static let presentPosition = ServoRegister(56, 2)
    public static let presentSpeed = ServoRegister(58, 2)
    /// 0.1 % of the maximum, sign in bit 10.
    public static let presentLoad = ServoRegister(60, 2)
    public static let presentVoltage = ServoRegister(62, 1)
    public static let presentTemperature = ServoRegister(63, 1)
    public static let status = ServoRegister(65, 1)
    public static let moving = ServoRegister(66, 1)
    /// Unit 6.5 mA, sign in bit 15.
    public static let presentCurrent = ServoRegister(69, 2)

    /// Status/error bits (the ERR byte of a status packet and address 65).
    public enum StatusBit {
        public static let voltage: UInt8 = 1 << 0
        public static let sensor: UInt8 = 1 << 1
        public static let temperature: UInt8 = 1 << 2
        public static let current: UInt8 = 1 << 3
        public static let angle: UInt8 = 1 << 4
        public static let overload: UInt8 = 1 << 5
    }

    /// STS3215 (SO-100/SO-101): 4096 counts/rev, speed in counts/s, current 6.5 mA; position
    /// and constant-speed modes (no current control).
    public static let sts3215 = ServoModel(
        name: "STS3215", bus: .feetech, modelNumber: 777, countsPerRevolution: 4096, positionWraps: true,
        radiansPerSecondPerVelocityUnit: 2 * Double.pi / 4096, ampsPerCurrentUnit: 0.0065, signBit: 15,
        currentModeValue: nil, velocityModeValue: 1, positionModeValue: 0,
        id: id, baudRate: baudRate, returnDelay: returnDelayTime, operatingMode: operatingMode,
        torqueEnable: torqueEnable, goalCurrent: nil, goalVelocity: goalSpeed, goalPosition: goalPosition,
        stateBlock: ServoRegister(56, 15), positionInBlock: ServoRegister(0, 2), velocityInBlock: ServoRegister(2, 2),
        currentInBlock: ServoRegister(13, 2), busWatchdog: nil, hardwareError: nil, eepromLock: lock,
        firstRAMAddress: 40, stallTorqueNm: 1.6, stallCurrentAmps: 2.7)

    public static let models: [ServoModel] = [sts3215]
}
