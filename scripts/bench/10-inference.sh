#!/usr/bin/env bash
# FixedNN inference benchmark beside its peers, in one run (see scripts/bench.sh).
#
# Ours: `robotctl bench inference --json` (single-sample 8→256→256→4 and 8→64→64→4 tanh MLPs,
# median and p99 of per-call times over $CALLS calls, pinned to one CPU; batched
# forward+backward at batch 256). It also exports the two networks' weights, which the peers
# load, so every row runs the same MLP with the same weights:
#   numpy          x @ W.T + b, np.tanh, float32, one sample per call
#   onnxruntime    an ONNX graph (MatMul/Add/Tanh) built with onnx.helper, one thread, one sample per call
#   torch          optional (FIXEDNN_BENCH_TORCH=1; the CPU wheel is ~200 MB), no_grad, one thread
# Peers are timed per call with perf_counter_ns like ours (median, p99), on the same CPU.
# Writes $BENCH_OUT/inference.json and $BENCH_OUT/inference.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH_OUT=${BENCH_OUT:-$PWD/bench-results}
CALLS=${CALLS:-200000}
PEER_CALLS=${PEER_CALLS:-100000}
mkdir -p "$BENCH_OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x .build/release/robotctl ] || swift build -c release --product robotctl >&2
cpu=$(( $(nproc) - 1 ))
.build/release/robotctl bench inference --json --calls "$CALLS" --cpu "$cpu" --export-weights "$work" > "$work/ours.json"

pin=()
command -v taskset >/dev/null && pin=(taskset -c "$cpu")
peer_note=""
packages=(numpy onnx onnxruntime safetensors)
if py=$(scripts/bench-venv.sh "${packages[@]}"); then
    if [ "${FIXEDNN_BENCH_TORCH:-0}" = 1 ] && ! "$py" -c 'import torch' 2>/dev/null; then
        # The default Linux wheel pulls ~2 GB of CUDA libraries; the CPU wheel is ~200 MB.
        "$py" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu >&2 \
            || echo "bench: could not install the PyTorch CPU wheel; its row is skipped" >&2
    fi
    "${pin[@]}" "$py" - "$work" "$PEER_CALLS" > "$work/peers.json" <<'PY'
import json, sys, time
import numpy as np
from safetensors.numpy import load_file

work, calls = sys.argv[1], int(sys.argv[2])
out = {}

