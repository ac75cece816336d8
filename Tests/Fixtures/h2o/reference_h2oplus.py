#!/usr/bin/env python3
"""Independent JAX reference of one training step of H2O+, H2O, SAC (sim only) and IQL (real
only) (shared/spec/h2oplus.md, and H2OTrainer's H2OStep for the baselines), and the golden
fixtures the Swift tests compare against.

Regenerate every fixture with one command (the tests do not need Python):

    python3 -m venv /tmp/venv-h2o && /tmp/venv-h2o/bin/pip install jax numpy safetensors
    /tmp/venv-h2o/bin/python Tests/Fixtures/h2o/reference_h2oplus.py

It writes one subfolder per named configuration in CONFIGS (algorithm, S, A, hidden,
discriminator hidden, RL batch), beside this script, each holding:
    golden_params_in.safetensors   every network, targets, log_alpha, Adam moments and steps
    golden_batch.npz               the RL batch (and, for h2o+/h2o, the discriminator batch)
    golden_noise.npz               every random quantity of the step (standard normals)
    golden_params_out.safetensors  the same tensors after one step
    golden_losses.npz              each loss (all ten metric names) and the sim weights
and `configs.json` listing the subfolders. `--only NAME` regenerates one subfolder.

Each algorithm's math is its own function (loss_h2oplus, loss_sac_sim, and the self-contained h2o_step and iql_step written from the authors' code),
written with JAX autodiff in float64 from the float32 inputs; the Swift step runs in float32
and must agree to 1e-4 relative. Tensor names and layouts are those of `robotctl train
verify-step` (README, "H2OTrainer"): Linear layers are `{net}.{i}.weight` of shape [out, in]
and `{net}.{i}.bias` of shape [out] (PyTorch's convention), Adam first and second moments are
`adam.m.{param}` and `adam.v.{param}`, and the Adam step counts are int64 scalars
`adam.step.{group}`.

Batch layout (StepInputFiles.swift): h2o+ and h2o take B//2 real rows (`real_*`) and B - B//2
sim rows (`sim_*`), so their smallest batch is 2 (one of each: with no real row the real means
are empty); sac-sim puts its B sim rows in `real_*` and iql-real its B real rows, so batch 1
works for them.

Usage as a second verify-step (for cross-checking any file set):
    reference_h2oplus.py --params IN.safetensors --batch B.npz --noise N.npz --out OUT.safetensors
"""

import argparse
import json
import os
import shutil
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (algorithm, S, A, hidden, discriminator hidden, RL batch). A covering set of awkward
# widths (1, 63, 65, 100, 256; discriminators 16, 64, 256; batch 1 or 2, 7, 8, 32, 256) and of
# the presets' real sizes (mujoco: 256/256/256, robot: 32/256/32) for every algorithm.
CONFIGS = {
    "h2oplus_small": ("h2o+", 3, 1, 8, 16, 8),  # also the finite-difference tests' fixture
    "h2oplus_mujoco": ("h2o+", 3, 1, 256, 256, 256),
    "h2oplus_robot": ("h2o+", 4, 3, 32, 256, 32),
    "h2oplus_h1": ("h2o+", 5, 2, 1, 64, 2),
    "h2oplus_h100": ("h2o+", 4, 3, 100, 64, 7),
    "h2o_robot": ("h2o", 3, 1, 32, 256, 32),
    "h2o_h65": ("h2o", 5, 2, 65, 64, 7),
    "h2o_h63": ("h2o", 4, 3, 63, 64, 2),
    "sacsim_robot": ("sac-sim", 3, 1, 32, 256, 32),
    "sacsim_h1": ("sac-sim", 4, 3, 1, 64, 1),
    "sacsim_h100": ("sac-sim", 5, 2, 100, 64, 7),
    "iqlreal_robot": ("iql-real", 3, 1, 32, 256, 32),
    "iqlreal_h65": ("iql-real", 5, 2, 65, 64, 1),
    "iqlreal_h63": ("iql-real", 4, 3, 63, 64, 7),
}

# Networks: name -> number of Linear layers. Hidden activations ReLU; see the spec's table.
NETS = {"policy": 3, "q1": 3, "q2": 3, "q1_target": 3, "q2_target": 3, "v": 3,
        "disc_sa": 3, "disc_sas": 3}
