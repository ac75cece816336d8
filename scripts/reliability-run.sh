#!/bin/bash
# A loaded reliability run (BENCHMARKS.md, "Reliability under load"): `robotctl run` on the
# emulated robot for SECONDS (default 600) with `stress-ng --cpu 2` started beside it once the
# loop runs, then the safety stops by reason, restarts and aborted episodes from the run files.
#   scripts/reliability-run.sh [SECONDS] [WORKDIR]
# ROBOTCTL_BIN: the robotctl to run (default .build/release/robotctl).
set -euo pipefail
seconds=${1:-600}
work=${2:-$(mktemp -d /tmp/robotctl-reliability-XXXXXX)}
bin=${ROBOTCTL_BIN:-$(pwd)/.build/release/robotctl}
command -v stress-ng >/dev/null || { echo "stress-ng missing: apt-get install stress-ng" >&2; exit 2; }
mkdir -p "$work" && cd "$work"
rm -rf run
"$bin" run --duration "$seconds" --run-directory run > out.txt 2> err.txt &
run=$!
until grep -q "run directory:" err.txt 2>/dev/null || ! kill -0 $run 2>/dev/null; do sleep 1; done
stress-ng --cpu 2 --timeout "$((seconds + 10))s" > stress.txt 2>&1 &
stress=$!
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
status=0
wait $run || status=$?
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
kill $stress 2>/dev/null || true
wait $stress 2>/dev/null || true
python3 - "$status" "$load_start" "$load_end" <<'EOF'
import csv, json, sys
status, load_start, load_end = sys.argv[1:4]
summary = json.load(open("run/run.json"))["summary"]
events = list(csv.DictReader(open("run/events.csv")))
stops = [e["detail"].split(" with policy")[0] for e in events if e["kind"] == "safety_stop"]
link = sum("robot link failure" in s for s in stops)
watchdog = sum("command watchdog" in s and "robot link failure" not in s for s in stops)
print(f"exit status {status}; {summary['seconds']:.0f} s, end: {summary['end_reason']}; {summary['ticks']} ticks, "
      f"{summary['loop_hz']:.1f} Hz, jitter p99 {summary['jitter_p99_us']:.0f} µs, {summary['missed_deadlines']} missed deadlines")
print(f"safety stops {len(stops)}: robot link failure {link}, command watchdog {watchdog}, other {len(stops) - link - watchdog}; "
      f"restarts {sum(e['kind'] == 'restarted' for e in events)}")
print(f"episodes {summary['episodes']} finished, {summary['aborted_episodes']} aborted; records {summary['records_written']} written, "
      f"{summary['records_dropped']} dropped; load average {load_start} at the start, {load_end} at the end")
EOF
