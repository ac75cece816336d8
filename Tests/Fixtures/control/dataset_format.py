#!/usr/bin/env python3
"""An independent implementation of Sources/Control/DATASET.md (version 1), standard library only.

    python3 dataset_format.py write DIR   # writes the fixture dataset the Swift tests read
    python3 dataset_format.py read DIR    # validates a dataset written by robotctl and prints it

The fixture (python_dataset/) has 2 episodes of 5 records, N=2, M=1, where every value is a
function of the tick, and a torn tail of 13 bytes; DatasetTests checks the Swift reader gets
exactly those 10 records and reports the 13 bytes.
"""
import json, os, struct, sys, zlib

MAGIC = b"RCDSSEG1"

def payload_size(n, m):
    return 44 + 4 * (n + m)

def header(index, n, m):
    h = MAGIC + struct.pack("<IIIII", 1, index, n, m, payload_size(n, m))
    return h + struct.pack("<I", zlib.crc32(h) & 0xFFFFFFFF)

def record(ts, tick, version, episode, flags, reward, dropped, obs, act):
    p = struct.pack("<QQQIIfIHH", ts, tick, version, episode, flags, reward, dropped, len(obs), len(act))
    p += struct.pack(f"<{len(obs)}f", *obs) + struct.pack(f"<{len(act)}f", *act)
    return struct.pack("<II", len(p), zlib.crc32(p) & 0xFFFFFFFF) + p

def write(d):
    os.makedirs(d, exist_ok=True)
    schema = {"format": "robotctl-dataset", "formatVersion": 1, "robotID": "python", "task": "fixture",
              "calibrationHash": "", "controlRateHz": 200.0,
              "observation": [{"name": "x", "unit": "rad"}, {"name": "v", "unit": "rad/s"}],
              "action": [{"name": "u", "unit": "1"}], "rewardDefinition": "-x^2", "source": "sim",
              "createdUTC": "2026-11-28T00:00:00Z"}
    json.dump(schema, open(os.path.join(d, "schema.json"), "w"), indent=2, sort_keys=True)
    data = header(0, 2, 1)
    for tick in range(10):
        flags = (1 if tick % 5 == 0 else 0) | (4 if tick % 5 == 4 else 0)
        data += record(1_000_000_000 + tick * 5_000_000, tick, 3, tick // 5, flags, -tick * 0.5, 0,
                       [tick * 0.5, -tick * 0.25], [tick / 16])
    data += record(0, 10, 3, 2, 1, 0, 0, [0, 0], [0])[:13]  # torn tail
    open(os.path.join(d, "segment-000000.rcds"), "wb").write(data)

def read(d):
    schema = json.load(open(os.path.join(d, "schema.json")))
    n, m = len(schema["observation"]), len(schema["action"])
    size = payload_size(n, m)

    def valid_at(data, off):
        if off + 8 + size > len(data):
            return False
        length, crc = struct.unpack("<II", data[off:off + 8])
        body = data[off + 8:off + 8 + size]
        return length == size and zlib.crc32(body) & 0xFFFFFFFF == crc and struct.unpack("<HH", body[40:44]) == (n, m)

    for name in sorted(f for f in os.listdir(d) if f.startswith("segment-") and f.endswith(".rcds")):
        data = open(os.path.join(d, name), "rb").read()
        header_ok = len(data) >= 32 and data[:8] == MAGIC and struct.unpack("<I", data[28:32])[0] == zlib.crc32(data[:28]) & 0xFFFFFFFF
        if not header_ok:
            print(f"{name}: bad header, resyncing past it")
        off, count, good_end, kept = 32, 0, (32 if header_ok else 0), 0
        while off < len(data):
            if not valid_at(data, off):
                # Damage: resync at the next offset where a complete valid record starts.
                nxt = next((o for o in range(off + 1, len(data) - 8 - size + 1) if valid_at(data, o)), None)
                if nxt is None:
                    break
                off = nxt
                continue
            body = data[off + 8:off + 8 + size]
            ts, tick, version, episode, flags, reward, dropped, nn, mm = struct.unpack("<QQQIIfIHH", body[:44])
            values = struct.unpack(f"<{n + m}f", body[44:])
            print(f"tick {tick} ep {episode} flags {flags:#x} v{version} r {reward:g} obs {values[:n]} act {values[n:]}")
            off += 8 + size
            count += 1
            good_end = off
        dropped = len(data) - (32 if header_ok else 0) - count * (8 + size)
        print(f"{name}: {count} records, {dropped} bytes dropped")

if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
