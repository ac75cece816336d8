#!/usr/bin/env python3
"""Checks that the Swift-written policy fixture loads in numpy with the `safetensors` package
and records the actions numpy computes from it (run by hand after regenerating the fixture).

    /tmp/venv-fixednn/bin/python Tests/Fixtures/fixednn/check_swift_policy.py

Reads swift_policy.safetensors (written by SafeTensorsTests with
FIXEDNN_REGENERATE_FIXTURES=1), validates names, shapes and metadata against the documented
PolicyFile layout, and writes swift_policy_numpy_actions.safetensors (observations and
tanh(mu) computed here), which a Swift test compares with DeterministicPolicy.act.
"""
import json
import os

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(HERE, "swift_policy.safetensors")
tensors = load_file(path)
with safe_open(path, framework="np") as f:
    meta = f.metadata()

sizes = json.loads(meta["policy.layer_sizes"])
acts = json.loads(meta["policy.activations"])
assert meta["policy.head"] == "tanh_gaussian", meta["policy.head"]
mean = np.array(json.loads(meta["policy.observation_mean"]), dtype=np.float64)
std = np.array(json.loads(meta["policy.observation_std"]), dtype=np.float64)
scale = json.loads(meta["policy.action_scale"])
assert len(mean) == len(std) == sizes[0] and len(scale) == sizes[-1] // 2
for i in range(len(sizes) - 1):
    w, b = tensors[f"policy.{i}.weight"], tensors[f"policy.{i}.bias"]
    assert w.dtype == np.float32 and w.shape == (sizes[i + 1], sizes[i]), (i, w.shape)
    assert b.dtype == np.float32 and b.shape == (sizes[i + 1],), (i, b.shape)
assert tensors["policy.log_std_scale"].shape == (1,) and tensors["policy.log_std_bias"].shape == (1,)

ACT = {"relu": lambda x: np.maximum(x, 0.0), "tanh": np.tanh, "identity": lambda x: x}
obs = np.array([[1.0, -2.0], [0.0, 0.0], [-3.0, 0.5], [2.5, -0.75]], dtype=np.float32)
h = (obs.astype(np.float64) - mean) / std
for i, act in enumerate(acts):
    h = ACT[act](h @ tensors[f"policy.{i}.weight"].astype(np.float64).T + tensors[f"policy.{i}.bias"])
actions = np.tanh(h[:, : sizes[-1] // 2]).astype(np.float32)
save_file({"observations": obs, "actions": actions}, os.path.join(HERE, "swift_policy_numpy_actions.safetensors"))
print("swift_policy.safetensors loads in numpy:", {k: v.shape for k, v in tensors.items()})
print("metadata:", meta)
print("numpy actions:", actions.ravel().tolist())
