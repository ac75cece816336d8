#!/usr/bin/env bash
# Training-step benchmark: robotctl's H2O+ step beside PyTorch (eager, CPU wheel) and JAX (jit,
# CPU) implementations of the same step, all measured in this one run, at the `robot` preset
# (hidden 32, batch 32, discriminators 256, one thread) and the `mujoco` preset (hidden 256,
# batch 256, two threads), S = 3, A = 1; plus one core's peak f32 FMA rate, measured here by
# scripts/bench/floor.c for the fraction-of-peak column.
# Writes $BENCH_OUT/train.json and $BENCH_OUT/train.md.
# Reproduce: scripts/bench/40-train.sh   (ours alone: .build/release/robotctl bench train --json)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${BENCH_OUT:-$PWD/bench-results}"
mkdir -p "$out"
steps="${TRAIN_BENCH_STEPS:-200}"
peers=scripts/bench/peers
# ROBOTCTL_BIN: an already built robotctl to time instead of building the release product.
bin="${ROBOTCTL_BIN:-}"
if [ -z "$bin" ]; then
    swift build -c release --product robotctl >&2
    bin=.build/release/robotctl
fi

# One core's peak FMA rate (GFLOP/s, best of 5), pinned to the core robotctl's robot row uses:
# scripts/bench/floor.c (shared with the inference benchmark).
floor_flags=(-O2)
[ "$(uname -m)" = x86_64 ] && floor_flags+=(-mavx2 -mfma)
peak=""
if cc "${floor_flags[@]}" -o "$out/floor" scripts/bench/floor.c 2>"$out/floor.log"; then
    peak=$(taskset -c 0 "$out/floor" fma 2>>"$out/floor.log" \
        | python3 -c "import json, sys; print(json.load(sys.stdin)['fma_gflops'])" || true)
fi
peak="${peak:-101.6}"  # fallback: the figure measured on this VM type when idle (see train.md)

# Ours: robot on one core, mujoco on two cores with the two-thread step (and one thread, for
# the speed-up).
taskset -c 0 "$bin" bench train --json --presets robot --steps "$steps" --peak-gflops "$peak" > "$out/train-ours-robot.json"
taskset -c 0,1 "$bin" bench train --json --presets mujoco --threads 2 --cpus 0,1 --steps "$steps" --peak-gflops "$peak" > "$out/train-ours-mujoco.json"
taskset -c 0,1 "$bin" bench train --json --presets mujoco --threads 1 --steps "$((steps / 2))" --peak-gflops "$peak" > "$out/train-ours-mujoco-1.json"

notes=()
rm -f "$out"/train-peer-*.json
if py=$(scripts/bench-venv.sh "torch==2.13.0+cpu" 2>/dev/null || scripts/bench-venv.sh torch 2>/dev/null); then
    taskset -c 0 "$py" "$peers/train_step_torch.py" robot "$steps" 1 > "$out/train-peer-torch-robot.json" \
        || notes+=("PyTorch peer failed to run (robot)")
    # OMP_WAIT_POLICY=PASSIVE: with the default spin-waiting, two OpenMP threads on a shared
    # 2-core machine stall at every barrier while another process holds a core (3.5 s a step
    # measured under load, against 60 ms on one thread); passive waits keep the peer sane.
    OMP_WAIT_POLICY=PASSIVE taskset -c 0,1 "$py" "$peers/train_step_torch.py" mujoco "$((steps / 2))" 2 > "$out/train-peer-torch-mujoco.json" \
        || notes+=("PyTorch peer failed to run (mujoco)")
else
    notes+=("PyTorch could not be installed into .venv-bench; its columns are skipped")
fi
if py=$(scripts/bench-venv.sh jax 2>/dev/null); then
    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
        taskset -c 0 "$py" "$peers/train_step_jax.py" robot "$steps" > "$out/train-peer-jax-robot.json" \
        || notes+=("JAX peer failed to run (robot)")
    taskset -c 0,1 "$py" "$peers/train_step_jax.py" mujoco "$((steps / 2))" > "$out/train-peer-jax-mujoco.json" \
        || notes+=("JAX peer failed to run (mujoco)")