# Adam groups: group -> list of parameter-name prefixes it updates.
GROUPS = {
    "policy": ["policy."],
    "q": ["q1.", "q2."],
    "v": ["v."],
    "disc_sa": ["disc_sa."],
    "disc_sas": ["disc_sas."],
    "log_alpha": ["log_alpha"],
}
LOSS_NAMES = ["losses/critic", "losses/value", "losses/actor", "losses/alpha", "losses/disc_sa",
              "losses/disc_sas", "losses/penalty", "charts/alpha", "charts/sim_weight_mean",
              "charts/log_pi_mean"]
FLOAT32_TINY = float(np.finfo(np.float32).smallest_subnormal)  # Swift's Float.leastNonzeroMagnitude


def group_of(name):
    for g, prefixes in GROUPS.items():
        for p in prefixes:
            if name == p or name.startswith(p):
                return g
    return None


def mlp(p, net, x):
    n = NETS[net]
    for i in range(n):
        x = x @ p[f"{net}.{i}.weight"].T + p[f"{net}.{i}.bias"]
        if i < n - 1:
            x = jax.nn.relu(x)
    return x


def log_std_of(p, raw):
    return jnp.clip(p["policy.log_std_multiplier"][0] * raw + p["policy.log_std_offset"][0], -20.0, 2.0)


def tanh_correction(u):
    return 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))


def policy_sample(p, s, eps, A):
    out = mlp(p, "policy", s)
    mu, raw = out[:, :A], out[:, A:]
    log_std = log_std_of(p, raw)
    u = mu + jnp.exp(log_std) * eps
    log_normal = -0.5 * eps**2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi)
    return jnp.tanh(u), jnp.sum(log_normal - tanh_correction(u), axis=1)


def q(p, net, s, a):
    return mlp(p, net, jnp.concatenate([s, a], axis=1))[:, 0]


def disc_logits(p, net, *xs):
    return 2.0 * jnp.tanh(mlp(p, net, jnp.concatenate(xs, axis=1)))


def as64(d, skip_adam=False):
    return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in d.items() if not (skip_adam and k.startswith("adam."))}


# ---- Shared pieces ------------------------------------------------------------------------

def discriminator_step(params, b, n, hp, S, A):
    """Step 1: L_sa and L_sas on the noisy discriminator batch; D_sa trained on L_sa + L_sas,
    D_sas on L_sas; one Adam step each. Returns (params after the step, L_sa, L_sas)."""
    p = as64(params, skip_adam=True)
    sd = hp["discriminator_noise_std"]

    def split(x):
        return x[:, :S], x[:, S:S + A], x[:, S + A:]

    rs, ra, rn = split(jnp.concatenate([b["disc_real_observations"], b["disc_real_actions"],
                                        b["disc_real_next_observations"]], 1) + sd * n["disc_real_noise"])
    ss, sa_, sn = split(jnp.concatenate([b["disc_sim_observations"], b["disc_sim_actions"],
                                         b["disc_sim_next_observations"]], 1) + sd * n["disc_sim_noise"])
    ls = jax.nn.log_softmax

    def l_sa_fn(q_):
        r = disc_logits(q_, "disc_sa", rs, ra)
        s = disc_logits(q_, "disc_sa", ss, sa_)
        return -jnp.mean(ls(r)[:, 0]) - jnp.mean(ls(s)[:, 1])

    def l_sas_fn(q_):
        r = disc_logits(q_, "disc_sas", rs, ra, rn) + disc_logits(q_, "disc_sa", rs, ra)
        s = disc_logits(q_, "disc_sas", ss, sa_, sn) + disc_logits(q_, "disc_sa", ss, sa_)
        return -jnp.mean(ls(r)[:, 0]) - jnp.mean(ls(s)[:, 1])

    l_sa, g_sa = jax.value_and_grad(l_sa_fn)(p)
    l_sas, g_sas = jax.value_and_grad(l_sas_fn)(p)
    grads = {}
    for k in p:
        if k.startswith("disc_sa."):
            grads[k] = g_sa[k] + g_sas[k]  # D_sa receives both losses
        elif k.startswith("disc_sas."):
            grads[k] = g_sas[k]
    return adam(params, grads, hp, groups=["disc_sa", "disc_sas"]), float(l_sa), float(l_sas)


def sim_weights(pd, b, hp):
    """Step 2: w_c = clip(exp(D_sas[0] - D_sas[1]), min, max) with the updated D_sas, no noise."""
    s_logits = disc_logits(pd, "disc_sas", b["sim_observations"], b["sim_actions"], b["sim_next_observations"])
    return jnp.clip(jnp.exp(s_logits[:, 0] - s_logits[:, 1]), hp.get("sim_weight_min", 1e-5),
                    hp.get("sim_weight_max", 1.0))


