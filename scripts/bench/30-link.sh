#!/usr/bin/env bash
# Link round trip per 200 Hz tick: host -> robot-emulator -> host through MotorBusRobot, beside
# the same bytes bounced off a trivial C echo over a pseudo-terminal in the same run (the peer:
# what the kernel's pty and two process wake-ups cost with no firmware in between).
# Writes bench-results/link.json and bench-results/link.md.
# Reproduce: scripts/bench/30-link.sh   (SECONDS_PER_RUN=10 by default; SKIP_BUILD=1 to reuse a build)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${BENCH_OUT:-$PWD/bench-results}"
mkdir -p "$out"
seconds="${SECONDS_PER_RUN:-10}"

if [ -z "${SKIP_BUILD:-}" ]; then  # SKIP_BUILD=1 reuses the release build already there
    swift build -c release --product robotctl >&2
    swift build -c release --product robot-emulator >&2
fi
bin="$(swift build -c release --show-bin-path)"

# The peer: a pty echo following robot-emulator's start-up contract (first stdout line ends
# with the pty path), so robotctl starts and opens both the same way.
echo_src="$(mktemp /tmp/pty-echo-XXXXXX.c)"
echo_bin="${echo_src%.c}"
trap 'rm -f "$echo_src" "$echo_bin"' EXIT
cat > "$echo_src" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>
static volatile sig_atomic_t stop = 0;
static void on_signal(int s) { (void)s; stop = 1; }
int main(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) { perror("pty"); return 1; }
    int keep = open(ptsname(m), O_RDWR | O_NOCTTY); /* hold the slave: no hang-up on reopen */
    struct termios t;
    tcgetattr(keep, &t); cfmakeraw(&t); tcsetattr(keep, TCSANOW, &t);
    signal(SIGTERM, on_signal); signal(SIGINT, on_signal);
    printf("pty-echo: pty %s\n", ptsname(m)); fflush(stdout);
    pid_t parent = getppid();
    unsigned char buf[512];
    while (!stop && getppid() == parent) {
        struct pollfd p = {.fd = m, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = read(m, buf, sizeof buf);
        if (n > 0 && write(m, buf, (size_t)n) != n) return 1;
    }
    return 0;
}
C
gcc -O2 -std=c11 -Wall -Wextra -Werror -o "$echo_bin" "$echo_src"

"$bin/robotctl" bench link --seconds "$seconds" --peer "$echo_bin" --json > "$out/link.json"

python3 - "$out/link.json" "$seconds" > "$out/link.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); seconds = sys.argv[2]
e, p = r["emulator"], r.get("peer")
print("## Serial link (Hardware)")
print()
print(f"Round trip per tick at {r['rate_hz']:.0f} Hz, {r['ticks']} ticks each"
      f"{' (SCHED_FIFO)' if r['realtime'] else ' (normal priority: SCHED_FIFO not permitted)'}: "
      "a COMMAND written, the STATE answering it read back, through `MotorBusRobot` over the "
      "emulator's pseudo-terminal; the peer bounces the same COMMAND bytes off a C echo over a pty.")
print()
print("| path | median | p99 | max | failed ticks |")
print("|---|---|---|---|---|")
print(f"| host → robot-emulator → host | {e['median_micros']:.1f} µs | {e['p99_micros']:.1f} µs | {e['max_micros']:.1f} µs | {e['failed_ticks']} |")
if p:
    print(f"| peer: host → C pty echo → host | {p['median_micros']:.1f} µs | {p['p99_micros']:.1f} µs | {p['max_micros']:.1f} µs | {p['failed_ticks']} |")
    print(f"| ratio (ours ÷ peer) | {e['median_micros']/p['median_micros']:.2f} | {e['p99_micros']/p['p99_micros']:.2f} | | |")
print()
print(f"Frames sent {r['frames_sent']}, received {r['frames_received']}, CRC errors {r['crc_errors']}, "
      f"retries {r['retries']}, timeouts {r['timeouts']}. "
      f"Reproduce: `SECONDS_PER_RUN={seconds} scripts/bench/30-link.sh`.")
PY
cat "$out/link.md"
