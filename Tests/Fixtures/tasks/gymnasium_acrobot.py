#!/usr/bin/env python3
"""One-step golden data of Gymnasium's Acrobot-v1 dynamics for the Swift parity test of the
generic planar-chain simulator (Sources/Tasks/Mechanism/PlanarChain.swift).

Regenerate by hand (needs gymnasium; the Swift tests do not need Python):
    python3 -m venv /tmp/venv-gym && /tmp/venv-gym/bin/pip install gymnasium numpy
    /tmp/venv-gym/bin/python Tests/Fixtures/tasks/gymnasium_acrobot.py

Writes gymnasium_acrobot_v1.json beside this script: fresh random states (angles uniform in
[-pi, pi], speeds uniform within the env's velocity bounds), each with the three torques of
Acrobot-v1's action set {-1, 0, +1}, and the state after one step of the env's own `rk4` over
`_dsdt` ("book" dynamics, dt = 0.2) before and after the env's wrap/bound post-processing.
"""
import json
import pathlib

import numpy as np
from gymnasium.envs.classic_control import acrobot

STATES = 200


def main():
    env = acrobot.AcrobotEnv()
    assert env.book_or_nips == "book"
    rng = np.random.default_rng(20261204)
    cases = []
    for _ in range(STATES):
        s = np.array([
            rng.uniform(-np.pi, np.pi), rng.uniform(-np.pi, np.pi),
            rng.uniform(-env.MAX_VEL_1, env.MAX_VEL_1), rng.uniform(-env.MAX_VEL_2, env.MAX_VEL_2),
        ])
        for torque in env.AVAIL_TORQUE:
            s_aug = np.append(s, torque)
            ns = acrobot.rk4(env._dsdt, s_aug, [0, env.dt])
            post = [
                acrobot.wrap(ns[0], -np.pi, np.pi), acrobot.wrap(ns[1], -np.pi, np.pi),
                acrobot.bound(ns[2], -env.MAX_VEL_1, env.MAX_VEL_1),
                acrobot.bound(ns[3], -env.MAX_VEL_2, env.MAX_VEL_2),
            ]
            cases.append({"state": [float(v) for v in s], "torque": float(torque),
                          "next": [float(v) for v in ns[:4]], "next_wrapped": [float(v) for v in post]})
    out = {
        "source": "gymnasium.envs.classic_control.acrobot (Acrobot-v1, book dynamics)",
        "dt": env.dt, "gravity": 9.8,
        "link_length_1": env.LINK_LENGTH_1, "link_mass_1": env.LINK_MASS_1, "link_mass_2": env.LINK_MASS_2,
        "link_com_1": env.LINK_COM_POS_1, "link_com_2": env.LINK_COM_POS_2, "link_moi": env.LINK_MOI,
        "max_vel_1": env.MAX_VEL_1, "max_vel_2": env.MAX_VEL_2,
        "cases": cases,
    }
    path = pathlib.Path(__file__).with_name("gymnasium_acrobot_v1.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