def actor_and_alpha(p, obs, eps, A, alpha, hp):
    """Step 3: L_pi with the current critics (their gradient discarded) and L_alpha."""
    def l_pi_fn(q_):
        a_t, logp = policy_sample(q_, obs, eps, A)
        qmin = jnp.minimum(q(p, "q1", obs, a_t), q(p, "q2", obs, a_t))
        return jnp.mean(alpha * logp - qmin), logp

    (l_pi, logp), g_pi = jax.value_and_grad(l_pi_fn, has_aux=True)(p)
    target_entropy = hp.get("target_entropy") if hp.get("target_entropy") is not None else -float(A)

    def l_alpha_fn(q_):
        return -jnp.mean(q_["log_alpha"][0] * jax.lax.stop_gradient(logp + target_entropy))

    l_alpha, g_alpha = jax.value_and_grad(l_alpha_fn)(p)
    return l_pi, g_pi, l_alpha, g_alpha, logp


def squared_critic_loss(q_, obs, act, y, Nr, w_c):
    """Sum over both critics of mean_real (Q - y)^2 + mean_sim w_c (Q - y)^2."""
    total = 0.0
    for j in ("q1", "q2"):
        err = q(q_, j, obs, act) - y
        total = total + jnp.mean(err[:Nr] ** 2)
        if err.shape[0] > Nr:
            total = total + jnp.mean(w_c * err[Nr:] ** 2)
    return total


def expectile_value_loss(q_, obs, act, hp):
    """L_V on the given rows against the target critics (expectile regression)."""
    qt = jnp.minimum(q(q_, "q1_target", obs, act), q(q_, "q2_target", obs, act))
    e = jax.lax.stop_gradient(qt) - mlp(q_, "v", obs)[:, 0]
    weight = jnp.abs(hp["expectile"] - (e < 0).astype(jnp.float64))
    return jnp.mean(weight * e**2)


def rl_batch(b):
    parts = ["real_"] + (["sim_"] if "sim_observations" in b else [])
    cat = lambda key: jnp.concatenate([b[f"{pre}{key}"] for pre in parts], 0)  # noqa: E731
    return (cat("observations"), cat("actions"), cat("rewards"), cat("next_observations"), cat("terminals"),
            b["real_observations"].shape[0])


def zero_losses():
    return {name: 0.0 for name in LOSS_NAMES} | {"charts/sim_weight_mean": 1.0}


# ---- One algorithm per function: each returns (grads by parameter, groups to step, losses) ---

def loss_h2oplus(p, pd, b, n, hp, A):
    """H2O+ steps 3-6 (spec): actor, alpha, mixed target, weighted critics, V on real rows."""
    w_c = sim_weights(pd, b, hp)
    obs, act, rew, nxt, done, Nr = rl_batch(b)
    alpha = jnp.exp(p["log_alpha"][0])
    l_pi, g_pi, l_alpha, g_alpha, logp = actor_and_alpha(p, obs, n["policy_noise"], A, alpha, hp)
    a_next, logp_next = policy_sample(p, nxt, n["next_policy_noise"], A)
    q_next = jnp.minimum(q(p, "q1_target", nxt, a_next), q(p, "q2_target", nxt, a_next))
    v_next = mlp(p, "v", nxt)[:, 0]
    y_explore = rew + hp["gamma"] * (1 - done) * (q_next - alpha * logp_next)
    y_exploit = rew + hp["gamma"] * (1 - done) * v_next
    lam = hp["exploit_coefficient"]
    y = jax.lax.stop_gradient(lam * y_exploit + (1 - lam) * y_explore)
    l_q, g_q = jax.value_and_grad(squared_critic_loss)(p, obs, act, y, Nr, w_c)
    l_v, g_v = jax.value_and_grad(expectile_value_loss)(p, b["real_observations"], b["real_actions"], hp)
    grads = pick({"log_alpha": g_alpha, "v": g_v, "policy": g_pi, "q": g_q})
    losses = zero_losses() | {
        "losses/actor": l_pi, "losses/alpha": l_alpha, "losses/critic": l_q, "losses/value": l_v,
        "charts/alpha": alpha, "charts/sim_weight_mean": jnp.mean(w_c), "charts/log_pi_mean": jnp.mean(logp)}
    return grads, ["log_alpha", "v", "policy", "q"], losses, w_c


