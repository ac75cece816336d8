#!/usr/bin/env python3
"""Independent JAX reference of one H2O+ step (shared/spec/h2oplus.md), and the golden
fixture the Swift tests compare against.

Regenerate by hand (the tests do not need Python):

    python3 -m venv /tmp/venv-h2o && /tmp/venv-h2o/bin/pip install jax numpy safetensors
    /tmp/venv-h2o/bin/python Tests/Fixtures/h2o/reference_h2oplus.py

With `--baselines` it writes the H2O and IQL fixtures `golden_h2o_*` and `golden_iql_*`
(same five files each). It writes, beside this script:
    golden_params_in.safetensors   every network, targets, log_alpha, Adam moments and steps
    golden_batch.npz               the RL batch (real + sim) and the discriminator batch
    golden_noise.npz               every random quantity of the step (standard normals)
    golden_params_out.safetensors  the same tensors after one step
    golden_losses.npz              each loss and the sim weights

The step is written from the spec alone with JAX autodiff, in float64 from the float32
inputs; the Swift step runs in float32 and must agree to 1e-4 relative. Tensor names and
layouts are those of `robotctl train verify-step` (README, "H2OTrainer"): Linear layers are
`{net}.{i}.weight` of shape [out, in] and `{net}.{i}.bias` of shape [out] (PyTorch's
convention), Adam first and second moments are `adam.m.{param}` and `adam.v.{param}`, and the
Adam step counts are int64 scalars `adam.step.{group}`.

Usage as a second verify-step (for cross-checking any file set):
    reference_h2oplus.py --params IN.safetensors --batch B.npz --noise N.npz --out OUT.safetensors
"""

import argparse
import json
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

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


def policy_sample(p, s, eps, A):
    out = mlp(p, "policy", s)
    mu, raw = out[:, :A], out[:, A:]
    log_std = jnp.clip(p["policy.log_std_multiplier"][0] * raw + p["policy.log_std_offset"][0], -20.0, 2.0)
    std = jnp.exp(log_std)
    u = mu + std * eps
    a = jnp.tanh(u)
    log_normal = -0.5 * eps**2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi)
    correction = 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))
    return a, jnp.sum(log_normal - correction, axis=1)


def q(p, net, s, a):
    return mlp(p, net, jnp.concatenate([s, a], axis=1))[:, 0]


def disc_logits(p, net, *xs):
    return 2.0 * jnp.tanh(mlp(p, net, jnp.concatenate(xs, axis=1)))