def stats(times):
    times = np.sort(np.asarray(times, dtype=np.float64))
    return {"median_ns": float(times[len(times) // 2]), "p99_ns": float(times[int(0.99 * (len(times) - 1))]),
            "calls": len(times)}

def timed(fn, x):
    for _ in range(min(calls, 20000)):
        fn(x)
    t = np.empty(calls)
    clock = time.perf_counter_ns
    for k in range(calls):
        s = clock(); fn(x); t[k] = clock() - s
    return t

overhead = []
for _ in range(100000):
    s = time.perf_counter_ns(); overhead.append(time.perf_counter_ns() - s)
out["timer_overhead_ns"] = float(np.median(overhead))

for hidden in (256, 64):
    name = f"8-{hidden}-{hidden}-4 tanh"
    w = load_file(f"{work}/inference-{hidden}.safetensors")
    layers = [(w[f"net.{i}.weight"], w[f"net.{i}.bias"]) for i in range(3)]
    x = np.linspace(-0.3, 0.4, 8, dtype=np.float32).reshape(1, 8)
    row = {}

    wt = [(np.ascontiguousarray(W.T), b) for W, b in layers]
    def numpy_forward(v):
        for W, b in wt:
            v = np.tanh(v @ W + b)
        return v
    reference = numpy_forward(x)
    row["numpy"] = stats(timed(numpy_forward, x))

    try:
        import onnx, onnxruntime as ort
        from onnx import helper, TensorProto, numpy_helper
        nodes, inits, prev = [], [], "x"
        for i, (W, b) in enumerate(wt):
            inits += [numpy_helper.from_array(W, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
            nodes += [helper.make_node("MatMul", [prev, f"W{i}"], [f"m{i}"]),
                      helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]),
                      helper.make_node("Tanh", [f"a{i}"], [f"h{i}"])]
            prev = f"h{i}"
        graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                                  [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 4])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        feed = {"x": x}
        run = lambda v: sess.run(None, feed)
        assert np.allclose(run(x)[0], reference, atol=1e-5), "onnxruntime output differs from numpy"
        row["onnxruntime"] = stats(timed(run, x))
        row["onnxruntime"]["version"] = ort.__version__
    except ImportError as e:
        row["onnxruntime"] = {"skipped": str(e)}

    try:
        import torch
        torch.set_num_threads(1)
        mods = []
        for W, b in layers:
            lin = torch.nn.Linear(8 if not mods else W.shape[1], W.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W)); lin.bias.copy_(torch.from_numpy(b))
            mods += [lin, torch.nn.Tanh()]
        net = torch.nn.Sequential(*mods).eval()
        tx = torch.from_numpy(x)
        def torch_forward(v):
            with torch.no_grad():
                return net(v)
        assert np.allclose(torch_forward(tx).numpy(), reference, atol=1e-5)
        row["torch"] = stats(timed(torch_forward, tx))
        row["torch"]["version"] = torch.__version__
    except ImportError:
        row["torch"] = {"skipped": "not installed (set FIXEDNN_BENCH_TORCH=1 to install the CPU wheel)"}
    row["numpy"]["version"] = np.__version__
    row["reference_output"] = reference.ravel().tolist()
    out[name] = row
print(json.dumps(out))
PY
else
    peer_note="Peers skipped: scripts/bench-venv.sh could not install ${packages[*]}."
    echo '{}' > "$work/peers.json"
fi