def loss_sac_sim(p, b, n, hp, A):
    """SAC on sim data only (its rows are `real_*`): no discriminators, no V, unit weights,
    y = r + gamma (1 - d) [min Qbar(s', a') - alpha log pi(a'|s')]."""
    obs, act, rew, nxt, done, Nr = rl_batch(b)
    alpha = jnp.exp(p["log_alpha"][0])
    l_pi, g_pi, l_alpha, g_alpha, logp = actor_and_alpha(p, obs, n["policy_noise"], A, alpha, hp)
    a_next, logp_next = policy_sample(p, nxt, n["next_policy_noise"], A)
    q_next = jnp.minimum(q(p, "q1_target", nxt, a_next), q(p, "q2_target", nxt, a_next))
    y = jax.lax.stop_gradient(rew + hp["gamma"] * (1 - done) * (q_next - alpha * logp_next))
    l_q, g_q = jax.value_and_grad(squared_critic_loss)(p, obs, act, y, Nr, None)
    grads = pick({"log_alpha": g_alpha, "policy": g_pi, "q": g_q})
    losses = zero_losses() | {
        "losses/actor": l_pi, "losses/alpha": l_alpha, "losses/critic": l_q,
        "charts/alpha": alpha, "charts/log_pi_mean": jnp.mean(logp)}
    return grads, ["log_alpha", "policy", "q"], losses, jnp.zeros(0)


def pick(by_group):
    """The gradient of each parameter from the loss that trains its group."""
    out = {}
    for g, grads in by_group.items():
        for k, v in grads.items():
            if group_of(k) == g:
                out[k] = v
    return out


# ---- The step -------------------------------------------------------------------------------

def step(params, batch, noise, hp, algorithm):
    """One step of `algorithm`. Returns (new_params, losses dict, sim weights)."""
    if algorithm == "h2o":
        return h2o_step(params, batch, noise, hp)
    if algorithm == "iql-real":
        return iql_step(params, batch, noise, hp)
    b, n = as64(batch), as64(noise)
    S = b["real_observations"].shape[1]
    A = b["real_actions"].shape[1]
    p = as64(params, skip_adam=True)
    new = params
    disc = {}
    if algorithm in ("h2o+", "h2o"):
        new, l_sa, l_sas = discriminator_step(params, b, n, hp, S, A)
        disc = {"losses/disc_sa": l_sa, "losses/disc_sas": l_sas}
    pd = as64(new, skip_adam=True)
    if algorithm == "h2o+":
        grads, groups, losses, w_c = loss_h2oplus(p, pd, b, n, hp, A)
    elif algorithm == "sac-sim":
        grads, groups, losses, w_c = loss_sac_sim(p, b, n, hp, A)
    else:
        raise SystemExit(f"unknown algorithm {algorithm!r}; use h2o+, h2o, sac-sim or iql-real")
    losses |= disc
    # Updates from the pre-step parameters (log_alpha, V, policy, Q), then Polyak.
    new = adam(new, grads, hp, groups=groups)
    rho = hp["polyak"]
    for j in ("q1", "q2"):
        for i in range(NETS[j]):
            for t in ("weight", "bias"):
                tk, sk = f"{j}_target.{i}.{t}", f"{j}.{i}.{t}"
                new[tk] = (1 - rho) * np.asarray(params[tk], np.float64) + rho * new[sk]
    return new, {k: float(v) for k, v in losses.items()}, np.asarray(w_c)


# ---- Baselines (shared/spec/h2oplus.md "H2O" and "Other baselines") -------------------------
# Self-contained: each takes the same (params, batch, noise, hp) as `step` and returns
# (new_params, losses, w_c). Written from the authors' code: t6-thu/H2O
# SimpleSAC/sim2real_sac.py (H2O) and ikostrikov/implicit_q_learning learner.py, critic.py,
# actor.py (IQL).


