#!/usr/bin/env bash
# The dynamics-gap benchmark (`robotctl bench gap`): H2O+, H2O, SAC on the sim only and IQL on
# real data only (plus SAC on a gap-matched sim as an approximate oracle), 5 seeds each, on
#   pendulum × friction, pendulum × actuator-gain (30000 updates per run, medium-replay data),
#   cartpole × pole (40000 updates per run, medium-replay data),
#   pendulum × friction with the scripted noisy teleop data instead (no oracle row).
# Runs at most two configurations at once (GAP_JOBS, default 2). Writes per configuration
# bench-results/gap/<name>.{csv,svg,md,json,log} and the section bench-results/gap.md.
# GAP_ASSEMBLE_ONLY=1 skips the runs and assembles gap.md from the committed copy of the last
# full run (docs/gap/, with its findings in docs/gap/FINDINGS.md); `make bench` on a machine
# without 75 spare minutes uses it, and the section says so.
# Measured 2026-11-28 on the shared 2-core VM (load average 4-5, two configurations at once plus
# other builds): 42 min per pendulum configuration with five methods (H2O+/H2O at about 8 ms
# per update, 1.3 ms in `robotctl bench train` on an idle core), 29 min for the cart-pole and
# 21 min for the four-method teleop configuration: about 75 min for the whole script.
# Reproduce: scripts/bench/60-gap.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${BENCH_OUT:-$PWD/bench-results}"
mkdir -p "$out/gap"
jobs="${GAP_JOBS:-2}"
source_dir="$out/gap"
files_dir="bench-results/gap"
if [ "${GAP_ASSEMBLE_ONLY:-0}" = 1 ]; then
    source_dir="$PWD/docs/gap"
    files_dir="docs/gap"
fi
[ "${GAP_ASSEMBLE_ONLY:-0}" = 1 ] || swift build -c release --product robotctl >&2
# A private copy, so a rebuild while the benchmark runs cannot replace the running binary.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp .build/release/robotctl "$tmp/robotctl"
robotctl="$tmp/robotctl"
all=h2o+,h2o,sac-sim,iql-real,sac-matched-sim
# name task gap updates real-data methods
configs=(
    "pendulum-friction pendulum friction 30000 medium-replay $all"
    "pendulum-actuator-gain pendulum actuator-gain 30000 medium-replay $all"
    "cartpole-pole cartpole pole 40000 medium-replay $all"
    "pendulum-friction-teleop pendulum friction 30000 teleop h2o+,iql-real,sac-sim,h2o"
)
start=$(date -u '+%Y-%m-%d %H:%M UTC')
running=0
for c in "${configs[@]}"; do
    [ "${GAP_ASSEMBLE_ONLY:-0}" = 1 ] && break
    read -r name task gap budget data methods <<< "$c"
    "$robotctl" bench gap --task "$task" --gap "$gap" --budget-updates "$budget" --seeds 5 --methods "$methods" \
        --hidden-size 64 --eval-every 2500 --real-data "$data" --out "$out/gap/$name" 2> "$out/gap/$name.log" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
{
    echo "## Dynamics gap (H2O+ vs H2O, SAC sim-only, IQL real-only)"
    echo
    if [ "${GAP_ASSEMBLE_ONLY:-0}" = 1 ]; then
        echo "Not re-run in this \`make bench\`: assembled $start by \`GAP_ASSEMBLE_ONLY=1 scripts/bench/60-gap.sh\` from the committed files of the last full run (\`docs/gap/\`; each table gives its run's date and exact command). The methods in each table were measured side by side in that run."
    else
        echo "Started $start; \`scripts/bench/60-gap.sh\` on $(nproc) cores (at most $jobs configurations at once)."
    fi
    echo "Each table: final real-plant return (higher is better) of each method, mean ± std over 5 seeds."
    echo "\`sac-matched-sim\` is not a competitor: SAC on the onboard simulator with the gap's parameters"
    echo "set (friction, gain, mass; not back-EMF, sensors or latency), an approximate upper reference."
    echo "Learning curves: the SVG beside each table (mean ± std over seeds), raw points in the CSV."
    for c in "${configs[@]}"; do
        read -r name task gap budget data methods <<< "$c"
        echo
        sed -e "s#^- Files: .*#- Files: \`$files_dir/$name.csv\`, \`$files_dir/$name.svg\`#" \
            -e "1s|^\(### .*\)\$|\1, $data real data|" \
            "$source_dir/$name.md"
    done
    if [ "${GAP_ASSEMBLE_ONLY:-0}" = 1 ] && [ -f docs/gap/FINDINGS.md ]; then
        echo
        cat docs/gap/FINDINGS.md
    else
        echo
        echo "Findings of the last full run (re-check them against the tables above): \`docs/gap/FINDINGS.md\`."
    fi
} > "$out/gap.md"
echo "gap bench: wrote $out/gap.md" >&2
