#!/usr/bin/env bash
# Simulator throughput on one core: the onboard simulator (`robotctl bench sim`) beside its
# peers measured in the same run, INTERLEAVED (ours, Gymnasium, numpy, ours, ... for $SIM_ROUNDS
# rounds; the medians over the rounds are reported) so that load from other work on the
# machine hits both sides alike: Gymnasium's Pendulum-v1, CartPole-v1 and Acrobot-v1
# `env.step` (per step, as agents call it) against the generic simulator on the shipped robot
# and task files (one policy decision per step), and the pendulum step vectorised in numpy.
# Writes bench-results/sim.json and bench-results/sim.md.
# (The dynamics-gap benchmark is scripts/bench/60-gap.sh.)
# Reproduce: scripts/bench/50-sim.sh   (ours alone: .build/release/robotctl bench sim --json)
# ROBOTCTL_BIN: an already built robotctl; PEER_PYTHON: a python with gymnasium and numpy.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${BENCH_OUT:-$PWD/bench-results}"
mkdir -p "$out"
lanes=4096
rounds="${SIM_ROUNDS:-5}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bin="${ROBOTCTL_BIN:-}"
if [ -z "$bin" ]; then
    swift build -c release --product robotctl >&2
    bin=.build/release/robotctl
fi
cat > "$tmp/peer.py" <<'PY'
"""Peers of the simulator benchmark: Gymnasium Pendulum-v1 env.step, numpy vectorised step."""
import json, sys, time
import numpy as np

lanes, which = int(sys.argv[1]), sys.argv[2]
repeats, seconds = 1, 0.5

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
    from gymnasium.envs.classic_control import cartpole
    cenv = cartpole.CartPoleEnv()
    cenv.reset(seed=0)
    def cartpole_chunk():
        for i in range(1024):
            _, _, term, _, _ = cenv.step((i // 8) % 2)
            if term:
                cenv.reset()
    rows.append({"name": "gymnasium/CartPole-v1.step", "lanes": 1,
                 "unit": f"gymnasium {gym.__version__} CartPoleEnv.step (Euler dt 0.02, unwrapped), one cart-pole",
                 "steps_per_second": [rate(cartpole_chunk, 1024) for _ in range(repeats)]})
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

gym_note=""
py="${PEER_PYTHON:-}"
if [ -z "$py" ] && ! py=$(scripts/bench-venv.sh gymnasium 2>"$tmp/venv.log"); then
    gym_note="Gymnasium could not be installed ($(tail -1 "$tmp/venv.log")); its rows are skipped."
    py=""
fi
numpy_python="${py:-python3}"
for r in $(seq 1 "$rounds"); do
    "$bin" bench sim --json --seconds 0.5 --repeats 1 --lanes "$lanes" > "$tmp/ours.$r.json"
    if [ -n "$py" ]; then "$py" "$tmp/peer.py" "$lanes" gymnasium > "$tmp/gym.$r.json"; else echo '[]' > "$tmp/gym.$r.json"; fi
    "$numpy_python" "$tmp/peer.py" "$lanes" numpy > "$tmp/numpy.$r.json"
    echo "sim bench: round $r of $rounds done" >&2
done

python3 - "$tmp" "$out" "$gym_note" "$rounds" <<'PY'
import json, sys, pathlib
tmp, out, note, rounds = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def merge(prefix):
    """Rows of every round, one per name: each round's rate, median over rounds."""
    rows = {}
    for r in range(1, rounds + 1):
        for row in json.loads((tmp / f"{prefix}.{r}.json").read_text()):
            keep = rows.setdefault(row["name"], dict(row, steps_per_second=[]))
            keep["steps_per_second"] += row["steps_per_second"]
    for row in rows.values():
        s = sorted(row["steps_per_second"]); n = len(s)
        row["median_steps_per_second"] = (s[(n - 1) // 2] + s[n // 2]) / 2
    return list(rows.values())

ours = merge("ours")
peers = merge("gym") + merge("numpy")
by = {r["name"]: r for r in ours + peers}
pairs = [("pendulum/file", "gymnasium/Pendulum-v1.step"),
         ("cartpole/file", "gymnasium/CartPole-v1.step"),
         ("acrobot/file", "gymnasium/Acrobot-v1.step"),
         ("pendulum/scalar", "gymnasium/Pendulum-v1.step"),
         ("acrobot/chain-rk4", "gymnasium/Acrobot-v1.step"),
         ("pendulum/batch+observations", "numpy/batch")]
comparisons = []
for mine, peer in pairs:
    if mine in by and peer in by:
        comparisons.append({"ours": mine, "peer": peer,
                            "ours_median": by[mine]["median_steps_per_second"],
                            "peer_median": by[peer]["median_steps_per_second"],
                            "ratio": by[mine]["median_steps_per_second"] / by[peer]["median_steps_per_second"]})
# The pendulum through the files against the trainer's hand-written pendulum, per simulated
# second (a file decision holds 10 control ticks of 5 ms; the hand-written step is one tick).
realtime = []
for name in ("pendulum/file", "pendulum/file-batch", "pendulum/scalar-200hz"):
    if name in by:
        r = by[name]
        realtime.append({"path": name, "simulated_seconds_per_second": r["median_steps_per_second"] * r.get("control_ticks_per_step", 1) * 0.005})
(out / "sim.json").write_text(json.dumps({"ours": ours, "peers": peers, "comparisons": comparisons,
                                          "pendulum_realtime": realtime, "rounds": rounds,
                                          "note": note}, indent=2) + "\n")
def m(x): return f"{x / 1e6:.3f} M"
lines = ["## Simulator throughput (one core)", "",
         f"Steps per second, median over {rounds} interleaved rounds (ours, Gymnasium, numpy, repeated) of 0.5 s each.",
         "Ratio = ours ÷ peer (higher is faster). One step of a `…/file` path is one policy decision of the generic",
         "simulator on the shipped robot + task files (several 200 Hz control ticks, each of 1 kHz RK4 sub-steps,",
         "actuators, encoder quantisation and the firmware velocity filter); one Gymnasium step is one env.step.",
         "Reproduce: `scripts/bench/50-sim.sh` (ours alone: `robotctl bench sim --json`).", "",
         "| ours | median | peer | median | ratio |", "|---|---|---|---|---|"]
for c in comparisons:
    lines.append(f"| {c['ours']} | {m(c['ours_median'])} | {c['peer']} | {m(c['peer_median'])} | {c['ratio']:.2f}× |")
if realtime:
    lines += ["", "Pendulum, simulated seconds per wall second (the trainer's sim side):", "",
              "| path | simulated s / s |", "|---|---|"]
    for r in realtime:
        lines.append(f"| {r['path']} | {r['simulated_seconds_per_second']:.0f} |")
lines += ["", "All paths measured:", "", "| path | lanes | median steps/s | what one step is |", "|---|---|---|---|"]
for r in ours + peers:
    lines.append(f"| {r['name']} | {r['lanes']} | {m(r['median_steps_per_second'])} | {r['unit']} |")
if note:
    lines += ["", note]
(out / "sim.md").write_text("\n".join(lines) + "\n")
print(f"sim bench: wrote {out}/sim.json and {out}/sim.md")
PY