def h2o_step(params, batch, noise, hp):
    """One H2O step: the H2O+ discriminators, weights, policy and α; target without V and
    without entropy; critic loss plus the CQL-style penalty whose importance ω comes from the
    updated discriminators on K noisy next-state copies s' + ratio·std_real ⊙ ε
    (`kl_sim_divergence`: std = the real observations' per-dimension std + 1e-3)."""
    p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items() if not k.startswith("adam.")}
    b = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in batch.items()}
    n = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in noise.items()}
    S, A = b["real_observations"].shape[1], b["real_actions"].shape[1]
    Nr = b["real_observations"].shape[0]
    new, (l_sa, l_sas) = _discriminator_update(params, p, b, n, hp, S, A)
    pd = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in new.items() if not k.startswith("adam.")}
    s_logits = disc_logits(pd, "disc_sas", b["sim_observations"], b["sim_actions"], b["sim_next_observations"])
    w_c = jnp.clip(jnp.exp(s_logits[:, 0] - s_logits[:, 1]), 1e-5, 1.0)
    obs, act, rew, nxt, done = _mixed(b)
    alpha = jnp.exp(p["log_alpha"][0])
    (l_pi, logp), g_pi = jax.value_and_grad(_actor_loss, has_aux=True)(p, p, obs, n["policy_noise"], alpha, A)
    l_alpha, g_alpha = jax.value_and_grad(_alpha_loss)(p, logp, -float(A))
    a_next, _ = policy_sample(p, nxt, n["next_policy_noise"], A)
    q_next = jnp.minimum(q(p, "q1_target", nxt, a_next), q(p, "q2_target", nxt, a_next))
    y = jax.lax.stop_gradient(rew + hp["gamma"] * (1 - done) * q_next)  # backup_entropy = False
    # u = clip(mean_k log(P_sim/P_real)(s, a, s'_k), 1e-45, 10), log ratio = −(D_sas[0] − D_sas[1]).
    K = n["next_state_noise"].shape[1]
    s_rep = jnp.repeat(b["sim_observations"], K, axis=0)
    a_rep = jnp.repeat(b["sim_actions"], K, axis=0)
    std = hp["cql_next_state_std_ratio"] * b["real_observation_std"]
    n_rep = jnp.repeat(b["sim_next_observations"], K, axis=0) + (std * n["next_state_noise"]).reshape(-1, S)
    z = disc_logits(pd, "disc_sas", s_rep, a_rep, n_rep)
    u = jnp.clip((-(z[:, 0] - z[:, 1])).reshape(-1, K).mean(axis=1), 1e-45, 10.0)
    omega = jax.lax.stop_gradient(u / u.sum())
    beta = hp["cql_weight"]

    def l_q_fn(q_):
        total, penalty = 0.0, 0.0
        for j in ("q1", "q2"):
            pred = q(q_, j, obs, act)
            err = pred - y
            total = total + jnp.mean(err[:Nr] ** 2) + jnp.mean(w_c * err[Nr:] ** 2)
            gap = jax.scipy.special.logsumexp(pred[Nr:] + jnp.log(omega))
            penalty = penalty + beta * jnp.clip(gap - jnp.mean(pred[:Nr]), -1000.0, 1000.0)
        return total + penalty, penalty

    (l_q, l_pen), g_q = jax.value_and_grad(l_q_fn, has_aux=True)(p)
    grads = {}
    for k in p:
        g = group_of(k)
        if g == "log_alpha":
            grads[k] = g_alpha[k]
        elif g == "policy":
            grads[k] = g_pi[k]
        elif g == "q":
            grads[k] = g_q[k]
    new = adam(new, grads, hp, groups=["log_alpha", "policy", "q"])
    _polyak(new, params, hp["polyak"])
    out = {"losses/disc_sa": l_sa, "losses/disc_sas": l_sas, "losses/actor": l_pi, "losses/alpha": l_alpha,
           "losses/critic": l_q, "losses/penalty": l_pen, "charts/alpha": alpha,
           "charts/sim_weight_mean": jnp.mean(w_c), "charts/log_pi_mean": jnp.mean(logp)}
    return new, {k: float(v) for k, v in out.items()}, np.asarray(w_c)


