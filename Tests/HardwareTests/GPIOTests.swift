import Control
import Glibc
import Synchronization
import TestSupport
import Testing

@testable import Hardware

@Suite("GPIO errors through the real libgpiod calls")
struct GPIOErrorTests {
    @Test("no GPIO chip: listing says so in one line naming /dev/gpiochip*")
    func noChip() throws {
        let empty = "/tmp/robotctl-no-gpio-\(getpid())"
        mkdir(empty, 0o755)
        defer { rmdir(empty) }
        let e = #expect(throws: HardwareError.self) { _ = try GPIOChips.list(in: empty) }
        #expect(e?.kind == .noGPIOChip)
        #expect(
            e?.description
                == "\(empty)/gpiochip*: no GPIO chip found; check that the board's GPIO driver is loaded (`ls /dev/gpiochip*` should list a chip); on a machine without GPIO, leave the e-stop, enable and LED lines unconfigured"
        )
    }

    @Test(
        "requesting an e-stop line on a machine without chips fails clearly",
        .enabled(if: GPIOChips.chipPaths().isEmpty))
    func requestWithoutChip() {
        let e = #expect(throws: HardwareError.self) {
            _ = try GPIOEmergencyStop(line: GPIOLineAddress(chip: "gpiochip0", line: .offset(4)))
        }
        #expect(e?.kind == .noGPIOChip)
        #expect(e?.description.hasPrefix("/dev/gpiochip*: no GPIO chip found;") == true)
        let o = #expect(throws: HardwareError.self) {
            _ = try GPIOStatusOutputs(
                enable: GPIOLineAddress(chip: "gpiochip0", line: .name("MOTOR_EN")), led: nil)
        }
        #expect(o?.kind == .noGPIOChip)
    }

    @Test("a device that is not a GPIO chip is named as such")
    func notAChip() {
        let e = #expect(throws: HardwareError.self) { _ = try GPIOChips.describe(chipAt: "/dev/null") }
        #expect(
            e?.description
                == "/dev/null: not a GPIO character device; name a chip such as /dev/gpiochip0 (see `robotctl gpio`)"
        )
        let missing = #expect(throws: HardwareError.self) {
            _ = try GPIOChips.describe(chipAt: "/dev/gpiochip99")
        }
        #expect(
            missing?.description
                == "/dev/gpiochip99: no such GPIO chip; run `robotctl gpio` to list the chips that exist")
    }

    @Test("a busy line names who holds it")
    func lineBusy() {
        let a = GPIOLineAddress(chip: "gpiochip0", line: .offset(17))
        #expect(
            GPIOErrors.requestingLine(a, errno: EBUSY, consumer: "gpiomon").description
                == "gpiochip0 line 17: line is busy (held by \"gpiomon\"); stop the program holding it (`gpioinfo` shows the consumer) or choose another line"
        )
        #expect(
            GPIOErrors.requestingLine(a, errno: EACCES, consumer: "").description
                == "gpiochip0 line 17: permission denied; add your user to the gpio group (`sudo usermod -aG gpio $USER`) and log in again"
        )
    }
}

@Suite("E-stop and status outputs through the in-memory fake")
struct GPIOLogicTests {
    @Test("a press latches until acknowledged after release")
    func latch() {
        let button = InMemoryDigitalInput()
        let estop = GPIOEmergencyStop(input: button)
        #expect(!estop.isTriggered())
        button.press()
        #expect(estop.isTriggered())
        #expect(!estop.acknowledge())  // still held
        #expect(estop.isTriggered())
        button.release()
        #expect(estop.isTriggered())  // latched until acknowledged
        #expect(estop.acknowledge())
        #expect(!estop.isTriggered())
        #expect(estop.triggerCount == 1)
    }

    @Test("a tap shorter than a tick still triggers")
    func tap() {
        let button = InMemoryDigitalInput()
        let estop = GPIOEmergencyStop(input: button)
        button.tap()
        #expect(estop.isTriggered())
        #expect(estop.acknowledge())
        #expect(!estop.isTriggered())
    }

    @Test("an unreadable line counts as pressed")
    func failSafe() {
        let button = InMemoryDigitalInput()
        let estop = GPIOEmergencyStop(input: button)
        button.setUnreadable(true)
        #expect(estop.isTriggered())
        #expect(!estop.acknowledge())
        #expect(estop.readErrorCount == 1)
    }

    @Test("outputs are written only on change, enable starts off, failures are counted and retried")
    func outputs() {
        let enable = InMemoryDigitalOutput()
        let led = InMemoryDigitalOutput()
        let outs = GPIOStatusOutputs(enable: enable, led: led)
        #expect(!enable.value && enable.writeCount == 1)
        for _ in 0..<100 { outs.setMotorEnable(true) }
        #expect(enable.value && enable.writeCount == 2)
        led.setFailing(true)
        outs.setStatusLED(true)
        #expect(outs.writeErrorCount == 1 && !led.value)
        led.setFailing(false)
        outs.setStatusLED(true)
        #expect(led.value)
    }

    @Test("polling the e-stop and driving outputs allocate nothing")
    func noAllocation() {
        let button = InMemoryDigitalInput()
        let estop = GPIOEmergencyStop(input: button)
        let outs = GPIOStatusOutputs(enable: InMemoryDigitalOutput(), led: InMemoryDigitalOutput())
        let n = allocationsOnThisThread {
            for k in 0..<10_000 {
                if estop.isTriggered() { _ = estop.acknowledge() }
                outs.setMotorEnable(k % 2 == 0)
                outs.setStatusLED(k % 3 == 0)
            }
        }
        #expect(n == 0)
    }
}

@Suite("E-stop latch across threads (ThreadSanitized)")
struct GPIOThreadSanitizedTests {
    @Test("a button thread and the control thread share the latch without races")
    func buttonThread() async {
        let button = InMemoryDigitalInput()
        let estop = GPIOEmergencyStop(input: button)
        let done = Atomic<Bool>(false)
        let presser = Task.detached {
            for _ in 0..<2_000 {
                button.press()
                button.release()
            }
            done.store(true, ordering: .releasing)
        }
        var polls = 0
        while !done.load(ordering: .acquiring) {
            _ = estop.isTriggered()
            polls += 1
        }
        await presser.value
        #expect(estop.isTriggered())
        #expect(estop.triggerCount == 1)
        #expect(estop.acknowledge())
    }
}
