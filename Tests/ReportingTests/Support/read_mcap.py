#!/usr/bin/env python3
"""Reads an MCAP file with the `mcap` package (the reference reader) and prints, as JSON,
what the Swift tests check: the channels (topic, schema name and encoding, message
encoding), message counts per topic from a full read, the summary's statistics, and the
first message of each topic decoded as JSON.

Usage: read_mcap.py FILE.mcap
"""
import json
import sys

from mcap.reader import make_reader


def main(path):
    out = {"channels": {}, "counts": {}, "first": {}, "summary_counts": {}}
    with open(path, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        for cid, ch in summary.channels.items():
            schema = summary.schemas.get(ch.schema_id)
            json.loads(schema.data)  # every schema is valid JSON (a JSON Schema)
            out["channels"][ch.topic] = {
                "schema": schema.name, "schema_encoding": schema.encoding,
                "message_encoding": ch.message_encoding, "metadata": dict(ch.metadata),
            }
            out["summary_counts"][ch.topic] = summary.statistics.channel_message_counts.get(cid, 0)
        out["metadata"] = [m.name for m in reader.iter_metadata()]
        last_time = 0
        ordered = True
        for schema, channel, message in reader.iter_messages(log_time_order=False):
            topic = channel.topic
            out["counts"][topic] = out["counts"].get(topic, 0) + 1
            decoded = json.loads(message.data)
            if topic not in out["first"]:
                out["first"][topic] = decoded
            if message.log_time < last_time:
                ordered = False
            last_time = message.log_time
        out["file_order_is_time_order"] = ordered
    # A second, non-indexed pass validates every record and CRC from the start of the file.
    from mcap.stream_reader import StreamReader
    with open(path, "rb") as f:
        out["stream_records"] = sum(1 for _ in StreamReader(f, skip_magic=False, validate_crcs=True).records)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
