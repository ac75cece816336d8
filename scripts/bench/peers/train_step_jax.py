"""The H2O+ step of shared/spec/h2oplus.md in JAX (jit, CPU, float32): the peer of
`robotctl bench train`, run by scripts/bench/40-train.sh.

Usage: python train_step_jax.py PRESET STEPS   (PRESET: robot or mujoco)
Prints one JSON object: median, p10, p90 milliseconds per step and the JAX version.
"""
import json, sys, time
import jax, jax.numpy as jnp

def init(key, sizes):
    layers = []
    for i in range(len(sizes) - 1):
        key, k1, k2 = jax.random.split(key, 3)
        bound = 1 / sizes[i] ** 0.5
        layers.append((jax.random.uniform(k1, (sizes[i], sizes[i + 1]), minval=-bound, maxval=bound),
                       jax.random.uniform(k2, (sizes[i + 1],), minval=-bound, maxval=bound)))
    return layers

def mlp(p, x):
    for i, (w, b) in enumerate(p):
        x = x @ w + b
        if i < len(p) - 1:
            x = jax.nn.relu(x)
    return x

def sample(p, ls, s, eps, A):
    out = mlp(p, s)
    mu, raw = out[:, :A], out[:, A:]
    log_std = jnp.clip(ls[0] * raw + ls[1], -20.0, 2.0)
    u = mu + jnp.exp(log_std) * eps
    logp = jnp.sum(-0.5 * eps**2 - log_std - 0.9189385 - 2 * (0.6931472 - u - jax.nn.softplus(-2 * u)), 1)
    return jnp.tanh(u), logp

def adam(p, g, m, v, t, lr=3e-4, b1=0.9, b2=0.999, eps=1e-8):
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    c1, c2 = 1 - b1**t, 1 - b2**t
    p = jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v)
    return p, m, v