def iql_step(params, batch, noise, hp):
    """One IQL step on real data only, in Kostrikov et al.'s order (learner.py `_update_jit`):
    V by expectile regression (τ = `iql_expectile`) against min target Q(s, a) and one Adam
    step; then, with the *updated* V, the actor by advantage-weighted regression
    −mean(min(exp(β·(min Q̄(s, a) − V(s))), 100)·log π(a|s)) on the batch's own actions, and the
    critics against r + γ(1−d)·V(s'); then Polyak. No α, no entropy."""
    p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items() if not k.startswith("adam.")}
    b = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in batch.items()}
    A = b["real_actions"].shape[1]
    obs, act, rew = b["real_observations"], b["real_actions"], b["real_rewards"]
    nxt, done = b["real_next_observations"], b["real_terminals"]
    qt = jnp.minimum(q(p, "q1_target", obs, act), q(p, "q2_target", obs, act))
    tau = hp["iql_expectile"]

    def l_v_fn(q_):
        e = qt - mlp(q_, "v", obs)[:, 0]
        return jnp.mean(jnp.where(e > 0, tau, 1 - tau) * e**2)

    l_v, g_v = jax.value_and_grad(l_v_fn)(p)
    new = adam(params, {k: g_v[k] for k in p if group_of(k) == "v"}, hp, groups=["v"])
    pv = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in new.items() if not k.startswith("adam.")}
    v_s, v_next = mlp(pv, "v", obs)[:, 0], mlp(pv, "v", nxt)[:, 0]
    weight = jax.lax.stop_gradient(jnp.minimum(jnp.exp(hp["iql_temperature"] * (qt - v_s)), hp["iql_max_weight"]))

    def l_pi_fn(q_):
        out = mlp(q_, "policy", obs)
        mu, raw = out[:, :A], out[:, A:]
        log_std = jnp.clip(q_["policy.log_std_multiplier"][0] * raw + q_["policy.log_std_offset"][0], -20.0, 2.0)
        u = jnp.arctanh(jnp.clip(act, -1 + 1e-6, 1 - 1e-6))
        zz = (u - mu) / jnp.exp(log_std)
        log_normal = -0.5 * zz**2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi)
        correction = 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))
        return -jnp.mean(weight * jnp.sum(log_normal - correction, axis=1))

    l_pi, g_pi = jax.value_and_grad(l_pi_fn)(p)
    y = jax.lax.stop_gradient(rew + hp["gamma"] * (1 - done) * v_next)

    def l_q_fn(q_):
        return sum(jnp.mean((q(q_, j, obs, act) - y) ** 2) for j in ("q1", "q2"))

    l_q, g_q = jax.value_and_grad(l_q_fn)(p)
    grads = {k: (g_pi[k] if group_of(k) == "policy" else g_q[k]) for k in p if group_of(k) in ("policy", "q")}
    new = adam(new, grads, hp, groups=["policy", "q"])
    _polyak(new, params, hp["polyak"])
    out = {"losses/actor": l_pi, "losses/critic": l_q, "losses/value": l_v}
    return new, {k: float(v) for k, v in out.items()}, np.zeros(0)


def _discriminator_update(params, p, b, n, hp, S, A):
    """Step 1 for H2O (same as H2O+'s): returns (params after the two Adam steps, (L_sa, L_sas))."""
    sd = hp["discriminator_noise_std"]

    def noisy(prefix):
        x = jnp.concatenate([b[f"{prefix}_observations"], b[f"{prefix}_actions"],
                             b[f"{prefix}_next_observations"]], 1) + sd * n[f"{prefix}_noise"]
        return x[:, :S], x[:, S:S + A], x[:, S + A:]

    (rs, ra, rn), (ss, sa_, sn) = noisy("disc_real"), noisy("disc_sim")
    ls = jax.nn.log_softmax

    def l_sa_fn(q_):
        return -jnp.mean(ls(disc_logits(q_, "disc_sa", rs, ra))[:, 0]) - jnp.mean(ls(disc_logits(q_, "disc_sa", ss, sa_))[:, 1])

    def l_sas_fn(q_):
        r = disc_logits(q_, "disc_sas", rs, ra, rn) + disc_logits(q_, "disc_sa", rs, ra)
        s = disc_logits(q_, "disc_sas", ss, sa_, sn) + disc_logits(q_, "disc_sa", ss, sa_)
        return -jnp.mean(ls(r)[:, 0]) - jnp.mean(ls(s)[:, 1])

    l_sa, g_sa = jax.value_and_grad(l_sa_fn)(p)
    l_sas, g_sas = jax.value_and_grad(l_sas_fn)(p)
    grads = {k: (g_sa[k] + g_sas[k] if k.startswith("disc_sa.") else g_sas[k])
             for k in p if k.startswith("disc_sa.") or k.startswith("disc_sas.")}
    return adam(params, grads, hp, groups=["disc_sa", "disc_sas"]), (l_sa, l_sas)


def _mixed(b):
    cat = lambda key: jnp.concatenate([b[f"real_{key}"], b[f"sim_{key}"]], 0)  # noqa: E731
    return cat("observations"), cat("actions"), cat("rewards"), cat("next_observations"), cat("terminals")


def _actor_loss(q_, p, obs, eps, alpha, A):
    a_t, logp = policy_sample(q_, obs, eps, A)
    qmin = jnp.minimum(q(p, "q1", obs, a_t), q(p, "q2", obs, a_t))  # critics fixed
    return jnp.mean(alpha * logp - qmin), logp


def _alpha_loss(q_, logp, target_entropy):
    return -jnp.mean(q_["log_alpha"][0] * jax.lax.stop_gradient(logp + target_entropy))


def _polyak(new, params, rho):
    for j in ("q1", "q2"):
        for i in range(NETS[j]):
            for t in ("weight", "bias"):
                tk, sk = f"{j}_target.{i}.{t}", f"{j}.{i}.{t}"
                new[tk] = (1 - rho) * np.asarray(params[tk], np.float64) + rho * new[sk]





