#!/usr/bin/env python3
"""A PyTorch-layout forward pass in numpy, for the checkpoint round-trip test
(Tests/H2OTrainerTests/AgentFileRoundTripTests.swift), which runs it when numpy and
safetensors are importable:

    pytorch_layout_forward.py CHECKPOINT.safetensors INPUTS.npz OUTPUTS.npz

For every array `net` in INPUTS.npz (rows of network inputs), reads `{net}.{i}.weight`
([out, in], PyTorch's nn.Linear layout) and `{net}.{i}.bias` ([out]) for i = 0, 1, ... with
`safetensors.numpy`, applies y = x @ W.T + b with ReLU between layers and, for the
discriminators `disc_*`, tanh after the last (the spec's 2·tanh(logits) without the 2; the
H2OTrainer networks' activations, shared/spec/h2oplus.md) in float64, and writes the outputs
under the same name to OUTPUTS.npz. Nothing here knows the in-memory panel layout of FixedNN.
"""

import sys

import numpy as np
from safetensors.numpy import load_file


def forward(tensors, net, x):
    layers = 0
    while f"{net}.{layers}.weight" in tensors:
        layers += 1
    if layers == 0:
        raise SystemExit(f"{net}: no tensor {net}.0.weight in the checkpoint")
    for i in range(layers):
        w = tensors[f"{net}.{i}.weight"].astype(np.float64)
        b = tensors[f"{net}.{i}.bias"].astype(np.float64)
        if w.ndim != 2 or w.shape[1] != x.shape[1] or b.shape != (w.shape[0],):
            raise SystemExit(f"{net}.{i}: weight {w.shape}, bias {b.shape} do not take inputs of width {x.shape[1]}")
        x = x @ w.T + b
        if i < layers - 1:
            x = np.maximum(x, 0.0)
    return np.tanh(x) if net.startswith("disc_") else x


def main(checkpoint, inputs_path, outputs_path):
    tensors = load_file(checkpoint)
    inputs = dict(np.load(inputs_path))
    np.savez(outputs_path, **{net: forward(tensors, net, x.astype(np.float64)) for net, x in inputs.items()})


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
