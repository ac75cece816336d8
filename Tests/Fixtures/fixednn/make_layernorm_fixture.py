#!/usr/bin/env python3
"""Regenerates layernorm_golden.safetensors, the numpy reference of FixedNN's LayerNorm MLPs
(run by hand; LayerNormTests.numpyGolden only reads the output).

    scripts/test-venv.sh && .venv-test/bin/python Tests/Fixtures/fixednn/make_layernorm_fixture.py

For each net (`ln_relu`: 5→63→65→2 ReLU, `ln_tanh`: 4→100→33→3 tanh), every hidden layer is
Linear → LayerNorm (biased variance, eps 1e-5, learnable weight/bias: PyTorch nn.LayerNorm) →
activation; the last layer is Linear only. Stored, float32 unless noted:
  <net>.<l>.weight [out, in], <net>.<l>.bias [out], <net>.<l>.norm.weight/.norm.bias [out]
  <net>.inputs [N, in], <net>.output_gradient [N, out]
  <net>.outputs [N, out] float64: the forward pass in float64
  <net>.grad.<l>.weight/.bias/.norm.weight/.norm.bias float64: d(sum(output_gradient * outputs))
  <net>.grad.input [N, in] float64
  metadata <net>.layer_sizes (JSON), <net>.activation
The backward pass is written out by hand in numpy; when jax is importable it is checked against
jax.grad in float64 before anything is written.
"""
import json
import os

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
EPS = 1e-5
rng = np.random.default_rng(20261204)

ACT = {"relu": (lambda z: np.maximum(z, 0.0), lambda y: (y > 0).astype(np.float64)),
       "tanh": (np.tanh, lambda y: 1.0 - y * y)}


def make_net(sizes):
    layers = []
    for l in range(len(sizes) - 1):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=(fan_out,)).astype(np.float32)
        norm = None
        if l < len(sizes) - 2:
            norm = (rng.uniform(0.5, 1.5, size=(fan_out,)).astype(np.float32),
                    rng.uniform(-0.3, 0.3, size=(fan_out,)).astype(np.float32))
        layers.append((w, b, norm))
    return layers


def forward(layers, act, x):
    f, _ = ACT[act]
    h = x.astype(np.float64)
    cache = []
    for w, b, norm in layers:
        z = h @ w.astype(np.float64).T + b.astype(np.float64)
        if norm is None:
            cache.append((h, None, None, z))
            h = z
            continue
        mean = z.mean(axis=1, keepdims=True)
        var = ((z - mean) ** 2).mean(axis=1, keepdims=True)
        r = 1.0 / np.sqrt(var + EPS)
        xhat = (z - mean) * r
        y = f(norm[0].astype(np.float64) * xhat + norm[1].astype(np.float64))
        cache.append((h, xhat, r, y))
        h = y
    return h, cache


def backward(layers, act, cache, g):
    _, fprime = ACT[act]
    grads = [None] * len(layers)
    up = g.astype(np.float64)
    for l in reversed(range(len(layers))):
        w, _, norm = layers[l]
        h, xhat, r, y = cache[l]
        entry = {}
        if norm is None:
            dz = up
        else:
            da = up * fprime(y)
            entry["norm.weight"] = (da * xhat).sum(axis=0)
            entry["norm.bias"] = da.sum(axis=0)
            gx = da * norm[0].astype(np.float64)
            dz = r * (gx - gx.mean(axis=1, keepdims=True) - xhat * (gx * xhat).mean(axis=1, keepdims=True))
        entry["weight"] = dz.T @ h
        entry["bias"] = dz.sum(axis=0)
        grads[l] = entry
        up = dz @ w.astype(np.float64)
    return grads, up


def jax_check(layers, act, x, g, grads, dx):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("jax not importable: the hand-written backward pass is not cross-checked")
        return
    jax.config.update("jax_enable_x64", True)

    def loss(params, x):
        h = x
        for l, (w, b, gain, beta) in enumerate(params):
            z = h @ w.T + b
            if gain is not None:
                mean = z.mean(axis=1, keepdims=True)
                var = ((z - mean) ** 2).mean(axis=1, keepdims=True)
                a = gain * (z - mean) / jnp.sqrt(var + EPS) + beta
                h = jnp.maximum(a, 0.0) if act == "relu" else jnp.tanh(a)
            else:
                h = z
        return (h * g).sum()

    params = [(jnp.asarray(w, jnp.float64), jnp.asarray(b, jnp.float64),
               None if n is None else jnp.asarray(n[0], jnp.float64),
               None if n is None else jnp.asarray(n[1], jnp.float64)) for w, b, n in layers]
    gp, gx = jax.grad(loss, argnums=(0, 1))(params, jnp.asarray(x, jnp.float64))
    worst = float(np.abs(np.asarray(gx) - dx).max())
    for l, (dw, db, dgain, dbeta) in enumerate(gp):
        worst = max(worst, float(np.abs(np.asarray(dw) - grads[l]["weight"]).max()),
                    float(np.abs(np.asarray(db) - grads[l]["bias"]).max()))
        if dgain is not None:
            worst = max(worst, float(np.abs(np.asarray(dgain) - grads[l]["norm.weight"]).max()),
                        float(np.abs(np.asarray(dbeta) - grads[l]["norm.bias"]).max()))
    assert worst < 1e-9, f"hand-written backward differs from jax.grad by {worst}"
    print(f"jax {jax.__version__}: hand-written backward matches jax.grad (worst {worst:.2e})")


def main():
    tensors, metadata = {}, {}
    for name, sizes, act, batch in [("ln_relu", [5, 63, 65, 2], "relu", 7), ("ln_tanh", [4, 100, 33, 3], "tanh", 5)]:
        layers = make_net(sizes)
        x = rng.uniform(-1.5, 1.5, size=(batch, sizes[0])).astype(np.float32)
        g = rng.uniform(-1, 1, size=(batch, sizes[-1])).astype(np.float32)
        out, cache = forward(layers, act, x)
        grads, dx = backward(layers, act, cache, g)
        jax_check(layers, act, x, g, grads, dx)
        for l, (w, b, norm) in enumerate(layers):
            tensors[f"{name}.{l}.weight"] = w
            tensors[f"{name}.{l}.bias"] = b
            if norm is not None:
                tensors[f"{name}.{l}.norm.weight"] = norm[0]
                tensors[f"{name}.{l}.norm.bias"] = norm[1]
            for key, value in grads[l].items():
                tensors[f"{name}.grad.{l}.{key}"] = np.ascontiguousarray(value)
        tensors[f"{name}.inputs"] = x
        tensors[f"{name}.output_gradient"] = g
        tensors[f"{name}.outputs"] = out
        tensors[f"{name}.grad.input"] = dx
        metadata[f"{name}.layer_sizes"] = json.dumps(sizes)
        metadata[f"{name}.activation"] = act
    save_file(tensors, os.path.join(HERE, "layernorm_golden.safetensors"), metadata=metadata)
    print("wrote layernorm_golden.safetensors")


if __name__ == "__main__":
    main()
