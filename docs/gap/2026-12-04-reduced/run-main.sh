#!/usr/bin/env bash
# Reduced-budget gap run (issue 17 item 4): pendulum, gap friction, 5 seeds, H2O+ vs SAC sim-only vs ceilings.
set -u
cd /work/wt-s4-gap
bin=bench-results/s4/robotctl
start=$(date +%s)
echo "start $(date -u +%FT%TZ)"
$bin bench gap --task pendulum --gap friction --seeds 5 --methods h2o+,sac-sim,sac-real-oracle \
  --budget-updates 20000 --eval-every 2000 --eval-episodes 20 --hidden-size 64 --real-data medium-replay \
  --out bench-results/s4/pendulum-friction 2> bench-results/s4/pendulum-friction.log
echo "rc $? wall $(( $(date +%s) - start )) s end $(date -u +%FT%TZ)"
