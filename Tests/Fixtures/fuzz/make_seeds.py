#!/usr/bin/env python3
"""Writes the fuzzing seed corpus, one directory per reader (standard library only):

    python3 Tests/Fixtures/fuzz/make_seeds.py

Each directory holds valid files (so the fuzzer starts deep inside the format) and every
hostile file of issue 13 that crashed or stalled a reader (names start with `crash-`): a
288-byte policy declaring huge layers, npy/npz shapes whose product overflows, stored
entries declaring more bytes than present, bad zip64 records, calibrations whose limits
trapped later, action scales of -2, 1e30, inf and 1e39. FuzzSeedBadInputTests feeds every
file here through its reader and expects a value or an error, never a trap; scripts/fuzz.sh
starts libFuzzer from them.
"""
import io, json, os, struct, zipfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(reader, name, data):
    d = os.path.join(HERE, reader)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# MARK: safetensors and policies

def safetensors(tensors, metadata=None, pad=True):
    """tensors: name -> (shape, [floats]); laid out in name order like SafeTensors.encode."""
    header, offset, body = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        shape, values = tensors[name]
        data = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        body += data
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + body


def policy_tensors(sizes, head="tanh_gaussian"):
    t = {}
    for l in range(len(sizes) - 1):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        t[f"policy.{l}.weight"] = ([fan_out, fan_in], [((i * 7 + l) % 11 - 5) / 10 for i in range(fan_in * fan_out)])
        t[f"policy.{l}.bias"] = ([fan_out], [0.01 * i for i in range(fan_out)])
    if head == "tanh_gaussian":
        t["policy.log_std_scale"] = ([1], [1.0])
        t["policy.log_std_bias"] = ([1], [-1.0])
    return t


def policy_metadata(sizes, head="tanh_gaussian", scale="[2.0]", acts=None):
    acts = acts or ["relu"] * (len(sizes) - 2) + ["identity"]
    return {"format": "pt", "policy.layer_sizes": json.dumps(sizes), "policy.activations": json.dumps(acts),
            "policy.head": head, "policy.observation_mean": json.dumps([0.0] * sizes[0]),
            "policy.observation_std": json.dumps([1.0] * sizes[0]), "policy.action_scale": scale}


good = [3, 8, 8, 2]
valid_policy = safetensors(policy_tensors(good), policy_metadata(good))
huge = [3, 1000000, 1000000, 2]
# Metadata declaring two 10^6-wide layers, no tensors for them: 4 TB before the fix.
huge_policy = safetensors({"policy.log_std_scale": ([1], [1.0])}, policy_metadata(huge), pad=False)
wide = [3, 20000, 20000, 2]
wide_policy = safetensors({"policy.log_std_scale": ([1], [1.0])}, policy_metadata(wide), pad=False)
for reader in ("policy", "safetensors"):
    put(reader, "valid-policy.safetensors", valid_policy)
    put(reader, "crash-huge-layers.safetensors", huge_policy)
    put(reader, "crash-wide-layers.safetensors", wide_policy)
for label, scale in (("minus2", "[-2]"), ("1e30", "[1e30]"), ("inf", "[Infinity]"), ("1e39", "[1e39]"),
                     ("null", "[null]"), ("zero", "[0]")):
    put("policy", f"crash-action-scale-{label}.safetensors", safetensors(policy_tensors(good), policy_metadata(good, scale=scale)))
tanh = [3, 4, 1]
put("policy", "valid-tanh-head.safetensors",
    safetensors(policy_tensors(tanh, "tanh"), policy_metadata(tanh, head="tanh", scale="[1.5]", acts=["tanh", "identity"])))
put("safetensors", "valid-two-tensors.safetensors", safetensors({"a": ([2, 3], [1, 2, 3, 4, 5, 6]), "b": ([1], [7])}, {"k": "v"}))
put("safetensors", "crash-shape-overflow.safetensors",
    struct.pack("<Q", 80) + json.dumps({"x": {"dtype": "F32", "shape": [4294967296, 4294967296, 16],
                                            "data_offsets": [0, 0]}}).encode().ljust(80))
put("safetensors", "crash-empty-huge-dimension.safetensors",
    struct.pack("<Q", 64) + json.dumps({"x": {"dtype": "F32", "shape": [10**12, 0], "data_offsets": [0, 0]}}).encode().ljust(64))
put("safetensors", "crash-offsets-past-end.safetensors",
    struct.pack("<Q", 64) + json.dumps({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 1 << 60]}}).encode().ljust(64))
put("safetensors", "crash-header-length-huge.safetensors", struct.pack("<Q", (1 << 64) - 1) + b"{}")

