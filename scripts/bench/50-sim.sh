#!/usr/bin/env bash
# Simulator throughput on one core: the onboard simulator (`robotctl sim bench`) beside its
# peers measured in the same run: Gymnasium's Pendulum-v1 `env.step` (per step, as agents
# call it) and the same pendulum step vectorised in numpy over the same number of lanes.
# Writes bench-results/sim.json and bench-results/sim.md.
# (The dynamics-gap benchmark is scripts/bench/60-gap.sh.)
# Reproduce: scripts/bench/50-sim.sh   (or: .build/release/robotctl sim bench --json)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${BENCH_OUT:-$PWD/bench-results}"
mkdir -p "$out"
lanes=4096
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ROBOTCTL_BIN: an already built robotctl to time instead of building the release product.
bin="${ROBOTCTL_BIN:-}"
if [ -z "$bin" ]; then
    swift build -c release --product robotctl >&2
    bin=.build/release/robotctl
fi
"$bin" sim bench --json --seconds 0.5 --repeats 5 --lanes "$lanes" > "$tmp/ours.json"

cat > "$tmp/peer.py" <<'PY'
"""Peers of the simulator benchmark: Gymnasium Pendulum-v1 env.step, numpy vectorised step."""
import json, sys, time
import numpy as np

lanes, which = int(sys.argv[1]), sys.argv[2]
repeats, seconds = 5, 0.5

def rate(body, steps_per_call):
    for _ in range(3):
        body()
    calls, start = 0, time.perf_counter()
    while True:
        body(); calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * steps_per_call / elapsed

rows = []
if which == "gymnasium":
    import gymnasium as gym
    env = gym.make("Pendulum-v1")
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-2.4, 2.4, size=(1024, 1)).astype(np.float32)
    def episode_chunk():
        for a in actions:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
    rows.append({"name": "gymnasium/Pendulum-v1.step", "lanes": 1,
                 "unit": f"gymnasium {gym.__version__} env.step (gym.make wrappers), one pendulum",
                 "steps_per_second": [rate(episode_chunk, len(actions)) for _ in range(repeats)]})
    from gymnasium.envs.classic_control import acrobot
    aenv = acrobot.AcrobotEnv()
    aenv.reset(seed=0)
    def acrobot_chunk():
        for i in range(1024):
            _, _, term, _, _ = aenv.step(i % 3)
            if term:
                aenv.reset()
    rows.append({"name": "gymnasium/Acrobot-v1.step", "lanes": 1,
                 "unit": f"gymnasium {gym.__version__} AcrobotEnv.step (RK4 dt 0.2, unwrapped), one acrobot",
                 "steps_per_second": [rate(acrobot_chunk, 1024) for _ in range(repeats)]})
else:
    g, m, l, dt, max_t, max_s = 10.0, 1.0, 1.0, 0.005, 2.0, 8.0
    rng = np.random.default_rng(0)
    th = rng.uniform(-np.pi, np.pi, lanes); thdot = rng.uniform(-1, 1, lanes)
    act = rng.uniform(-1.2, 1.2, lanes).astype(np.float32)
    state = [th, thdot]
    def step():
        th, thdot = state
        u = np.clip(act.astype(np.float64), -1.0, 1.0) * max_t
        an = ((th + np.pi) % (2 * np.pi)) - np.pi
        reward = -(an ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2) * (dt / 0.05)
        newthdot = np.clip(thdot + (3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l ** 2) * u) * dt, -max_s, max_s)
        newth = th + newthdot * dt
        obs = np.stack([np.cos(newth), np.sin(newth), newthdot], axis=1).astype(np.float32)
        state[0], state[1] = newth, newthdot
        return reward.astype(np.float32), obs
    rows.append({"name": "numpy/batch", "lanes": lanes,
                 "unit": f"numpy {np.__version__} vectorised Pendulum step incl. observations, per pendulum",
                 "steps_per_second": [rate(step, lanes) for _ in range(repeats)]})
for r in rows:
    s = sorted(r["steps_per_second"]); n = len(s)
    r["median_steps_per_second"] = (s[(n - 1) // 2] + s[n // 2]) / 2
print(json.dumps(rows))
PY

echo '[]' > "$tmp/gym.json"
gym_note=""
if py=$(scripts/bench-venv.sh gymnasium 2>"$tmp/venv.log"); then
    "$py" "$tmp/peer.py" "$lanes" gymnasium > "$tmp/gym.json"
else
    gym_note="Gymnasium could not be installed ($(tail -1 "$tmp/venv.log")); its row is skipped."
fi
numpy_python="${py:-python3}"
"$numpy_python" "$tmp/peer.py" "$lanes" numpy > "$tmp/numpy.json"

python3 - "$tmp" "$out" "$gym_note" <<'PY'
import json, sys, pathlib
tmp, out, note = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
ours = json.loads((tmp / "ours.json").read_text())
peers = json.loads((tmp / "gym.json").read_text()) + json.loads((tmp / "numpy.json").read_text())
by = {r["name"]: r for r in ours + peers}
pairs = [("pendulum/scalar", "gymnasium/Pendulum-v1.step"),
         ("acrobot/chain-rk4", "gymnasium/Acrobot-v1.step"),
         ("pendulum/batch+observations", "numpy/batch")]
comparisons = []
for mine, peer in pairs:
    if mine in by and peer in by:
        comparisons.append({"ours": mine, "peer": peer,
                            "ours_median": by[mine]["median_steps_per_second"],
                            "peer_median": by[peer]["median_steps_per_second"],
                            "ratio": by[mine]["median_steps_per_second"] / by[peer]["median_steps_per_second"]})
(out / "sim.json").write_text(json.dumps({"ours": ours, "peers": peers, "comparisons": comparisons,
                                          "note": note}, indent=2) + "\n")
def m(x): return f"{x / 1e6:.3f} M"
lines = ["## Simulator throughput (one core)", "",
         "Steps per second, median of 5 repeats of 0.5 s. Ratio = ours ÷ peer (higher is faster).",
         "Reproduce: `scripts/bench/50-sim.sh` (ours alone: `robotctl sim bench --json`).", "",
         "| ours | median | peer | median | ratio |", "|---|---|---|---|---|"]
for c in comparisons:
    lines.append(f"| {c['ours']} | {m(c['ours_median'])} | {c['peer']} | {m(c['peer_median'])} | {c['ratio']:.1f}× |")
lines += ["", "All paths measured:", "", "| path | lanes | median steps/s | what one step is |", "|---|---|---|---|"]
for r in ours + peers:
    lines.append(f"| {r['name']} | {r['lanes']} | {m(r['median_steps_per_second'])} | {r['unit']} |")
if note:
    lines += ["", note]
(out / "sim.md").write_text("\n".join(lines) + "\n")
print(f"sim bench: wrote {out}/sim.json and {out}/sim.md")
PY