def make(S, A, H, D, B, lam, tau):
    key = jax.random.PRNGKey(0)
    ks = jax.random.split(key, 8)
    params = {"pi": init(ks[0], [S, H, H, 2 * A]), "ls": jnp.array([1.0, -1.0]), "q1": init(ks[1], [S + A, H, H, 1]),
              "q2": init(ks[2], [S + A, H, H, 1]), "v": init(ks[3], [S, H, H, 1]),
              "dsa": init(ks[4], [S + A, D, D, 2]), "dsas": init(ks[5], [2 * S + A, D, D, 2]), "la": jnp.zeros(())}
    targets = {"q1": params["q1"], "q2": params["q2"]}
    zeros = jax.tree.map(jnp.zeros_like, params)
    state = (params, targets, zeros, zeros, jnp.float32(0))
    n = B // 2

    def step(state, key):
        p, tg, m, v, t = state
        k = jax.random.split(key, 12)
        def tr(kk, rows):
            kk = jax.random.split(kk, 4)
            return (jax.random.normal(kk[0], (rows, S)), jax.random.uniform(kk[1], (rows, A), minval=-1, maxval=1),
                    jax.random.normal(kk[2], (rows,)), jax.random.normal(kk[3], (rows, S)))
        rs, ra, rr, rn = tr(k[0], n); ss, sa, sr, sn = tr(k[1], n)
        drs, dra, _, drn = tr(k[2], B); dss, dsa_, _, dsn = tr(k[3], B)
        d_real = jnp.concatenate([drs, dra, drn], 1) + 0.1 * jax.random.normal(k[4], (B, 2 * S + A))
        d_sim = jnp.concatenate([dss, dsa_, dsn], 1) + 0.1 * jax.random.normal(k[5], (B, 2 * S + A))
        def dl(pd):
            lsa_r = 2 * jnp.tanh(mlp(pd["dsa"], d_real[:, :S + A])); lsa_s = 2 * jnp.tanh(mlp(pd["dsa"], d_sim[:, :S + A]))
            lsas_r = 2 * jnp.tanh(mlp(pd["dsas"], d_real)) + lsa_r; lsas_s = 2 * jnp.tanh(mlp(pd["dsas"], d_sim)) + lsa_s
            ls = jax.nn.log_softmax
            l_sa = -ls(lsa_r)[:, 0].mean() - ls(lsa_s)[:, 1].mean()
            l_sas = -ls(lsas_r)[:, 0].mean() - ls(lsas_s)[:, 1].mean()
            return l_sa, l_sas
        g_sa = jax.grad(lambda d: sum(dl({"dsa": d, "dsas": p["dsas"]})))(p["dsa"])
        g_sas = jax.grad(lambda d: dl({"dsa": p["dsa"], "dsas": d})[1])(p["dsas"])
        t1 = t + 1
        dsa, m_dsa, v_dsa = adam(p["dsa"], g_sa, m["dsa"], v["dsa"], t1)
        dsas, m_dsas, v_dsas = adam(p["dsas"], g_sas, m["dsas"], v["dsas"], t1)
        lo = 2 * jnp.tanh(mlp(dsas, jnp.concatenate([ss, sa, sn], 1)))
        w = jnp.clip(jnp.exp(lo[:, 0] - lo[:, 1]), 1e-5, 1.0)
        obs = jnp.concatenate([rs, ss]); act = jnp.concatenate([ra, sa]); rew = jnp.concatenate([rr, sr]); nxt = jnp.concatenate([rn, sn])
        alpha = jnp.exp(p["la"])
        q = lambda net, s, a: mlp(net, jnp.concatenate([s, a], 1))[:, 0]
        def lpi(pp):
            a, logp = sample(pp[0], pp[1], obs, jax.random.normal(k[6], (B, A)), A)
            return (alpha * logp - jnp.minimum(q(p["q1"], obs, a), q(p["q2"], obs, a))).mean(), logp
        (l_pi, logp), g_pi = jax.value_and_grad(lpi, has_aux=True)((p["pi"], p["ls"]))
        g_la = -(jax.lax.stop_gradient(logp) - A).mean()
        a2, logp2 = sample(p["pi"], p["ls"], nxt, jax.random.normal(k[7], (B, A)), A)
        y = rew + 0.99 * (lam * mlp(p["v"], nxt)[:, 0] + (1 - lam) * (jnp.minimum(q(tg["q1"], nxt, a2), q(tg["q2"], nxt, a2)) - alpha * logp2))
        y = jax.lax.stop_gradient(y)
        def lq(qs):
            tot = 0.0
            for qq in qs:
                e = q(qq, obs, act) - y
                tot = tot + (e[:n] ** 2).mean() + (w * e[n:] ** 2).mean()
            return tot
        g_q = jax.grad(lq)((p["q1"], p["q2"]))
        qt = jnp.minimum(q(tg["q1"], rs, ra), q(tg["q2"], rs, ra))
        def lv(vv):
            e = qt - mlp(vv, rs)[:, 0]
            return (jnp.abs(tau - (e < 0)) * e**2).mean()
        g_v = jax.grad(lv)(p["v"])
        grads = {"pi": g_pi[0], "ls": g_pi[1], "q1": g_q[0], "q2": g_q[1], "v": g_v, "la": g_la}
        newp, newm, newv = dict(p), dict(m), dict(v)
        newp["dsa"], newm["dsa"], newv["dsa"] = dsa, m_dsa, v_dsa
        newp["dsas"], newm["dsas"], newv["dsas"] = dsas, m_dsas, v_dsas
        for name, g in grads.items():
            newp[name], newm[name], newv[name] = adam(p[name], g, m[name], v[name], t1)
        tg = {j: jax.tree.map(lambda a, b: 0.995 * a + 0.005 * b, tg[j], newp[j]) for j in ("q1", "q2")}
        return (newp, tg, newm, newv, t1), l_pi
    return state, jax.jit(step)

preset, steps = sys.argv[1], int(sys.argv[2])
H, B, lam, tau = (32, 32, 0.1, 0.9) if preset == "robot" else (256, 256, 0.5, 0.5)
state, step = make(3, 1, H, 256, B, lam, tau)
key = jax.random.PRNGKey(1)
for i in range(20):
    state, l = step(state, jax.random.fold_in(key, i))
jax.block_until_ready(state)
times = []
for i in range(steps):
    t0 = time.perf_counter()
    state, l = step(state, jax.random.fold_in(key, 1000 + i))
    jax.block_until_ready(state)
    times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(json.dumps({"preset": preset, "median_milliseconds": times[len(times) // 2], "p10_milliseconds": times[len(times) // 10],
                  "p90_milliseconds": times[len(times) * 9 // 10], "jax": jax.__version__}))
