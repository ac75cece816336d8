#!/usr/bin/env python3
"""Regenerates FixedNN's golden fixtures (run by hand; the Swift tests only read the outputs).

    python3 -m venv /tmp/venv-fixednn && /tmp/venv-fixednn/bin/pip install numpy safetensors
    /tmp/venv-fixednn/bin/python Tests/Fixtures/fixednn/make_fixtures.py

Writes, next to this script:
  golden_forward.safetensors  three MLPs (weights in PyTorch nn.Linear layout, "<net>.<i>.weight"
                              [out, in] and "<net>.<i>.bias" [out]), a batch of inputs per net
                              ("<net>.inputs" [N, in]) and the forward outputs computed here in
                              float64 ("<net>.outputs" [N, out]); metadata "<net>.layer_sizes" and
                              "<net>.activations" as JSON text.
  python_policy.safetensors   a policy written from Python with the documented PolicyFile names
                              and metadata (see Sources/FixedNN/PolicyFile.swift).
  python_policy_expected.safetensors
                              observations and the deterministic actions tanh(mu) computed here.
"""
import json
import os

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261128)


def linear(fan_in, fan_out):
    bound = 1.0 / np.sqrt(fan_in)
    w = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32)
    b = rng.uniform(-bound, bound, size=(fan_out,)).astype(np.float32)
    return w, b


ACT = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "identity": lambda x: x,
}


def forward(params, activations, x):
    h = x.astype(np.float64)
    for (w, b), act in zip(params, activations):
        h = ACT[act](h @ w.astype(np.float64).T + b.astype(np.float64))
    return h


def golden():
    nets = {
        "tanh_net": ([8, 64, 64, 4], ["tanh", "tanh", "tanh"]),
        "relu_net": ([5, 33, 17, 3], ["relu", "relu", "identity"]),
        "mixed_net": ([3, 256, 20, 2], ["tanh", "relu", "identity"]),
    }
    tensors, metadata = {}, {"format": "pt", "generator": "make_fixtures.py"}
    for name, (sizes, acts) in nets.items():
        params = [linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
        for i, (w, b) in enumerate(params):
            tensors[f"{name}.{i}.weight"] = w
            tensors[f"{name}.{i}.bias"] = b
        x = rng.uniform(-2, 2, size=(16, sizes[0])).astype(np.float32)
        tensors[f"{name}.inputs"] = x
        tensors[f"{name}.outputs"] = forward(params, acts, x).astype(np.float32)
        metadata[f"{name}.layer_sizes"] = json.dumps(sizes)
        metadata[f"{name}.activations"] = json.dumps(acts)
    save_file(tensors, os.path.join(HERE, "golden_forward.safetensors"), metadata=metadata)


def policy():
    sizes, acts = [3, 32, 32, 2], ["relu", "relu", "identity"]  # S = 3, A = 1: output [mu | raw]
    params = [linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
    tensors = {}
    for i, (w, b) in enumerate(params):
        tensors[f"policy.{i}.weight"] = w
        tensors[f"policy.{i}.bias"] = b
    tensors["policy.log_std_scale"] = np.array([1.0], dtype=np.float32)
    tensors["policy.log_std_bias"] = np.array([-1.0], dtype=np.float32)
    mean = [0.1, -0.2, 0.5]
    std = [1.5, 0.5, 2.0]
    metadata = {
        "format": "pt",
        "policy.layer_sizes": json.dumps(sizes),
        "policy.activations": json.dumps(acts),
        "policy.head": "tanh_gaussian",
        "policy.observation_mean": json.dumps(mean),
        "policy.observation_std": json.dumps(std),
        "policy.action_scale": json.dumps([2.0]),
        "provenance.algorithm": "numpy fixture",
        "provenance.generator": "Tests/Fixtures/fixednn/make_fixtures.py",
    }
    save_file(tensors, os.path.join(HERE, "python_policy.safetensors"), metadata=metadata)
    obs = rng.uniform(-3, 3, size=(10, 3)).astype(np.float32)
    normalised = (obs.astype(np.float64) - np.array(mean)) / np.array(std)
    out = forward(params, acts, normalised)
    actions = np.tanh(out[:, :1]).astype(np.float32)
    save_file({"observations": obs, "actions": actions},
              os.path.join(HERE, "python_policy_expected.safetensors"))


if __name__ == "__main__":
    golden()
    policy()
    print("wrote golden_forward.safetensors, python_policy.safetensors, python_policy_expected.safetensors")
