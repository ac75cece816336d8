internal import CSerialPort

/// One serial port as the system enumerates it.
public struct SerialPortInfo: Sendable, Equatable {
    /// Device path, e.g. "/dev/ttyACM0".
    public var path: String
    /// libserialport's description, e.g. "STM32 Virtual ComPort".
    public var description: String
    /// "usb", "native" or "bluetooth".
    public var transport: String
    /// USB vendor and product id, when the port is on USB.
    public var usbVendorID: UInt16?
    public var usbProductID: UInt16?
    public var manufacturer: String?
    public var product: String?
    public var serialNumber: String?

    public init(
        path: String, description: String, transport: String, usbVendorID: UInt16? = nil,
        usbProductID: UInt16? = nil, manufacturer: String? = nil, product: String? = nil,
        serialNumber: String? = nil
    ) {
        self.path = path
        self.description = description
        self.transport = transport
        self.usbVendorID = usbVendorID
        self.usbProductID = usbProductID
        self.manufacturer = manufacturer
        self.product = product
        self.serialNumber = serialNumber
    }
}

/// Serial port enumeration via libserialport (`sp_list_ports`). Pseudo-terminals are not
/// listed: libserialport only sees ports under /sys/class/tty with a device behind them.
public enum SerialPorts {
    /// Every serial port libserialport finds, sorted by path. Set-up call.
    public static func list() throws -> [SerialPortInfo] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        guard sp_list_ports(&list) == SP_OK, let list else {
            throw HardwareError(
                .ioFailure, device: "/sys/class/tty",
                problem: "cannot enumerate serial ports (error \(sp_last_error_code()))",
                fix: "check that /sys is mounted")
        }
        defer { sp_free_port_list(list) }
        var result: [SerialPortInfo] = []
        var i = 0
        while let port = list[i] {
            i += 1
            let kind = sp_get_port_transport(port)
            var info = SerialPortInfo(
                path: string(sp_get_port_name(port)) ?? "?",
                description: string(sp_get_port_description(port)) ?? "",
                transport: kind == SP_TRANSPORT_USB
                    ? "usb" : kind == SP_TRANSPORT_BLUETOOTH ? "bluetooth" : "native")
            if kind == SP_TRANSPORT_USB {
                var vid: Int32 = 0
                var pid: Int32 = 0
                if sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK {
                    info.usbVendorID = UInt16(truncatingIfNeeded: vid)
                    info.usbProductID = UInt16(truncatingIfNeeded: pid)
                }
                info.manufacturer = string(sp_get_port_usb_manufacturer(port))
                info.product = string(sp_get_port_usb_product(port))
                info.serialNumber = string(sp_get_port_usb_serial(port))
            }
            result.append(info)
        }
        return result.sorted { $0.path < $1.path }
    }

    private static func string(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        p.map { String(cString: $0) }
    }
}