def step(params, batch, noise, hp):
    """One H2O+ step. Returns (new_params, losses dict)."""
    p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items() if not k.startswith("adam.")}
    b = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in batch.items()}
    n = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in noise.items()}
    S = b["real_observations"].shape[1]
    A = b["real_actions"].shape[1]
    Nr = b["real_observations"].shape[0]
    sd = hp["discriminator_noise_std"]
    grads = {}

    # ---- 1. Discriminators ------------------------------------------------------------
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
    for k in p:
        if k.startswith("disc_sa."):
            grads[k] = g_sa[k] + g_sas[k]  # D_sa receives both losses
        elif k.startswith("disc_sas."):
            grads[k] = g_sas[k]
    new = adam(params, grads, hp, groups=["disc_sa", "disc_sas"])
    pd = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in new.items() if not k.startswith("adam.")}

    # ---- 2. Sim weight with the updated discriminators, no noise ------------------------
    s_logits = disc_logits(pd, "disc_sas", b["sim_observations"], b["sim_actions"], b["sim_next_observations"])
    w = jnp.exp(s_logits[:, 0] - s_logits[:, 1])
    w_c = jnp.clip(w, 1e-5, 1.0)

    # ---- 3. Policy and temperature on mixed states (pre-update critics) ----------------
    obs = jnp.concatenate([b["real_observations"], b["sim_observations"]], 0)
    act = jnp.concatenate([b["real_actions"], b["sim_actions"]], 0)
    rew = jnp.concatenate([b["real_rewards"], b["sim_rewards"]], 0)
    nxt = jnp.concatenate([b["real_next_observations"], b["sim_next_observations"]], 0)
    done = jnp.concatenate([b["real_terminals"], b["sim_terminals"]], 0)
    alpha = jnp.exp(p["log_alpha"][0])

    def l_pi_fn(q_):
        a_t, logp = policy_sample(q_, obs, n["policy_noise"], A)
        qmin = jnp.minimum(q(p, "q1", obs, a_t), q(p, "q2", obs, a_t))  # critics fixed: gradient into Q discarded
        return jnp.mean(alpha * logp - qmin), logp

    (l_pi, logp), g_pi = jax.value_and_grad(l_pi_fn, has_aux=True)(p)
    target_entropy = -float(A)

    def l_alpha_fn(q_):
        return -jnp.mean(q_["log_alpha"][0] * jax.lax.stop_gradient(logp + target_entropy))

    l_alpha, g_alpha = jax.value_and_grad(l_alpha_fn)(p)

    # ---- 4. Mixed target --------------------------------------------------------------
    a_next, logp_next = policy_sample(p, nxt, n["next_policy_noise"], A)
    q_next = jnp.minimum(q(p, "q1_target", nxt, a_next), q(p, "q2_target", nxt, a_next))
    v_next = mlp(p, "v", nxt)[:, 0]
    y_explore = rew + hp["gamma"] * (1 - done) * (q_next - alpha * logp_next)
    y_exploit = rew + hp["gamma"] * (1 - done) * v_next
    lam = hp["exploit_coefficient"]
    y = jax.lax.stop_gradient(lam * y_exploit + (1 - lam) * y_explore)

    # ---- 5. Critic loss -----------------------------------------------------------------
    def l_q_fn(q_):
        total = 0.0
        for j in ("q1", "q2"):
            err = q(q_, j, obs, act) - y
            total = total + jnp.mean(err[:Nr] ** 2) + jnp.mean(w_c * err[Nr:] ** 2)
        return total

    l_q, g_q = jax.value_and_grad(l_q_fn)(p)

    # ---- 6. Value loss on real samples only, against the target critics ----------------
    rs_obs, rs_act = b["real_observations"], b["real_actions"]
    qt = jnp.minimum(q(p, "q1_target", rs_obs, rs_act), q(p, "q2_target", rs_obs, rs_act))

    def l_v_fn(q_):
        e = qt - mlp(q_, "v", rs_obs)[:, 0]
        weight = jnp.abs(hp["expectile"] - (e < 0).astype(jnp.float64))
        return jnp.mean(weight * e**2)

    l_v, g_v = jax.value_and_grad(l_v_fn)(p)

    # ---- 7. Updates: log_alpha, V, policy, Q (all from pre-step parameters), Polyak ----
    for k in p:
        g = group_of(k)
        if g == "log_alpha":
            grads[k] = g_alpha[k]
        elif g == "v":
            grads[k] = g_v[k]
        elif g == "policy":
            grads[k] = g_pi[k]
        elif g == "q":
            grads[k] = g_q[k]
    new = adam(new, grads, hp, groups=["log_alpha", "v", "policy", "q"])
    rho = hp["polyak"]
    for j in ("q1", "q2"):
        for i in range(NETS[j]):
            for t in ("weight", "bias"):
                tk, sk = f"{j}_target.{i}.{t}", f"{j}.{i}.{t}"
                new[tk] = (1 - rho) * np.asarray(params[tk], np.float64) + rho * new[sk]
    out_losses = {
        "losses/disc_sa": l_sa, "losses/disc_sas": l_sas, "losses/actor": l_pi,
        "losses/alpha": l_alpha, "losses/critic": l_q, "losses/value": l_v,
        "charts/alpha": alpha, "charts/sim_weight_mean": jnp.mean(w_c),
        "charts/log_pi_mean": jnp.mean(logp),
    }
    return new, {k: float(v) for k, v in out_losses.items()}, np.asarray(w_c)


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


STEPS = {"h2o+": lambda *a: step(*a), "h2o": h2o_step, "iql-real": iql_step}



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