def adam(params, grads, hp, groups):
    """PyTorch-form Adam on the given groups: m, v moments, bias-corrected, eps outside sqrt."""
    out = {k: np.asarray(v, np.float64) if np.asarray(v).dtype != np.int64 else np.asarray(v)
           for k, v in params.items()}
    b1, b2, eps, lr = hp["adam_beta1"], hp["adam_beta2"], hp["adam_epsilon"], hp["learning_rate"]
    for g in groups:
        t = int(out[f"adam.step.{g}"]) + 1
        out[f"adam.step.{g}"] = np.asarray(t, np.int64)
        for k in list(out):
            if k.startswith("adam.") or group_of(k) != g:
                continue
            gk = np.asarray(grads[k], np.float64)
            m = b1 * out[f"adam.m.{k}"] + (1 - b1) * gk
            v = b2 * out[f"adam.v.{k}"] + (1 - b2) * gk * gk
            out[f"adam.m.{k}"], out[f"adam.v.{k}"] = m, v
            mhat = m / (1 - b1**t)
            vhat = v / (1 - b2**t)
            out[k] = out[k] - lr * mhat / (np.sqrt(vhat) + eps)
    return out


def hyperparameters_from(meta):
    return json.loads(meta["h2o.hyperparameters"])


# ---- Fixtures -------------------------------------------------------------------------------

