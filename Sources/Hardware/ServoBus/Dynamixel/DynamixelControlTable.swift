/// The DYNAMIXEL X-series control table (Protocol 2.0) entries the controller uses, from the
/// ROBOTIS e-manual pages of the XL430-W250, XM430-W210/W350 and XL330-M288
/// (https://emanual.robotis.com/docs/en/dxl/x/xm430-w350/ and siblings).
public enum DynamixelControlTable {
    // EEPROM area (written only with Torque Enable = 0).
    public static let modelNumber = ServoRegister(0, 2)
    public static let firmwareVersion = ServoRegister(6, 1)
    public static let id = ServoRegister(7, 1)
    /// 0: 9600, 1: 57 600, 2: 115 200, 3: 1 M, 4: 2 M, 5: 3 M, 6: 4 M, 7: 4.5 M.
    public static let baudRate = ServoRegister(8, 1)
    /// Unit 2 µs; factory 250 (500 µs). robotctl sets 0.
    public static let returnDelayTime = ServoRegister(9, 1)
    /// 0 current, 1 velocity, 3 position, 4 extended position, 5 current-based position, 16 PWM.
    public static let operatingMode = ServoRegister(11, 1)
    // RAM area.
    public static let torqueEnable = ServoRegister(64, 1)
    public static let hardwareErrorStatus = ServoRegister(70, 1)
    /// Unit 20 ms, 1...127; 0 disables; the servo writes -1 (0xFF) when it expired.
    public static let busWatchdog = ServoRegister(98, 1)
    public static let goalCurrent = ServoRegister(102, 2)
    public static let goalVelocity = ServoRegister(104, 4)
    public static let goalPosition = ServoRegister(116, 4)
    public static let presentCurrent = ServoRegister(126, 2)
    public static let presentVelocity = ServoRegister(128, 4)
    public static let presentPosition = ServoRegister(132, 4)

    /// Hardware Error Status bits (address 70).
    public enum HardwareError {
        public static let inputVoltage: UInt8 = 1 << 0
        public static let overheating: UInt8 = 1 << 2
        public static let motorEncoder: UInt8 = 1 << 3
        public static let electricalShock: UInt8 = 1 << 4
        public static let overload: UInt8 = 1 << 5
    }

    /// The Bus Watchdog register value for a host timeout (20 ms units, rounded up, 1...127).
    public static func busWatchdogValue(millis: Int) -> UInt8 { UInt8(min(127, max(1, (millis + 19) / 20))) }

    /// One X-series model; `currentUnitAmps` 0 means the model has no current sensing.
    static func xSeries(
        _ name: String, number: UInt16, currentUnitAmps: Double, stallTorqueNm: Double, stallCurrentAmps: Double
    ) -> ServoModel {
        var model = ServoModel(
            name: name, bus: .dynamixel, modelNumber: number, countsPerRevolution: 4096, positionWraps: false,
            radiansPerSecondPerVelocityUnit: 0.229 * 2 * Double.pi / 60, ampsPerCurrentUnit: currentUnitAmps,
            signBit: 0, currentModeValue: currentUnitAmps > 0 ? 0 : nil, velocityModeValue: 1, positionModeValue: 4,
            id: id, baudRate: baudRate, returnDelay: returnDelayTime, operatingMode: operatingMode,
            torqueEnable: torqueEnable, goalCurrent: currentUnitAmps > 0 ? goalCurrent : nil,
            goalVelocity: goalVelocity, goalPosition: goalPosition,
            stateBlock: ServoRegister(126, 10), positionInBlock: ServoRegister(6, 4),
            velocityInBlock: ServoRegister(2, 4), currentInBlock: currentUnitAmps > 0 ? ServoRegister(0, 2) : nil,
            busWatchdog: busWatchdog, hardwareError: hardwareErrorStatus, eepromLock: nil, firstRAMAddress: 64)
        model.stallTorqueNm = stallTorqueNm
        model.stallCurrentAmps = stallCurrentAmps
        return model
    }

    /// The models robotctl knows (Koch arms: XL430 + XL330; research arms: XM430).
    /// XL430-W250 reports Present Load (0.1 %), not current, at 126: no current mode, no effort.
    public static let models: [ServoModel] = [
        // Stall torque and current from the e-manual (XL430/XM430 at 12 V, XL330 at 5 V).
        xSeries("XL430-W250", number: 1060, currentUnitAmps: 0, stallTorqueNm: 1.5, stallCurrentAmps: 1.4),
        xSeries("XM430-W210", number: 1030, currentUnitAmps: 0.00269, stallTorqueNm: 3.0, stallCurrentAmps: 2.3),
        xSeries("XM430-W350", number: 1020, currentUnitAmps: 0.00269, stallTorqueNm: 4.1, stallCurrentAmps: 2.3),
        xSeries("XL330-M288", number: 1200, currentUnitAmps: 0.001, stallTorqueNm: 0.52, stallCurrentAmps: 1.47),
        xSeries("XL330-M077", number: 1190, currentUnitAmps: 0.001, stallTorqueNm: 0.215, stallCurrentAmps: 1.47),
    ]
}
