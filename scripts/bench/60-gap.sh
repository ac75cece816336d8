#!/usr/bin/env bash
# The dynamics-gap benchmark (`robotctl bench gap`): H2O+, H2O, SAC on the sim only and IQL on
# real data only (plus SAC on a gap-matched sim as an approximate oracle), 5 seeds each, on
#   pendulum × friction, pendulum × actuator-gain (30000 updates per run),
#   cartpole × pole (40000 updates per run).
# Runs at most two configurations at once (GAP_JOBS, default 2). Writes per configuration
# bench-results/gap/<task>-<gap>.{csv,svg,md,json,log} and the section bench-results/gap.md.
# About 25 min per configuration on an otherwise idle 2-core machine.
# Reproduce: scripts/bench/60-gap.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${BENCH_OUT:-$PWD/bench-results}"
mkdir -p "$out/gap"
jobs="${GAP_JOBS:-2}"
swift build -c release --product robotctl >&2
# A private copy, so a rebuild while the benchmark runs cannot replace the running binary.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp .build/release/robotctl "$tmp/robotctl"
robotctl="$tmp/robotctl"
common=(--seeds 5 --methods h2o+,h2o,sac-sim,iql-real,sac-matched-sim --hidden-size 64
        --eval-every 2500 --real-data medium-replay)
configs=(
    "pendulum friction 30000"
    "pendulum actuator-gain 30000"
    "cartpole pole 40000"
)
start=$(date -u '+%Y-%m-%d %H:%M UTC')
running=0
for c in "${configs[@]}"; do
    read -r task gap budget <<< "$c"
    "$robotctl" bench gap --task "$task" --gap "$gap" --budget-updates "$budget" "${common[@]}" \
        --out "$out/gap/$task-$gap" 2> "$out/gap/$task-$gap.log" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
{
    echo "## Dynamics gap (H2O+ vs H2O, SAC sim-only, IQL real-only)"
    echo
    echo "Started $start; \`scripts/bench/60-gap.sh\` on $(nproc) cores (at most $jobs configurations at once)."
    echo "Each table: final real-plant return (higher is better) of each method, mean ± std over 5 seeds."
    echo "\`sac-matched-sim\` is not a competitor: SAC on the onboard simulator with the gap's parameters"
    echo "set (friction, gain, mass; not back-EMF, sensors or latency), an approximate upper reference."
    echo "Learning curves: the SVG beside each table (mean ± std over seeds), raw points in the CSV."
    for c in "${configs[@]}"; do
        read -r task gap budget <<< "$c"
        echo
        sed -e "s#^- Files: .*#- Files: \`bench-results/gap/$task-$gap.csv\`, \`bench-results/gap/$task-$gap.svg\`#" \
            "$out/gap/$task-$gap.md"
    done
} > "$out/gap.md"
echo "gap bench: wrote $out/gap.md" >&2
