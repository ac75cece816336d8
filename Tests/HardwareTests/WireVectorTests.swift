import Foundation
import TestSupport
import Testing

@testable import Hardware

/// The message line the vectors' README specifies for a parsed message.
func describe(_ m: WireMessage) -> String {
    func list<T>(_ a: InlineArray<8, T>, _ n: Int) -> String {
        (0..<n).map { "\(a[$0])" }.joined(separator: ",")
    }
    switch m {
    case .hello: return "message hello"
    case .estop: return "message estop"
    case .clearFault: return "message clear_fault"
    case .stateRequest: return "message state_request"
    case .configure(let c):
        return
            "message configure mode=\(c.mode) watchdog_ms=\(c.watchdogMillis) torque_limit_mnm=\(c.torqueLimitMilliNm) velocity_limit_cps=\(c.velocityLimitCountsPerSecond)"
    case .command(let n, let s): return "message command setpoints=\(list(s, n))"
    case .paramGet(let id, let index): return "message param_get id=\(id) index=\(index)"
    case .paramSet(let id, let index, let v): return "message param_set id=\(id) index=\(index) value=\(v)"
    case .capabilities(let c):
        let cpr = (0..<c.motorCount).map { "\(UInt32(bitPattern: c.countsPerRevolution[$0]))" }.joined(
            separator: ",")
        return
            "message capabilities echo_seq=\(c.echoSequence) protocol_version=\(c.protocolVersion) fw_major=\(c.firmwareMajor) fw_minor=\(c.firmwareMinor) fw_patch=\(c.firmwarePatch) motor_count=\(c.motorCount) modes=\(c.modes) control_rate_hz=\(c.controlRateHz) max_payload=\(c.maxPayload) counts_per_rev=\(cpr) torque_max_mnm=\(list(c.torqueMaxMilliNm, c.motorCount))"
    case .state(let s):
        return
            "message state echo_seq=\(s.echoSequence) faults=\(s.faults) timestamp_us=\(s.timestampMicros) mode=\(s.mode) status=\(s.status) positions=\(list(s.position, s.count)) velocities=\(list(s.velocity, s.count)) currents_ma=\(list(s.currentMilliamps, s.count))"
    case .paramValue(let e, let id, let index, let v):
        return "message param_value echo_seq=\(e) id=\(id) index=\(index) value=\(v)"
    case .ack(let e, let t): return "message ack echo_seq=\(e) type=\(t)"
    case .nack(let e, let t, let err): return "message nack echo_seq=\(e) type=\(t) error=\(err)"
    case .invalid(let r): return "message invalid reason=\(r)"
    }
}

/// Feeds `wire` to a fresh receiver and returns the events as vector lines.
func events(for wire: [UInt8]) -> [String] {
    let rx = FrameReceiver()
    var out: [String] = []
    for b in wire {
        switch rx.feed(b) {
        case .frame(let f)?:
            out.append(
                "frame version=\(f.version) type=0x\(String(format: "%02x", f.type)) seq=\(f.sequence) body=\(hexString(Array(f.body)))"
            )
            out.append(describe(WireMessage.parse(f)))
        case .error(let e)?: out.append("error \(e)")
        case nil: break
        }
    }
    return out
}

@Suite("Wire codec against firmware-proto's shared vectors")
struct WireVectorTests {
    let file: WireVectorFile

    init() throws { file = try WireVectorFile.load() }

    @Test("CRC-32C matches every crc line")
    func crc() {
        #expect(file.crcs.count >= 4)
        for (data, crc) in file.crcs {
            #expect(data.withUnsafeBytes { CRC32C.checksum($0) } == crc, "crc of \(hexString(data))")
        }
    }

    @Test("COBS encodes and decodes every cobs line exactly")
    func cobs() {
        #expect(file.cobs.count >= 5)
        for (decoded, encoded) in file.cobs {
            var out = [UInt8](repeating: 0, count: COBS.maxEncodedCount(decoded.count))
            let n = decoded.withUnsafeBytes { src in
                COBS.encode(src.baseAddress!, count: decoded.count, into: &out)
            }
            #expect(Array(out[..<n]) == encoded, "encode \(hexString(decoded))")
            var back = [UInt8](repeating: 0, count: encoded.count)
            let m = COBS.decode(encoded, count: encoded.count, into: &back)
            #expect(
                m == decoded.count && Array(back[..<max(0, m)]) == decoded, "decode \(hexString(encoded))")
        }
    }

    @Test("the receiver produces exactly each vector's events, and canonical frames re-encode byte for byte")
    func vectors() {
        #expect(file.vectors.count >= 50)
        var canonicalChecked = 0
        for v in file.vectors {
            #expect(events(for: v.wire) == v.events, "vector \(v.name)")
            if v.canonical, let frameLine = v.events.first(where: { $0.hasPrefix("frame ") }) {
                let fields = Dictionary(
                    uniqueKeysWithValues: frameLine.split(separator: " ").dropFirst().map { kv in
                        let p = kv.split(separator: "=", maxSplits: 1)
                        return (String(p[0]), p[1])
                    })
                let body = hexBytes(fields["body"]!)
                let type = UInt8(fields["type"]!.dropFirst(2), radix: 16)!
                var scratch = [UInt8](repeating: 0, count: WireLimits.maxPayload)
                var out = [UInt8](repeating: 0, count: WireLimits.maxFrame)
                let n = body.withUnsafeBytes { b in
                    scratch.withUnsafeMutableBytes { s in
                        FrameEncoder.encode(
                            version: UInt8(fields["version"]!)!, type: type,
                            sequence: UInt16(fields["seq"]!)!,
                            body: b, scratch: s.baseAddress!, into: &out)
                    }
                }
                #expect(Array(out[..<n]) == v.wire, "canonical \(v.name)")
                canonicalChecked += 1
            }
        }
        #expect(canonicalChecked >= 10)
    }

    @Test("parsing then writing a message body gives back the same bytes")
    func bodyRoundTrip() {
        let rx = FrameReceiver()
        var checked = 0
        for v in file.vectors {
            for b in v.wire {
                guard case .frame(let f)? = rx.feed(b) else { continue }
                let m = WireMessage.parse(f)
                if case .invalid = m { continue }
                var out = [UInt8](repeating: 0, count: WireLimits.maxPayload)
                let (type, n) = out.withUnsafeMutableBytes { WireBody.write(m, into: $0.baseAddress!) }
                #expect(type == f.type && Array(out[..<n]) == Array(f.body), "\(v.name)")
                checked += 1
            }
        }
        #expect(checked >= 20)
    }
}
