import Foundation
import Testing

@testable import Hardware

@Suite("The bus section of a servo robot file")
struct ServoBusFileTests {
    private func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "servo-robot-\(UInt32.random(in: 0...UInt32.max)).json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("an SO-101-style Feetech arm: six STS3215 joints, ids, directions, zero offsets")
    func feetechArm() throws {
        let joints = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
            .enumerated().map { "{\"name\": \"\($0.element)\", \"id\": \($0.offset + 1), \"model\": \"STS3215\"\($0.offset == 1 ? ", \"direction\": -1" : "")}" }
            .joined(separator: ", ")
        let path = try write("{\"id\": \"so101\", \"bus\": {\"type\": \"feetech\", \"port\": \"/dev/ttyACM0\", \"baud\": 1000000, \"joints\": [\(joints)]}}")
        defer { unlink(path) }
        let c = try ServoBusConfiguration(robotFile: path)
        #expect(c.bus == .feetech && c.devicePath == "/dev/ttyACM0" && c.baudRate == 1_000_000 && c.robotID == "so101")
        #expect(c.joints.map(\.id) == [1, 2, 3, 4, 5, 6])
        #expect(c.joints[1].direction == -1 && c.joints[0].zeroOffsetCounts == 2048)
        #expect(c.bytesPerTick(mode: .position) == (request: 6 + 2 + 6, replies: 6 * 21, write: 6 + 2 + 6 * 3))
    }

    @Test("errors name the file and the field: unknown model, wrong baud, missing id")
    func errors() throws {
        let cases: [(String, String)] = [
            ("{\"bus\": {\"type\": \"dynamixel\", \"port\": \"p\", \"joints\": [{\"name\": \"a\", \"id\": 1, \"model\": \"STS3215\"}]}}",
             "bus.joints[0].model: \"STS3215\" is not a Dynamixel Protocol 2.0 model"),
            ("{\"bus\": {\"type\": \"feetech\", \"port\": \"p\", \"baud\": 57601, \"joints\": [{\"name\": \"a\", \"id\": 1, \"model\": \"STS3215\"}]}}",
             "bus.baud: Feetech STS/SCS servos cannot run at 57601 baud"),
            ("{\"bus\": {\"type\": \"feetech\", \"port\": \"p\", \"joints\": [{\"name\": \"a\", \"model\": \"STS3215\"}]}}",
             "bus.joints[0].id: missing"),
            ("{\"bus\": {\"type\": \"can\", \"port\": \"p\", \"joints\": []}}", "bus.type: \"can\" is not a servo bus"),
        ]
        for (text, message) in cases {
            let path = try write(text)
            defer { unlink(path) }
            #expect { try ServoBusConfiguration(robotFile: path) } throws: { e in
                "\(e)".hasPrefix(path + ": ") && "\(e)".contains(message) && !"\(e)".contains("\n")
            }
        }
    }
}