def make_fixture(name, algorithm, S, A, H, DH, B, seed):
    rng = np.random.default_rng(seed)
    directory = os.path.join(HERE, name)
    os.makedirs(directory, exist_ok=True)
    hp = {"gamma": 0.99, "exploit_coefficient": 0.3, "expectile": 0.7, "polyak": 0.005,
          "discriminator_noise_std": 0.1, "learning_rate": 3e-4, "adam_beta1": 0.9, "adam_beta2": 0.999,
          "adam_epsilon": 1e-8, "cql_weight": 0.5, "cql_next_state_std_ratio": 1.0, "cql_noisy_copies": 10,
          "iql_expectile": 0.7, "iql_temperature": 3.0, "iql_max_weight": 100.0}
    if name.endswith("_mujoco"):
        hp |= {"exploit_coefficient": 0.5, "expectile": 0.5}
    elif name.endswith("_robot"):
        hp |= {"exploit_coefficient": 0.1, "expectile": 0.9}
    shapes = {
        "policy": [S, H, H, 2 * A], "q1": [S + A, H, H, 1], "q2": [S + A, H, H, 1],
        "v": [S, H, H, 1], "disc_sa": [S + A, DH, DH, 2], "disc_sas": [2 * S + A, DH, DH, 2],
    }
    params = {}
    for net, sz in shapes.items():
        for i in range(3):
            bound = 1 / np.sqrt(sz[i])
            params[f"{net}.{i}.weight"] = rng.uniform(-bound, bound, (sz[i + 1], sz[i]))
            params[f"{net}.{i}.bias"] = rng.uniform(-bound, bound, (sz[i + 1],))
    for j in ("q1", "q2"):  # targets close to, but not equal to, the critics
        for i in range(3):
            for t in ("weight", "bias"):
                x = params[f"{j}.{i}.{t}"]
                params[f"{j}_target.{i}.{t}"] = x + 0.05 * rng.standard_normal(x.shape)
    params["disc_sas.2.bias"] = np.array([-0.15, 0.15])  # some sim weights below the clip at 1
    params["policy.log_std_multiplier"] = np.array([0.9])
    params["policy.log_std_offset"] = np.array([-0.8])
    params["log_alpha"] = np.array([-0.4])
    trained = [k for k in params if group_of(k) is not None]
    for k in trained:  # mid-training Adam state, so bias correction is exercised
        params[f"adam.m.{k}"] = 1e-3 * rng.standard_normal(params[k].shape)
        params[f"adam.v.{k}"] = 1e-5 * rng.random(params[k].shape)
    for g in GROUPS:
        params[f"adam.step.{g}"] = np.asarray(3, np.int64)
    params = {k: (v.astype(np.float32) if v.dtype != np.int64 else v) for k, v in params.items()}

    def transitions(n, prefix):
        return {
            f"{prefix}observations": rng.standard_normal((n, S)),
            f"{prefix}actions": rng.uniform(-1, 1, (n, A)),
            f"{prefix}next_observations": rng.standard_normal((n, S)),
        }

    split = algorithm in ("h2o+", "h2o")
    parts = (("real", B // 2), ("sim", B - B // 2)) if split else (("real", B),)
    batch = {}
    for kind, count in parts:
        batch.update(transitions(count, f"{kind}_"))
        batch[f"{kind}_rewards"] = rng.standard_normal(count)
        batch[f"{kind}_terminals"] = np.zeros(count)
        batch[f"{kind}_terminals"][-1] = 1.0
        if split:
            batch.update(transitions(B, f"disc_{kind}_"))
    batch = {k: v.astype(np.float32) for k, v in batch.items()}
    noise = {
        "policy_noise": rng.standard_normal((B, A)),
        "next_policy_noise": rng.standard_normal((B, A)),
    }
    if split:
        noise["disc_real_noise"] = rng.standard_normal((B, 2 * S + A))
        noise["disc_sim_noise"] = rng.standard_normal((B, 2 * S + A))
    if algorithm == "h2o":
        noise["next_state_noise"] = rng.standard_normal((B - B // 2, hp["cql_noisy_copies"], S))
        # The real set's per-dimension observation std (+1e-3, the authors' epsilon), unequal
        # across dimensions so that a scalar noise scale would not pass.
        batch["real_observation_std"] = (np.linspace(0.25, 2.0, S) + 1e-3).astype(np.float32)
    noise = {k: v.astype(np.float32) for k, v in noise.items()}
    meta = {"h2o.hyperparameters": json.dumps(hp, sort_keys=True), "h2o.algorithm": algorithm}
    paths = [os.path.join(directory, f) for f in (
        "golden_params_in.safetensors", "golden_batch.npz", "golden_noise.npz", "golden_params_out.safetensors",
        "golden_losses.npz")]
    save_file(params, paths[0], metadata=meta)
    np.savez(paths[1], **batch)
    np.savez(paths[2], **noise)
    run(*paths[:4], losses_npz=paths[4])


def run(params_path, batch_path, noise_path, out_path, losses_npz=None, algorithm=None):
    from safetensors import safe_open
    with safe_open(params_path, "np") as f:
        meta = f.metadata()
    params = load_file(params_path)
    batch = dict(np.load(batch_path))
    noise = dict(np.load(noise_path))
    hp = hyperparameters_from(meta)
    new, losses_, w_c = step(params, batch, noise, hp, algorithm or meta.get("h2o.algorithm", "h2o+"))
    out = {k: (np.asarray(v, np.float32) if np.asarray(v).dtype != np.int64 else np.asarray(v, np.int64))
           for k, v in new.items()}
    meta_out = dict(meta)
    meta_out["h2o.losses"] = json.dumps(losses_, sort_keys=True)
    save_file(out, out_path, metadata=meta_out)
    if losses_npz:
        np.savez(losses_npz, sim_weights=w_c.astype(np.float64),
                 **{k.replace("/", "."): np.float64(v) for k, v in losses_.items()})
    print(os.path.basename(os.path.dirname(out_path)), json.dumps(losses_, sort_keys=True))


def make_all(only=None):
    for old in ("golden_params_in.safetensors", "golden_batch.npz", "golden_noise.npz",
                "golden_params_out.safetensors", "golden_losses.npz"):  # the single-fixture layout
        if os.path.exists(os.path.join(HERE, old)):
            os.remove(os.path.join(HERE, old))
    for index, (name, (algorithm, S, A, H, DH, B)) in enumerate(CONFIGS.items()):
        if only and name != only:
            continue
        make_fixture(name, algorithm, S, A, H, DH, B, seed=20261128 + index)
    listing = {name: dict(zip(("algorithm", "S", "A", "hidden", "discriminator_hidden", "batch"), c))
               for name, c in CONFIGS.items()}
    with open(os.path.join(HERE, "configs.json"), "w") as f:
        json.dump(listing, f, indent=1, sort_keys=True)
        f.write("\n")
    for entry in os.listdir(HERE):  # subfolders of configurations no longer listed
        if os.path.isdir(os.path.join(HERE, entry)) and entry not in CONFIGS and entry != "__pycache__":
            shutil.rmtree(os.path.join(HERE, entry))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params")
    ap.add_argument("--batch")
    ap.add_argument("--noise")
    ap.add_argument("--out")
    ap.add_argument("--algorithm", help="h2o+, h2o, sac-sim or iql-real (default: the file's h2o.algorithm)")
    ap.add_argument("--only", help="regenerate only this configuration's subfolder")
    args = ap.parse_args()
    if args.params:
        run(args.params, args.batch, args.noise, args.out, algorithm=args.algorithm)
    else:
        make_all(args.only)
    sys.exit(0)
