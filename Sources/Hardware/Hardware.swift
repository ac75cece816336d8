/// Hardware: serial motor bus, GPIO, teleop devices.
public enum HardwareModule {}
