#!/usr/bin/env bash
# Issue 17 item 3: size the paper's kind of gap with the proper score (5 seeds, 20k updates, last 5 x 20 episodes).
set -u
cd /work/wt-s4-gap
bin=bench-results/s4/robotctl
for edit in action_noise=3 actuator_gain=2 damping=0.6 gravity=14; do
  name=size-${edit/=/-}; s=$(date +%s)
  $bin bench gap --task pendulum --gap none --sim-param $edit --seeds 5 --methods sac-sim --budget-updates 20000 --eval-every 2000 \
    --eval-episodes 20 --hidden-size 64 --real-episodes 2 --behaviour-updates 200 --ceiling-grid 0 --out bench-results/s4/$name 2> bench-results/s4/$name.log
  echo "$edit rc $? wall $(( $(date +%s) - s )) s"
done
