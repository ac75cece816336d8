#!/usr/bin/env bash
# Reliability under load (issue 13): `robotctl run` on the default (emulated) robot for
# RELIABILITY_SECONDS (default 600) with `stress-ng --cpu 2` started beside it once the loop
# runs, and in the same run `cyclictest` (SCHED_FIFO 80, 5000 µs, on the loop's CPU) as the
# peer: what any real-time thread's wake-up gets on this machine under this load. Counts the
# safety stops by reason, restarts and aborted episodes from the run files, and notes the load
# average (other work on the machine adds to stress-ng's).
# Writes bench-results/reliability.json and bench-results/reliability.md.
# Reproduce: RELIABILITY_SECONDS=600 scripts/bench/80-reliability.sh  (ROBOTCTL_BIN: the robotctl
# to run, default .build/release/robotctl; WORKDIR: where the run directory goes, default a temp dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${BENCH_OUT:-$PWD/bench-results}"
mkdir -p "$out"
seconds="${RELIABILITY_SECONDS:-600}"
bin="${ROBOTCTL_BIN:-$PWD/.build/release/robotctl}"
work="${WORKDIR:-$(mktemp -d /tmp/robotctl-reliability-XXXXXX)}"
for tool in stress-ng cyclictest; do
    command -v "$tool" >/dev/null || { echo "80-reliability.sh: $tool missing: apt-get install stress-ng rt-tests" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "80-reliability.sh: $bin missing: build it with swift build -c release" >&2; exit 2; }
cpu=$(( $(nproc) - 1 ))
mkdir -p "$work" && cd "$work"
rm -rf run
"$bin" run --duration "$seconds" --run-directory run > out.txt 2> err.txt &
run=$!
until grep -q "run directory:" err.txt 2>/dev/null || ! kill -0 $run 2>/dev/null; do sleep 1; done
stress-ng --cpu 2 --timeout "$((seconds + 10))s" > stress.txt 2>&1 &
stress=$!
cyclictest -q -m -p 80 -i 5000 -t 1 -a "$cpu" -D "$((seconds - 5))" -h 20000 > cyclictest.txt 2>&1 &
cyclic=$!
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 20
# Scheduling of the loop, the emulator and the unbound kworkers while the run goes on.
ps -eLo pid,tid,cls,rtprio,ni,psr,comm | grep -E "robotctl|robot-emul|kworker/u|stress-ng|cyclictest" > threads.txt || true
loads=()
while kill -0 $run 2>/dev/null; do
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    sleep 10
done
status=0
wait $run || status=$?
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
kill $stress 2>/dev/null || true
wait $stress 2>/dev/null || true
wait $cyclic 2>/dev/null || true
printf '%s\n' "${loads[@]}" > loads.txt
python3 - "$status" "$load_start" "$load_end" "$seconds" "$work" "$out" "$cpu" <<'EOF'
import csv, json, sys
status, load_start, load_end, seconds, work, out, cpu = sys.argv[1:8]
summary = json.load(open("run/run.json"))["summary"]
timing = json.load(open("run/loop_timing.json"))
events = list(csv.DictReader(open("run/events.csv")))
stops = [e["detail"].split(" with policy")[0] for e in events if e["kind"] == "safety_stop"]
link = sum("robot link failure" in s for s in stops)
watchdog = sum("command watchdog" in s and "robot link failure" not in s for s in stops)
loads = [float(x) for x in open("loads.txt").read().split()]
# cyclictest -h: one line per µs bucket "<us> <count>", then "# Max Latencies: <us>".
hist, cmax = [], None
for line in open("cyclictest.txt"):
    parts = line.split()
    if line.startswith("# Max Latencies"):
        cmax = int(parts[-1])
    elif len(parts) == 2 and parts[0].isdigit():
        hist.append((int(parts[0]), int(parts[1])))
def pct(q):
    total = sum(c for _, c in hist)
    acc = 0
    for us, c in hist:
        acc += c
        if acc >= q * total: return us
    return None
total = sum(c for _, c in hist)
wake = timing["stages"]["period_error"]
read = timing["stages"]["read"]
r = {
    "seconds": summary["seconds"], "end_reason": summary["end_reason"], "exit_status": int(status),
    "ticks": summary["ticks"], "loop_hz": summary["loop_hz"], "missed_deadlines": summary["missed_deadlines"],
    "safety_stops": len(stops), "link_failure_stops": link, "watchdog_stops": watchdog,
    "other_stops": len(stops) - link - watchdog, "restarts": sum(e["kind"] == "restarted" for e in events),
    "episodes": summary["episodes"], "aborted_episodes": summary["aborted_episodes"],
    "records_written": summary["records_written"], "records_dropped": summary["records_dropped"],
    "loop_period_error_p99_us": wake["p99Micros"], "loop_period_error_max_us": wake["maxMicros"],
    "read_p99_us": read["p99Micros"], "read_max_us": read["maxMicros"],
    "cyclictest": {"samples": total, "p50_us": pct(0.5), "p99_us": pct(0.99), "p999_us": pct(0.999), "max_us": cmax},
    "load_start": load_start, "load_end": load_end,
    "load_min": min(loads) if loads else None, "load_max": max(loads) if loads else None,
    "realtime": timing.get("realtime"), "workdir": work,
}
json.dump(r, open(out + "/reliability.json", "w"), indent=1)
c = r["cyclictest"]
md = f"""## Reliability under load (issue 13)

`RELIABILITY_SECONDS={seconds} scripts/bench/80-reliability.sh`: `robotctl run --duration {seconds}` on the default
emulated robot (fine-tuning on; loop {r['realtime']}; the emulator at SCHED_FIFO 70; the unbound kworkers at SCHED_FIFO 60
while the loop runs) with `stress-ng --cpu 2` started once the loop runs, and `cyclictest -m -p 80 -i 5000 -t 1 -a {cpu}` in
the same run as the peer. Load average {load_start} at the start, {load_end} at the end (1-min figure every 10 s:
{r['load_min']}–{r['load_max']}); other sessions compile and test on this machine too, so the load is more than stress-ng's 2.

| end, exit status | ticks, rate | missed deadlines | safety stops: link failure / command watchdog / other | restarts | episodes finished / aborted | records written / dropped |
|---|---|---|---|---|---|---|
| {r['end_reason']}, {status} | {r['ticks']}, {r['loop_hz']:.1f} Hz | {r['missed_deadlines']} | {link} / {watchdog} / {r['other_stops']} | {r['restarts']} | {r['episodes']} / {r['aborted_episodes']} | {r['records_written']} / {r['records_dropped']} |

| wake-up under this load | p99 | max |
|---|---|---|
| robotctl loop (period error) | {r['loop_period_error_p99_us']:.0f} µs | {r['loop_period_error_max_us']:.0f} µs |
| cyclictest, same run ({c['samples']} samples) | {c['p99_us']} µs | {c['max_us']} µs |

The loop's `read` stage: p99 {r['read_p99_us']:.0f} µs, max {r['read_max_us']:.0f} µs (it waits at most its 3 ms budget for a reply itself).
"""
open(out + "/reliability.md", "w").write(md)
print(md)
EOF
