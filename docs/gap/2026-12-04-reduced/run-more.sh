#!/usr/bin/env bash
# Issue 17 items 3-4: the paper's kind of gap (sim-noise), the gap-free check, hanging-covering sim starts.
set -u
cd /work/wt-s4-gap
bin=bench-results/s4/robotctl
run() { name=$1; shift; s=$(date +%s); $bin bench gap "$@" --out bench-results/s4/$name 2> bench-results/s4/$name.log; echo "$name rc $? wall $(( $(date +%s) - s )) s: robotctl bench gap $* --out bench-results/s4/$name"; }
run pendulum-sim-noise --task pendulum --gap sim-noise --seeds 5 --methods h2o+,sac-sim,sac-real-oracle --budget-updates 20000 --eval-every 2000 --eval-episodes 20 --hidden-size 64 --real-data medium-replay &
run pendulum-identical --task pendulum --gap identical --seeds 3 --methods h2o+,sac-sim --budget-updates 20000 --eval-every 2000 --eval-episodes 20 --hidden-size 64 --real-data medium-replay --ceiling-grid 0 &
run pendulum-friction-mixed --task pendulum --gap friction --seeds 5 --methods h2o+,sac-sim --sim-reset mixed --budget-updates 20000 --eval-every 2000 --eval-episodes 20 --hidden-size 64 --real-data medium-replay --ceiling-grid 0 &
wait