def make_fixture():
    rng = np.random.default_rng(20261128)
    S, A, H, DH = 3, 1, 8, 16
    B = 8
    Nr = Ns = B // 2
    hp = {"gamma": 0.99, "exploit_coefficient": 0.3, "expectile": 0.7, "polyak": 0.005,
          "discriminator_noise_std": 0.1, "learning_rate": 3e-4, "adam_beta1": 0.9, "adam_beta2": 0.999,
          "adam_epsilon": 1e-8}
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

    batch = {}
    for kind, count in (("real", Nr), ("sim", Ns)):
        batch.update(transitions(count, f"{kind}_"))
        batch[f"{kind}_rewards"] = rng.standard_normal(count)
        batch[f"{kind}_terminals"] = np.zeros(count)
        batch[f"{kind}_terminals"][-1] = 1.0
        batch.update(transitions(B, f"disc_{kind}_"))
    batch = {k: v.astype(np.float32) for k, v in batch.items()}
    noise = {
        "policy_noise": rng.standard_normal((B, A)),
        "next_policy_noise": rng.standard_normal((B, A)),
        "disc_real_noise": rng.standard_normal((B, 2 * S + A)),
        "disc_sim_noise": rng.standard_normal((B, 2 * S + A)),
    }
    noise = {k: v.astype(np.float32) for k, v in noise.items()}
    meta = {"h2o.hyperparameters": json.dumps(hp, sort_keys=True), "h2o.algorithm": "h2o+"}
    save_file(params, os.path.join(HERE, "golden_params_in.safetensors"), metadata=meta)
    np.savez(os.path.join(HERE, "golden_batch.npz"), **batch)
    np.savez(os.path.join(HERE, "golden_noise.npz"), **noise)
    run(os.path.join(HERE, "golden_params_in.safetensors"), os.path.join(HERE, "golden_batch.npz"),
        os.path.join(HERE, "golden_noise.npz"), os.path.join(HERE, "golden_params_out.safetensors"),
        losses_npz=os.path.join(HERE, "golden_losses.npz"))



