#!/usr/bin/env python3
"""Generates protocol-v1.txt, the shared test vectors of PROTOCOL.md (format: README.md).

An independent reference of the link layer (COBS, CRC-32C) and the message
layer, written from PROTOCOL.md alone, so that the C firmware and the Swift host codec are
both checked against a third implementation. Run by hand: python3 generate.py > protocol-v1.txt
Deterministic (fixed seed); standard library only.
"""
import random
import struct
import sys

VERSION = 1
MAX_PAYLOAD = 128
MAX_ENCODED = MAX_PAYLOAD + 1

TYPES = {
    0x01: "hello", 0x02: "configure", 0x03: "command", 0x04: "estop", 0x05: "clear_fault",
    0x06: "param_get", 0x07: "param_set", 0x08: "state_request",
    0x81: "capabilities", 0x82: "state", 0x83: "param_value", 0x84: "ack", 0x85: "nack",
}
CODES = {name: code for code, name in TYPES.items()}


def crc32c(data: bytes) -> int:
    """CRC-32C: poly 0x1EDC6F41 (reflected 0x82F63B78), init and xorout 0xFFFFFFFF, reflected."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """Canonical COBS: a 254-byte run ending the data is not followed by an empty block."""
    out = bytearray()
    block = bytearray()
    full = False  # the last thing emitted was a full 0xFF block
    for b in data:
        full = False
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(0xFF)
                out += block
                block = bytearray()
                full = True
    if not full:
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def payload(type_code: int, seq: int, body: bytes, version: int = VERSION) -> bytes:
    head = struct.pack("<BBH", version, type_code, seq) + body
    return head + struct.pack("<I", crc32c(head))


def frame(type_code: int, seq: int, body: bytes, version: int = VERSION) -> bytes:
    return cobs_encode(payload(type_code, seq, body, version)) + b"\x00"


class Receiver:
    """The byte-by-byte receiver of PROTOCOL.md section 1; returns link events."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.enc = 0
        self.left = 0
        self.code = 0
        self.buf = bytearray()
        self.over = False

    def feed(self, b: int):
        if b == 0:
            ev = None
            if self.over:
                ev = ("error", "oversize")
            elif self.enc == 0:
                ev = None
            elif self.left != 0:
                ev = ("error", "cobs")
            elif len(self.buf) < 8:
                ev = ("error", "short")
            else:
                data = bytes(self.buf)
                if crc32c(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
                    ev = ("error", "crc")
                else:
                    ev = ("frame", data[0], data[1], struct.unpack("<H", data[2:4])[0], data[4:-4])
            self.reset()
            return ev
        if self.over:
            return None
        self.enc += 1
        if self.enc > MAX_ENCODED:
            self.over = True
            return None
        if self.left == 0:
            if self.enc > 1 and self.code != 0xFF:
                self.buf.append(0)
            self.code = b
            self.left = b - 1
        else:
            self.buf.append(b)
            self.left -= 1
        return None


def receive(wire: bytes):
    r = Receiver()
    return [ev for ev in (r.feed(b) for b in wire) if ev is not None]


def ints(values):
    return ",".join(str(v) for v in values)


def parse(version, type_code, body):
    """Message layer: returns (name, fields) or ('invalid', {'reason': ...})."""
    if version != VERSION:
        return "invalid", {"reason": "bad_version"}
    name = TYPES.get(type_code)
    if name is None:
        return "invalid", {"reason": "unknown_type"}
    n = len(body)

    def bad():
        return "invalid", {"reason": "bad_length"}

    if name in ("hello", "estop", "clear_fault", "state_request"):
        return (name, {}) if n == 0 else bad()
    if name == "configure":
        if n != 12:
            return bad()
        mode, _res, wd, tl, vl = struct.unpack("<BBHii", body)
        return name, {"mode": mode, "watchdog_ms": wd, "torque_limit_mnm": tl, "velocity_limit_cps": vl}
    if name == "command":
        if n < 1 or not 1 <= body[0] <= 8 or n != 1 + 4 * body[0]:
            return bad()
        return name, {"setpoints": ints(struct.unpack("<%di" % body[0], body[1:]))}
    if name == "param_get":
        if n != 3:
            return bad()
        pid, idx = struct.unpack("<HB", body)
        return name, {"id": pid, "index": idx}
    if name == "param_set":
        if n != 7:
            return bad()
        pid, idx, val = struct.unpack("<HBi", body)
        return name, {"id": pid, "index": idx, "value": val}
    if name == "capabilities":
        if n < 12 or not 1 <= body[6] <= 8 or n != 12 + 8 * body[6]:
            return bad()
        es, pv, ma, mi, pa, mc, modes, rate, mp = struct.unpack("<HBBBBBBHH", body[:12])
        cpr, tmax = [], []
        for i in range(mc):
            c, t = struct.unpack("<Ii", body[12 + 8 * i:20 + 8 * i])
            cpr.append(c)
            tmax.append(t)
        return name, {"echo_seq": es, "protocol_version": pv, "fw_major": ma, "fw_minor": mi,
                      "fw_patch": pa, "motor_count": mc, "modes": modes, "control_rate_hz": rate,
                      "max_payload": mp, "counts_per_rev": ints(cpr), "torque_max_mnm": ints(tmax)}
    if name == "state":
        if n < 11 or not 1 <= body[10] <= 8 or n != 11 + 10 * body[10]:
            return bad()
        es, faults, ts, mode, status, cnt = struct.unpack("<HHIBBB", body[:11])
        pos, vel, cur = [], [], []
        for i in range(cnt):
            p, v, c = struct.unpack("<iih", body[11 + 10 * i:21 + 10 * i])
            pos.append(p)
            vel.append(v)
            cur.append(c)
        return name, {"echo_seq": es, "faults": faults, "timestamp_us": ts, "mode": mode,
                      "status": status, "positions": ints(pos), "velocities": ints(vel),
                      "currents_ma": ints(cur)}
    if name == "param_value":
        if n != 9:
            return bad()
        es, pid, idx, val = struct.unpack("<HHBi", body)
        return name, {"echo_seq": es, "id": pid, "index": idx, "value": val}
    if name == "ack":
        if n != 3:
            return bad()
        es, t = struct.unpack("<HB", body)
        return name, {"echo_seq": es, "type": t}
    if name == "nack":
        if n != 4:
            return bad()
        es, t, e = struct.unpack("<HBB", body)
        return name, {"echo_seq": es, "type": t, "error": e}
    raise AssertionError(name)


# ---- message bodies -------------------------------------------------------------------

def b_configure(mode, wd, tl, vl):
    return struct.pack("<BBHii", mode, 0, wd, tl, vl)


def b_command(setpoints):
    return struct.pack("<B%di" % len(setpoints), len(setpoints), *setpoints)


def b_caps(es, fw, cpr, tmax, modes=0x0E, rate=1000, mp=MAX_PAYLOAD):
    body = struct.pack("<HBBBBBBHH", es, VERSION, fw[0], fw[1], fw[2], len(cpr), modes, rate, mp)
    for c, t in zip(cpr, tmax):
        body += struct.pack("<Ii", c, t)
    return body


def b_state(es, faults, ts, mode, status, motors):
    body = struct.pack("<HHIBBB", es, faults, ts, mode, status, len(motors))
    for p, v, c in motors:
        body += struct.pack("<iih", p, v, c)
    return body


# ---- output ---------------------------------------------------------------------------

out = []


def emit_vector(name, note, wire, canonical=False):
    out.append("vector %s" % name)
    out.append("note %s" % note)
    out.append("wire %s" % (wire.hex() if wire else "-"))
    if canonical:
        out.append("canonical")
    for ev in receive(wire):
        if ev[0] == "error":
            out.append("error %s" % ev[1])
        else:
            _, ver, typ, seq, body = ev
            out.append("frame version=%d type=0x%02x seq=%d body=%s" % (ver, typ, seq, body.hex() or "-"))
            name_, fields = parse(ver, typ, body)
            out.append(" ".join(["message", name_] + ["%s=%s" % kv for kv in fields.items()]))
    out.append("end")
    out.append("")


def main():
    rng = random.Random(20261128)
    out.append("# Shared test vectors of firmware-proto/PROTOCOL.md, protocol version 1.")
    out.append("# Generated by generate.py (python3 generate.py > protocol-v1.txt); format: README.md.")
    out.append("")
    # CRC check values.
    for data in [b"123456789", b"", b"\x00", b"\xff" * 4, bytes(range(32))]:
        out.append("crc %s %08x" % (data.hex() or "-", crc32c(data)))
    out.append("")
    # COBS encodings, including the 254-byte block boundaries.
    for data in [b"\x00", b"\x00\x00", b"\x11\x22\x00\x33", b"\x11\x22\x33\x44", b"\x11\x00\x00\x00",
                 bytes(range(1, 254)), bytes(range(1, 255)), bytes(range(1, 256)),
                 bytes(range(0, 255)), bytes(range(2, 256)) + b"\x00\x01"]:
        out.append("cobs %s %s" % (data.hex(), cobs_encode(data).hex()))
    out.append("")

    valid = []  # (name, note, wire)

    def v(name, note, type_code, seq, body):
        w = frame(type_code, seq, body)
        valid.append((name, w))
        emit_vector(name, note, w, canonical=True)
        return w

    v("hello", "HELLO, seq 0", 0x01, 0, b"")
    v("hello_seq_max", "HELLO with the largest sequence number", 0x01, 65535, b"")
    v("configure_torque", "CONFIGURE torque mode, 100 ms watchdog, 2 N.m limit, no velocity limit",
      0x02, 1, b_configure(1, 100, 2000, 0))
    v("configure_position", "CONFIGURE position mode, 20 ms watchdog, 500 mN.m, 40000 counts/s",
      0x02, 2, b_configure(3, 20, 500, 40000))
    v("configure_idle", "CONFIGURE idle", 0x02, 3, b_configure(0, 100, 1, 0))
    v("command_1", "COMMAND one motor, +1.5 N.m", 0x03, 4, b_command([1500]))
    v("command_1_negative", "COMMAND one motor, -2 N.m", 0x03, 5, b_command([-2000]))
    v("command_1_zero", "COMMAND one motor, zero (payload with many zero bytes)", 0x03, 256, b_command([0]))
    v("command_2", "COMMAND two motors", 0x03, 4660, b_command([123456, -1]))
    v("command_8", "COMMAND eight motors, extreme values", 0x03, 65535,
      b_command([0, 1, -1, 2147483647, -2147483648, 255, 256, -256]))
    v("estop", "ESTOP", 0x04, 7, b"")
    v("clear_fault", "CLEAR_FAULT", 0x05, 8, b"")
    v("param_get_kp", "PARAM_GET kp of motor 1", 0x06, 9, struct.pack("<HB", 0x0012, 1))
    v("param_set_watchdog", "PARAM_SET watchdog_ms = 250", 0x07, 10, struct.pack("<HBi", 0x0001, 0, 250))
    v("param_set_position_min", "PARAM_SET position_min of motor 0 = -4096", 0x07, 11,
      struct.pack("<HBi", 0x0010, 0, -4096))
    v("state_request", "STATE_REQUEST", 0x08, 12, b"")
    v("capabilities_1", "CAPABILITIES: 1 motor, 4096 counts/rev, 2 N.m peak, firmware 1.0.0",
      0x81, 0, b_caps(0, (1, 0, 0), [4096], [2000]))
    v("capabilities_8", "CAPABILITIES: 8 motors", 0x81, 1,
      b_caps(65535, (1, 2, 3), [4096, 2048, 1024, 8192, 16384, 100000, 1, 4294967295],
             [2000, 1000, 500, 3000, 100, 2147483647, 1, 0]))
    v("state_1", "STATE, 1 motor, torque mode, motors on with setpoint", 0x82, 2,
      b_state(4, 0, 123456789, 1, 0x05, [(-1024, 2500, -830)]))
    v("state_1_watchdog", "STATE, watchdog fault latched, motors off", 0x82, 3,
      b_state(40, 0x0001, 4294967295, 1, 0x00, [(0, 0, 0)]))
    v("state_2", "STATE, 2 motors, clamped, extreme values", 0x82, 4,
      b_state(65535, 0x001F, 0, 3, 0x07, [(2147483647, -2147483648, 32767), (-2147483648, 2147483647, -32768)]))
    v("state_8", "STATE, 8 motors", 0x82, 5,
      b_state(100, 0x0004, 1000000, 2, 0x01, [(i * 1000 - 3000, -i * 77, i * 100 - 400) for i in range(8)]))
    v("param_value", "PARAM_VALUE watchdog_ms = 250", 0x83, 6, struct.pack("<HHBi", 10, 0x0001, 0, 250))
    v("param_value_negative", "PARAM_VALUE position_min motor 0 = -4096", 0x83, 7,
      struct.pack("<HHBi", 11, 0x0010, 0, -4096))
    v("ack", "ACK of a CONFIGURE", 0x84, 8, struct.pack("<HB", 1, 0x02))
    v("nack", "NACK of a COMMAND: MOTOR_COUNT", 0x85, 9, struct.pack("<HBB", 4, 0x03, 4))

    # Message-layer errors (link layer accepts them).
    emit_vector("bad_version", "version 2: link OK, message layer rejects (NACK BAD_VERSION)",
                frame(0x01, 13, b"", version=2))
    emit_vector("unknown_type", "type 0x09: NACK UNKNOWN_TYPE", frame(0x09, 14, b""))
    emit_vector("unknown_type_0x80", "type 0x80", frame(0x80, 14, b"\x01\x02"))
    emit_vector("hello_with_body", "HELLO with a 1-byte body: BAD_LENGTH", frame(0x01, 15, b"\x00"))
    emit_vector("command_count_mismatch", "COMMAND count 2 with one setpoint: BAD_LENGTH",
                frame(0x03, 16, struct.pack("<Bi", 2, 5)))
    emit_vector("command_count_zero", "COMMAND count 0: BAD_LENGTH", frame(0x03, 17, b"\x00"))
    emit_vector("command_count_nine", "COMMAND count 9 with 9 setpoints: BAD_LENGTH (n is 1..8)",
                frame(0x03, 18, b_command(list(range(9)))))
    emit_vector("command_empty", "COMMAND with empty body: BAD_LENGTH", frame(0x03, 19, b""))
    emit_vector("configure_short", "CONFIGURE with 11 bytes: BAD_LENGTH", frame(0x02, 20, b_configure(1, 100, 1, 0)[:11]))
    emit_vector("state_truncated", "STATE whose count says 2 but carries 1 motor: BAD_LENGTH",
                frame(0x82, 21, b_state(1, 0, 0, 1, 0, [(1, 2, 3)])[:10] + b"\x02" + struct.pack("<iih", 1, 2, 3)))
    emit_vector("max_payload", "payload of exactly 128 bytes (unknown type 0x7f): link accepts it",
                frame(0x7F, 22, bytes(rng.randrange(256) for _ in range(120))))

    # Link-layer errors.
    emit_vector("empty", "no bytes: no event", b"")
    emit_vector("delimiters_only", "empty frames are ignored", b"\x00\x00\x00")
    emit_vector("oversize_payload", "payload of 129 bytes (130 encoded): oversize",
                frame(0x7F, 23, bytes(rng.randrange(1, 256) for _ in range(121))))
    emit_vector("oversize_garbage", "300 non-zero bytes then a delimiter, then a valid HELLO",
                bytes(rng.randrange(1, 256) for _ in range(300)) + b"\x00" + frame(0x01, 24, b""))
    w = frame(0x03, 25, b_command([1500]))
    emit_vector("partial", "a COMMAND without its delimiter: no event yet", w[:-1])
    emit_vector("partial_half", "the first half of a COMMAND without delimiter", w[: len(w) // 2])
    emit_vector("truncated_cobs", "a COMMAND cut inside a COBS block, then the delimiter: cobs",
                cobs_encode(payload(0x01, 26, b"\x11\x22\x33\x44"))[:-2] + b"\x00")
    emit_vector("truncated_crc", "a COMMAND with its third-last encoded byte dropped",
                w[:-3] + w[-2:])
    emit_vector("short", "a 7-byte payload: short", cobs_encode(b"\x01\x01\x00\x00\x05\x06\x07") + b"\x00")
    emit_vector("short_one_byte", "a 1-byte frame", b"\x01\x00")
    p = bytearray(payload(0x03, 27, b_command([1500])))
    p[-1] ^= 0x01
    emit_vector("bad_crc", "a COMMAND with its CRC's last byte off by one bit", cobs_encode(bytes(p)) + b"\x00")
    p = bytearray(payload(0x03, 28, b_command([1500])))
    p[5] ^= 0x40
    emit_vector("bad_crc_body", "a COMMAND whose setpoint changed after the CRC was computed",
                cobs_encode(bytes(p)) + b"\x00")
    # Bit flips at every bit of an encoded STATE (each alone, each followed by a good frame).
    w = frame(0x82, 29, b_state(4, 0, 123456789, 1, 0x05, [(-1024, 2500, -830)]))
    good = frame(0x01, 30, b"")
    for pos in range(len(w) - 1):
        for bit in (0, 3, 7):
            c = bytearray(w)
            c[pos] ^= 1 << bit
            emit_vector("bitflip_%d_%d" % (pos, bit),
                        "STATE with bit %d of encoded byte %d flipped, then a HELLO" % (bit, pos),
                        bytes(c) + good)
    # Two bits.
    for k in range(10):
        c = bytearray(w)
        for _ in range(2):
            pos = rng.randrange(len(w) - 1)
            c[pos] ^= 1 << rng.randrange(8)
        emit_vector("bitflip2_%d" % k, "STATE with two random bit flips, then a HELLO", bytes(c) + good)
    # Delimiter lost: two frames merge.
    emit_vector("delimiter_lost", "the delimiter between two frames lost: one crc/cobs error, no frame",
                frame(0x01, 31, b"")[:-1] + frame(0x08, 32, b""))
    # Concatenation and garbage.
    emit_vector("concatenated", "three frames back to back",
                frame(0x01, 33, b"") + frame(0x02, 34, b_configure(1, 100, 2000, 0)) + frame(0x03, 35, b_command([-7])))
    emit_vector("concatenated_leading_zero", "three frames each preceded by a delimiter",
                b"\x00" + frame(0x05, 36, b"") + b"\x00" + frame(0x08, 37, b"") + b"\x00" + frame(0x04, 38, b""))
    emit_vector("garbage_then_zero", "garbage, a delimiter, then a COMMAND: one error then the frame",
                bytes([0x55, 0xAA, 0x13, 0x37, 0xFF, 0x01]) + b"\x00" + frame(0x03, 39, b_command([42])))
    emit_vector("garbage_no_zero", "garbage without delimiter merges with the next frame: it is lost, the one after is received",
                bytes([0x02, 0x55, 0xAA, 0x13]) + frame(0x03, 40, b_command([42])) + frame(0x03, 41, b_command([43])))
    emit_vector("garbage_random", "64 random bytes (zeros included), a delimiter, a STATE_REQUEST",
                bytes(rng.randrange(256) for _ in range(64)) + b"\x00" + frame(0x08, 42, b""))
    emit_vector("split_stream", "a valid frame after a partial one and a stray delimiter",
                frame(0x03, 43, b_command([1]))[:5] + b"\x00" + frame(0x03, 44, b_command([2])))

    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