else
    notes+=("JAX could not be installed into .venv-bench; its columns are skipped")
fi

python3 - "$out" "$peak" "$(IFS='; '; echo "${notes[*]:-}")" <<'PY'
import json, os, sys
out, peak, note = sys.argv[1], float(sys.argv[2]), sys.argv[3]
def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else None
result = {"peak_gflops_per_core": peak, "ours": [], "peers": {}, "note": note}
rows = []
for preset, threads, ours_name in (("robot", 1, "robot"), ("mujoco", 2, "mujoco"), ("mujoco", 1, "mujoco-1")):
    ours = load(f"train-ours-{ours_name}.json")[0]
    result["ours"].append(ours)
    ms = ours["median_milliseconds"]
    cells = []
    for peer in ("torch", "jax"):
        p = load(f"train-peer-{peer}-{preset}.json") if (preset, threads) != ("mujoco", 1) else None
        if p:
            result["peers"][f"{peer}-{preset}"] = p
            cells += [f"{p['median_milliseconds']:.3f}", f"{ms / p['median_milliseconds']:.3f}"]
        else:
            cells += ["–", "–"]
    rows.append(f"| {preset} (H {ours['hidden_size']}, B {ours['batch_size']}, D 256) | {threads} | {ms:.3f} | "
                f"{ours['median_thread_cpu_milliseconds']:.3f} | {ours['median_process_cpu_milliseconds']:.3f} | "
                + " | ".join(cells) + f" | {ours['flops_per_step'] / 1e6:.1f} | {ours['gflops']:.1f} | "
                f"{100 * ours['fraction_of_peak']:.1f} % | {ours['flops_per_step'] / (threads * peak * 1e9) * 1e3:.3f} |")
json.dump(result, open(os.path.join(out, "train.json"), "w"), indent=2)
versions = ", ".join(f"{k} {v.get('torch', v.get('jax', ''))}" for k, v in result["peers"].items() if k.endswith("robot"))
md = ["## Training step (H2O+, S = 3, A = 1)", "",
      "One full H2O+ update (discriminators, sim weights, π, α, V, Q1/Q2, Polyak; batch sampling included), "
      "median ms of the timed steps. Peers, measured in this run: the same step in PyTorch (eager, CPU wheel, "
      "`torch.set_num_threads` = the row's threads; `OMP_WAIT_POLICY=PASSIVE` on two threads) and in JAX (jit, CPU, float32)"
      + (f" ({versions})" if versions else "") + ". Ratio = ours ÷ peer (below 1: ours faster). "
      "Thread CPU: CPU time of the calling thread per step; process CPU: of the whole process (both threads, "
      "the worker's spin-wait included); on an idle machine the wall time equals the calling thread's CPU time "
      "for one thread. FLOPs: the GEMMs of the step from its layer shapes (robotctl's `flopsPerStep`). "
      f"Peak: one core's f32 FMA rate measured in this run by `scripts/bench/floor.c fma` "
      f"(12 independent vector-FMA chains): **{peak:.1f} GFLOP/s** (101.6 on this VM type when idle; a "
      "loaded machine measures less, and then the fraction of peak reads high). Floor = FLOPs ÷ (threads × peak): "
      "the time at 100 % of peak.",
      f"Load average when this section was written: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
      "", "| preset | threads | robotctl ms | thread CPU ms | process CPU ms | PyTorch ms | ours ÷ PyTorch | JAX ms | ours ÷ JAX | MFLOP/step | GFLOP/s | % of peak | floor ms |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|", *rows, ""]
if note:
    md += [f"Note: {note}.", ""]
md += ["Reproduce: `scripts/bench/40-train.sh` (ours alone: `.build/release/robotctl bench train --json "
       "--threads 2 --presets mujoco --peak-gflops 101.6`).", ""]
open(os.path.join(out, "train.md"), "w").write("\n".join(md))
print("\n".join(md))
PY
