#!/usr/bin/env python3
"""Golden trajectories of Gymnasium's Pendulum-v1 for the Swift parity test.

Regenerate by hand (needs gymnasium, not needed to run the tests):
    python3 -m venv /tmp/venv-sim && /tmp/venv-sim/bin/pip install gymnasium
    /tmp/venv-sim/bin/python Tests/Fixtures/sim/gymnasium_pendulum.py
Writes gymnasium_pendulum_v1.json beside this script: per seed, the state after reset, the
actions (float64, uniform in [-3.5, 3.5] plus exact +-2 and out-of-range spikes so the torque
clip is exercised), and what env.step returned: float32 observations, float64 rewards,
terminated/truncated flags (TimeLimit truncates at 200 steps), and the float64 internal state
after each step. Actions are float64 so numpy computes every step in float64.
"""
import json
import pathlib

import gymnasium as gym
import numpy as np

SEEDS = [0, 1, 2, 3, 42]
STEPS = 200


def episode(seed):
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=seed)
    start = [float(v) for v in env.unwrapped.state]
    rng = np.random.default_rng(1000 + seed)
    actions = rng.uniform(-3.5, 3.5, size=STEPS)
    actions[::17] = 2.0
    actions[5::23] = -2.0
    actions[11::29] = 1e3 * np.sign(actions[11::29])
    observations = [[float(v) for v in obs]]
    rewards, terminated, truncated, states = [], [], [], []
    for a in actions:
        obs, reward, term, trunc, _ = env.step(np.array([a], dtype=np.float64))
        observations.append([float(v) for v in obs])
        rewards.append(float(reward))
        terminated.append(bool(term))
        truncated.append(bool(trunc))
        states.append([float(v) for v in env.unwrapped.state])
    env.close()
    return {
        "seed": seed,
        "initial_state": start,
        "actions": [float(a) for a in actions],
        "observations": observations,
        "rewards": rewards,
        "terminated": terminated,
        "truncated": truncated,
        "states": states,
    }


def main():
    out = {
        "generator": "gymnasium_pendulum.py",
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "env": "Pendulum-v1",
        "episodes": [episode(s) for s in SEEDS],
    }
    path = pathlib.Path(__file__).with_name("gymnasium_pendulum_v1.json")
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({len(SEEDS)} episodes x {STEPS} steps)")


if __name__ == "__main__":
    main()
