import Foundation
import Testing
import TestSupport

@testable import Hardware

/// `robotctl run` (the built binary) on robots/pendulum-stm32f405.json: the one bring-up starts
/// the reference firmware's Cortex-M4F image under qemu-system-arm (`MCUEmulator`) and the run
/// records, fine-tunes and reports on it at 200 Hz, as on robot-emulator.
@Suite(
    "robotctl run on the reference firmware on the emulated STM32F405 (qemu-system-arm)",
    .serialized,
    .enabled(
        if: MCUEmulator.missingTools() == nil,
        "skipped: qemu-system-arm or arm-none-eabi-gcc is missing (`make cross-test` installs qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi)"
    ))
struct MCURobotRunTests {
    @Test("run --robot robots/pendulum-stm32f405.json: 55 s at 200 Hz on the MCU image, recorded, fine-tuned, reported")
    func runOnTheMCU() throws {
        let root = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let dir = NSTemporaryDirectory() + "mcu-run-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = dir + "/run"
        let r = try runProcess(
            builtProduct("robotctl"),
            ["run", "--robot", root + "/robots/pendulum-stm32f405.json", "--task", root + "/tasks/pendulum-swingup.json",
             "--duration", "55", "--pretrain-updates", "300", "--run-directory", run],
            currentDirectory: dir, timeout: 300)
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        // The bring-up started the MCU image (not robot-emulator) and drove it over its USART1 pty.
        #expect(
            r.stderr.contains("emulated robot on an STM32F405 under qemu-system-arm") && r.stderr.contains("\(MCUEmulator.runnerName) pid"),
            "\(r.stderr.suffix(1500))")
        #expect(!r.stderr.contains("robot-emulator pid"))
        #expect(r.stdout.contains("emulated robot: \(root)/robots/pendulum-stm32f405.json"), "\(r.stdout)")
        for name in ["run.json", "episodes.csv", "report.html", "policy.safetensors", "dataset/schema.json"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + name), "\(name) missing")
        }
        let info = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as? [String: Any])
        let summary = try #require(info["summary"] as? [String: Any])
        #expect(((summary["records_written"] as? NSNumber)?.intValue ?? 0) > 4000, "\(summary)")
        #expect(((summary["trainer_updates"] as? NSNumber)?.intValue ?? 0) > 0, "fine-tuning ran no update: \(summary)")
        // 200 Hz: the summary's loop rate (the first second, while QEMU settles, pulls the mean down a little).
        let rate = r.stdout.split(separator: "\n").first { $0.hasPrefix("run:") }.flatMap { line in
            line.split(separator: ",").first { $0.contains(" Hz") }.flatMap {
                Double($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
            }
        }
        #expect((rate ?? 0) > 180, "loop rate \(rate ?? 0) Hz: \(r.stdout)")
    }
}