def make_baseline_fixture(algorithm, tag, seed):
    """golden_{tag}_*: one `algorithm` step ("h2o" or "iql-real") at sizes other than the
    H2O+ fixture's (S = 4, A = 2, hidden 12, discriminators 20, B = 10, K = 3)."""
    rng = np.random.default_rng(seed)
    S, A, H, DH, B, K = 4, 2, 12, 20, 10, 3
    split = algorithm == "h2o"
    Nr, Ns = (B // 2, B - B // 2) if split else (B, 0)
    hp = {"gamma": 0.99, "polyak": 0.005, "discriminator_noise_std": 0.1, "learning_rate": 3e-4,
          "adam_beta1": 0.9, "adam_beta2": 0.999, "adam_epsilon": 1e-8, "cql_weight": 0.5,
          "cql_noisy_copies": K, "cql_next_state_std_ratio": 1.0, "iql_expectile": 0.7,
          "iql_temperature": 3.0, "iql_max_weight": 100.0, "hidden_size": H,
          "discriminator_hidden_size": DH, "batch_size": B}
    sizes = {"policy": [S, H, H, 2 * A], "q1": [S + A, H, H, 1], "q2": [S + A, H, H, 1], "v": [S, H, H, 1],
             "disc_sa": [S + A, DH, DH, 2], "disc_sas": [2 * S + A, DH, DH, 2]}
    params = {}
    for net, sz in sizes.items():
        for i in range(3):
            bound = 1 / np.sqrt(sz[i])
            params[f"{net}.{i}.weight"] = rng.uniform(-bound, bound, (sz[i + 1], sz[i]))
            params[f"{net}.{i}.bias"] = rng.uniform(-bound, bound, (sz[i + 1],))
    for j in ("q1", "q2"):
        for i in range(3):
            for t in ("weight", "bias"):
                x = params[f"{j}.{i}.{t}"]
                params[f"{j}_target.{i}.{t}"] = x + 0.05 * rng.standard_normal(x.shape)
    params["v.2.bias"] = np.array([-0.3])  # advantages of both signs for IQL's weights
    params["disc_sas.2.bias"] = np.array([-0.15, 0.15])
    params["policy.log_std_multiplier"] = np.array([0.9])
    params["policy.log_std_offset"] = np.array([-0.8])
    params["log_alpha"] = np.array([-0.4])
    # Mid-training Adam state (bias correction exercised). First moments small beside this
    # step's (1 − β1)·g: where 0.9·m and 0.1·g nearly cancel, float32 rounds the difference to
    # a few ulp of 0.9·m, which a 1e-4 check against the float64 reference would measure instead.
    for k in [k for k in params if group_of(k) is not None]:
        params[f"adam.m.{k}"] = 1e-6 * rng.standard_normal(params[k].shape)
        params[f"adam.v.{k}"] = 1e-5 * rng.random(params[k].shape)
    for g in GROUPS:
        params[f"adam.step.{g}"] = np.asarray(5, np.int64)
    params = {k: (v.astype(np.float32) if v.dtype != np.int64 else v) for k, v in params.items()}
    batch = {}
    for kind, count in (("real", Nr), ("sim", Ns)):
        if count == 0:
            continue
        batch[f"{kind}_observations"] = rng.standard_normal((count, S))
        batch[f"{kind}_actions"] = rng.uniform(-0.95, 0.95, (count, A))
        batch[f"{kind}_rewards"] = rng.standard_normal(count)
        batch[f"{kind}_next_observations"] = rng.standard_normal((count, S))
        batch[f"{kind}_terminals"] = (np.arange(count) == count - 1).astype(np.float64)
    noise = {"policy_noise": rng.standard_normal((B, A)), "next_policy_noise": rng.standard_normal((B, A))}
    if split:
        for kind in ("real", "sim"):
            batch[f"disc_{kind}_observations"] = rng.standard_normal((B, S))
            batch[f"disc_{kind}_actions"] = rng.uniform(-1, 1, (B, A))
            batch[f"disc_{kind}_next_observations"] = rng.standard_normal((B, S))
            noise[f"disc_{kind}_noise"] = rng.standard_normal((B, 2 * S + A))
        noise["next_state_noise"] = rng.standard_normal((Ns, K, S))
        # The real set's per-dimension observation std (+1e-3, the authors' epsilon): unequal
        # components, so a scalar σ would not pass.
        batch["real_observation_std"] = np.array([0.5, 1.0, 2.0, 0.25])[:S] + 1e-3
    batch = {k: v.astype(np.float32) for k, v in batch.items()}
    noise = {k: v.astype(np.float32) for k, v in noise.items()}
    meta = {"h2o.hyperparameters": json.dumps(hp, sort_keys=True), "h2o.algorithm": algorithm}
    f = lambda name: os.path.join(HERE, f"golden_{tag}_{name}")  # noqa: E731
    save_file(params, f("params_in.safetensors"), metadata=meta)
    np.savez(f("batch.npz"), **batch)
    np.savez(f("noise.npz"), **noise)
    run(f("params_in.safetensors"), f("batch.npz"), f("noise.npz"), f("params_out.safetensors"),
        losses_npz=f("losses.npz"))


def run(params_path, batch_path, noise_path, out_path, losses_npz=None):
    from safetensors import safe_open
    with safe_open(params_path, "np") as f:
        meta = f.metadata()
    params = load_file(params_path)
    batch = dict(np.load(batch_path))
    noise = dict(np.load(noise_path))
    hp = hyperparameters_from(meta)
    new, losses_, w_c = STEPS[meta.get("h2o.algorithm", "h2o+")](params, batch, noise, hp)
    out = {k: (np.asarray(v, np.float32) if np.asarray(v).dtype != np.int64 else np.asarray(v, np.int64))
           for k, v in new.items()}
    meta_out = dict(meta)
    meta_out["h2o.losses"] = json.dumps(losses_, sort_keys=True)
    save_file(out, out_path, metadata=meta_out)
    if losses_npz:
        np.savez(losses_npz, sim_weights=w_c.astype(np.float64),
                 **{k.replace("/", "."): np.float64(v) for k, v in losses_.items()})
    print(json.dumps(losses_, sort_keys=True))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params")
    ap.add_argument("--batch")
    ap.add_argument("--noise")
    ap.add_argument("--out")
    ap.add_argument("--baselines", action="store_true", help="write the golden_h2o_* and golden_iql_* fixtures")
    args = ap.parse_args()
    if args.params:
        run(args.params, args.batch, args.noise, args.out)
    elif args.baselines:
        make_baseline_fixture("h2o", "h2o", 20261204)
        make_baseline_fixture("iql-real", "iql", 20261205)
    else:
        make_fixture()
    sys.exit(0)