# MARK: numpy

def npy(descr, shape, data, version=1):
    shape_text = "()" if not shape else "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    h = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    prefix = 10 if version == 1 else 12
    h += " " * ((64 - (prefix + len(h) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h.encode("latin1") + data


def npz(entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            # A fixed date, so that the seeds are byte-for-byte reproducible.
            z.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def f32(values):
    return struct.pack(f"<{len(values)}f", *values)


n = 4
d4rl = npz([("observations", npy("<f4", [n, 3], f32([0.1 * i for i in range(3 * n)]))),
            ("actions", npy("<f4", [n, 1], f32([0.5] * n))),
            ("rewards", npy("<f4", [n], f32([-1.0] * n))),
            ("next_observations", npy("<f4", [n, 3], f32([0.2 * i for i in range(3 * n)]))),
            ("terminals", npy("|b1", [n], bytes([0, 0, 0, 1]))),
            ("timeouts", npy("|b1", [n], bytes([0, 0, 0, 0])))])
put("numpy", "valid-d4rl.npz", d4rl)
put("numpy", "valid-f8-v2.npy", npy("<f8", [2, 2], struct.pack("<4d", 1, 2, 3, 4), version=2))
put("numpy", "valid-i8-scalar.npy", npy("<i8", [], struct.pack("<q", 42)))
# Shape product overflows Int (NumpyArchive.swift:260 before the fix).
put("numpy", "crash-shape-overflow.npy", npy("<f4", [4294967296, 4294967296, 4], b""))
# No data, but a first dimension that readers would size their buffers by.
put("numpy", "crash-empty-huge-rows.npz", npz([("real_observations", npy("<f4", [10**12, 0], b""))]))
put("numpy", "crash-shape-overflow-in-npz.npz", npz([("observations", npy("<f8", [1 << 40, 1 << 40], b""))]))
# A stored entry whose central directory declares more bytes than are stored (:323).
z = bytearray(npz([("rewards", npy("<f4", [2], f32([1, 2])))]))
cd = z.rfind(b"PK\x01\x02")
struct.pack_into("<I", z, cd + 24, 0x7FFFFFF0)  # uncompressed size
put("numpy", "crash-declared-size-beyond-data.npz", bytes(z))
# Zip64: an end-of-central-directory locator pointing at a record with absurd counts and offsets.
z = bytearray(npz([("rewards", npy("<f4", [2], f32([1, 2])))]))
eocd = z.rfind(b"PK\x05\x06")
struct.pack_into("<H", z, eocd + 10, 0xFFFF)
z64 = len(z[:eocd])
for label, count, offset in (("count", (1 << 64) - 1, 0), ("cd-offset", 1, (1 << 63) - 1)):
    # An entry count that reads as -1, or a central directory at Int.max (both trapped).
    record64 = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, count, count, 100, offset)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, z64, 1)
    put("numpy", f"crash-bad-zip64-{label}.npz", bytes(z[:eocd]) + record64 + locator + bytes(z[eocd:]))
# A zip64 extra field giving a local-header offset near Int.max.
z = bytearray(npz([("rewards", npy("<f4", [2], f32([1, 2])))]))
cd = z.rfind(b"PK\x01\x02")
struct.pack_into("<I", z, cd + 42, 0xFFFFFFFF)
name_len = struct.unpack_from("<H", z, cd + 28)[0]
extra = struct.pack("<HHQ", 1, 8, (1 << 63) - 1)
struct.pack_into("<H", z, cd + 30, len(extra))
head, tail = z[:cd + 46 + name_len], z[cd + 46 + name_len:]
eocd_rel = tail.rfind(b"PK\x05\x06")
tail = bytearray(tail)
size_cd = struct.unpack_from("<I", tail, eocd_rel + 12)[0]
struct.pack_into("<I", tail, eocd_rel + 12, size_cd + len(extra))
put("numpy", "crash-zip64-offset.npz", bytes(head) + extra + bytes(tail))

# MARK: calibration and robot configuration

calibration = json.load(open(os.path.join(HERE, "..", "..", "..", "calibration", "emulated-pendulum.json")))
put("calibration", "valid-emulated-pendulum.json", json.dumps(calibration, indent=2))


def calibration_with(label, path, value):
    c = json.loads(json.dumps(calibration))
    target = c
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    put("calibration", f"crash-{label}.json", json.dumps(c, indent=2))


calibration_with("torque-limit-2.1e6", ["joints", 0, "torque_limit_nm"], 2.1e6)
calibration_with("counts-per-rev-5e9", ["joints", 0, "encoder_counts_per_rev"], 5e9)
calibration_with("zero-offset-5e9", ["joints", 0, "zero_offset_counts"], 5e9)
calibration_with("rate-1e-300", ["control_rate_hz"], 1e-300)
calibration_with("rate-1e12", ["control_rate_hz"], 1e12)
calibration_with("rate-20000", ["control_rate_hz"], 20000)
calibration_with("velocity-limit-1e300", ["joints", 0, "velocity_limit_rad_s"], 1e300)
c = json.loads(json.dumps(calibration))
c["system_identification"] = {"parameters": {"mass": 1.0}, "standard_errors": {"mass": 0.1},
                              "held_out_error_before": 0.2, "held_out_error_after": 0.1}
c["joints"][0]["position_min_rad"], c["joints"][0]["position_max_rad"] = -1.5, 1.5
put("calibration", "valid-with-sysid-and-range.json", json.dumps(c))

# Robot files (robotctl-robot/1, RobotSpec.load); the old robot configuration format is gone.
joint = {"name": "pendulum", "type": "revolute", "limits": {"velocity": 12}, "encoder": {"counts_per_rev": 4096},
         "link": {"length": 1.0, "mass": 1.0}, "actuator": {"mode": "torque", "effort_limit": 2.0}}
robot = {"format": "robotctl-robot/1", "id": "fuzz-pendulum", "joints": [joint],
         "link": {"bus": "firmware", "port": "/dev/ttyACM0", "baud": 1000000}, "calibration": "pendulum.json",
         "gpio": {"chip": "gpiochip0", "estop_line": 17, "enable_line": 27, "led_line": 22, "estop_active_low": True}}
put("robotconfig", "valid-robot.json", json.dumps(robot, indent=2))
put("robotconfig", "valid-minimal.json", json.dumps({"format": "robotctl-robot/1", "id": "m", "joints": [joint],
                                                      "link": {"bus": "firmware", "port": "/dev/ttyUSB0"}}))
for label, value in (("baud-5e9", 5e9), ("baud-negative", -9600)):
    r = json.loads(json.dumps(robot))
    r["link"]["baud"] = value
    put("robotconfig", f"crash-{label}.json", json.dumps(r))
r = json.loads(json.dumps(robot))
r["gpio"]["estop_line"] = 1e11
put("robotconfig", "crash-gpio-line-1e11.json", json.dumps(r))

# MARK: datasets (first byte 0: schema.json, 1: a segment of the pendulum task, N=3, M=1)

schema = {"format": "robotctl-dataset", "formatVersion": 1, "robotID": "emulated-pendulum", "task": "pendulum",
          "calibrationHash": "0123456789abcdef", "controlRateHz": 200.0,
          "observation": [{"name": "cos_theta", "unit": "1"}, {"name": "sin_theta", "unit": "1"},
                          {"name": "theta_dot", "unit": "rad/s"}],
          "action": [{"name": "torque", "unit": "N*m"}], "rewardDefinition": "-(theta^2)", "source": "real",
          "createdUTC": "2026-12-04T00:00:00Z"}
put("dataset", "valid-schema.json", b"\x00" + json.dumps(schema, indent=2).encode())
s = dict(schema)
s["controlRateHz"] = 1e308
put("dataset", "crash-schema-rate-1e308.json", b"\x00" + json.dumps(s).encode())


def seg_header(index, n, m):
    h = b"RCDSSEG1" + struct.pack("<IIIII", 1, index, n, m, 44 + 4 * (n + m))
    return h + struct.pack("<I", zlib.crc32(h) & 0xFFFFFFFF)


def record(tick, obs, act, flags=0):
    p = struct.pack("<QQQIIfIHH", 1_000_000_000 + tick * 5_000_000, tick, 1, 0, flags, -0.5, 0, len(obs), len(act))
    p += struct.pack(f"<{len(obs)}f", *obs) + struct.pack(f"<{len(act)}f", *act)
    return struct.pack("<II", len(p), zlib.crc32(p) & 0xFFFFFFFF) + p


segment = seg_header(0, 3, 1) + b"".join(record(t, [1.0, 0.0, 0.1 * t], [0.5], 1 if t == 0 else 0) for t in range(4))
put("dataset", "valid-segment.rcds", b"\x01" + segment)
put("dataset", "crash-torn-segment.rcds", b"\x01" + segment[:-13])
bad = bytearray(segment)
struct.pack_into("<I", bad, 32, 0xFFFFFFF0)  # first record's length
put("dataset", "crash-record-length-huge.rcds", b"\x01" + bytes(bad))