# The hardware floors on the same CPU in the same run (scripts/bench/floor.c): this core's FMA
# peak, and the time to stream each network's weights and biases once from cache, which a
# single-sample forward pass must do (every weight is used exactly once).
floor_flags=(-O2)
[ "$(uname -m)" = x86_64 ] && floor_flags+=(-mavx2 -mfma)
cc "${floor_flags[@]}" -o "$work/floor" scripts/bench/floor.c
{
    "${pin[@]}" "$work/floor" fma
    for net in 8-256-256-4 8-64-64-4; do
        bytes=$(python3 -c "
import sys; s = [int(v) for v in sys.argv[1].split('-')]; pad = lambda n: (n + 15) // 16 * 16
print(4 * sum(i * pad(o) + pad(o) for i, o in zip(s, s[1:])))" "$net")
        "${pin[@]}" "$work/floor" stream "$bytes" | python3 -c "
import json, sys; d = json.load(sys.stdin); d['network'] = sys.argv[1]; print(json.dumps(d))" "$net"
    done
} > "$work/floor.jsonl"

python3 - "$work/ours.json" "$work/peers.json" "$BENCH_OUT" "$CALLS" "$peer_note" "$work/floor.jsonl" <<'PY'
import json, sys
ours, peers = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
outdir, calls, note = sys.argv[3], sys.argv[4], sys.argv[5]
floors = [json.loads(line) for line in open(sys.argv[6]) if line.strip()]
peak = next(f["fma_gflops"] for f in floors if "fma_gflops" in f)
streams = {f["network"]: f for f in floors if "network" in f}
json.dump({"ours": ours, "peers": peers, "floors": floors}, open(f"{outdir}/inference.json", "w"), indent=1, sort_keys=True)
lines = ["## Inference (FixedNN)", "",
         f"Single-sample latency, per-call times (two clock reads included in every row), {calls} calls for ours, "
         f"pinned to CPU {ours.get('cpu')}; same weights in every row. Ratio = ours ÷ peer (below 1: ours is faster).", "",
         "| network | FixedNN median / p99 | peer | peer median / p99 | ratio (medians) |", "|---|---|---|---|---|"]
for r in ours["singleSample"]:
    name = r["network"]
    row = peers.get(name, {})
    shown = False
    for peer in ("onnxruntime", "numpy", "torch"):
        p = row.get(peer)
        if not p:
            continue
        if "skipped" in p:
            lines.append(f"| {name} | {r['medianNanoseconds']/1000:.2f} / {r['p99Nanoseconds']/1000:.2f} µs | {peer} | skipped: {p['skipped']} | |")
            continue
        lines.append(f"| {name} | {r['medianNanoseconds']/1000:.2f} / {r['p99Nanoseconds']/1000:.2f} µs | {peer} {p.get('version','')} | "
                     f"{p['median_ns']/1000:.2f} / {p['p99_ns']/1000:.2f} µs | {r['medianNanoseconds']/p['median_ns']:.2f} |")
        shown = True
    if not shown:
        lines.append(f"| {name} | {r['medianNanoseconds']/1000:.2f} / {r['p99Nanoseconds']/1000:.2f} µs | — | — | |")
lines += ["", "FixedNN extra figures (same run): "
          + "; ".join(f"{r['network']}: untimed-loop mean {r['loopMeanNanoseconds']/1000:.2f} µs, "
                      f"{r['flopsPerCall']/r['medianNanoseconds']:.1f} GFLOP/s at the median, heap bytes delta {r['heapBytesDelta']}"
                      for r in ours["singleSample"])
          + f". Timer cost per measurement: ours {ours['singleSample'][0]['timerOverheadNanoseconds']:.0f} ns"
          + (f", Python {peers['timer_overhead_ns']:.0f} ns" if 'timer_overhead_ns' in peers else "") + ".",
          "Allocations per inference: 0 (malloc interposer, `FixedNNTests`: 10,000 inferences); the heap delta above is glibc mallinfo2.", "",
          "Batched rows: medians, and the fastest repetition (a multi-millisecond measurement on a shared machine is often preempted; the fastest one is the kernels' own speed).", "",
          "| batched (FixedNN) | batch | forward (median) | forward + backward (median / fastest) | GFLOP/s f+b (median / fastest) | Adam step |", "|---|---|---|---|---|---|"]
for b in ours["batched"]:
    lines.append(f"| {b['network']} | {b['batch']} | {b['forwardMedianMicroseconds']:.0f} µs | "
                 f"{b['forwardBackwardMedianMicroseconds']:.0f} / {b['forwardBackwardMinimumMicroseconds']:.0f} µs | "
                 f"{b['forwardBackwardGigaflopsPerSecond']:.1f} / {b['forwardBackwardGigaflopsPerSecondAtMinimum']:.1f} | {b['adamMedianMicroseconds']:.1f} µs |")
lines += ["", f"Hardware floors, same CPU, same run (`scripts/bench/floor.c`): FMA peak {peak:.1f} GFLOP/s "
          "(12 independent 8-lane FMA chains); streaming floor = time to read the network's weights and biases "
          "once from cache (median / best of 20000 passes), which every single-sample forward pass must do.", "",
          "| network | weight bytes | streaming floor median / best | arithmetic at FMA peak | FixedNN median | FixedNN ÷ streaming median |",
          "|---|---|---|---|---|---|"]
for r in ours["singleSample"]:
    f = streams.get(r["network"].split()[0])
    if not f:
        continue
    lines.append(f"| {r['network']} | {f['stream_bytes'] / 1024:.0f} KiB | {f['stream_median_ns'] / 1000:.2f} / {f['stream_best_ns'] / 1000:.2f} µs | "
                 f"{r['flopsPerCall'] / peak / 1000:.2f} µs | {r['medianNanoseconds'] / 1000:.2f} µs | {r['medianNanoseconds'] / f['stream_median_ns']:.2f} |")
if note:
    lines += ["", note]
lines += ["", "Reproduce: `scripts/bench/10-inference.sh` (or `.build/release/robotctl bench inference`)."]
open(f"{outdir}/inference.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
