"""The H2O+ step of shared/spec/h2oplus.md in PyTorch (eager, CPU, float32): the peer of
`robotctl bench train`, run by scripts/bench/40-train.sh.

Usage: python train_step_torch.py PRESET STEPS THREADS   (PRESET: robot or mujoco)
Prints one JSON object: median, p10, p90 milliseconds per step, torch version, threads.
One step = discriminators (one Adam step each), sim weights, policy and temperature, mixed
target, twin critics, expectile value, Adam on logα, V, π, Q1, Q2, Polyak. Batches are drawn
inside the step (torch.randn), like the JAX peer; S = 3, A = 1, discriminators 256 wide.
"""
import copy
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def main():
    preset, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    S, A, D = 3, 1, 256
    H, B, lam, tau = (32, 32, 0.1, 0.9) if preset == "robot" else (256, 256, 0.5, 0.5)
    gamma, rho, n = 0.99, 5e-3, B // 2
    pi, q1, q2, v = mlp([S, H, H, 2 * A]), mlp([S + A, H, H, 1]), mlp([S + A, H, H, 1]), mlp([S, H, H, 1])
    q1t, q2t = copy.deepcopy(q1), copy.deepcopy(q2)
    for p in list(q1t.parameters()) + list(q2t.parameters()):
        p.requires_grad_(False)
    dsa, dsas = mlp([S + A, D, D, 2]), mlp([2 * S + A, D, D, 2])
    log_std = torch.tensor([1.0, -1.0], requires_grad=True)
    log_alpha = torch.zeros((), requires_grad=True)
    adam = lambda params: torch.optim.Adam(params, lr=3e-4)
    opt_dsa, opt_dsas = adam(dsa.parameters()), adam(dsas.parameters())
    opt_pi, opt_la = adam(list(pi.parameters()) + [log_std]), adam([log_alpha])
    opt_q1, opt_q2, opt_v = adam(q1.parameters()), adam(q2.parameters()), adam(v.parameters())

    def sample(s, eps):
        out = pi(s)
        mu, raw = out[:, :A], out[:, A:]
        ls = torch.clamp(log_std[0] * raw + log_std[1], -20.0, 2.0)
        u = mu + ls.exp() * eps
        logp = (-0.5 * eps**2 - ls - 0.9189385 - 2 * (0.6931472 - u - F.softplus(-2 * u))).sum(1)
        return torch.tanh(u), logp

    def transitions(rows):
        return torch.randn(rows, S), torch.rand(rows, A) * 2 - 1, torch.randn(rows), torch.randn(rows, S)

    def step():
        rs, ra, rr, rn = transitions(n)
        ss, sa, sr, sn = transitions(n)
        drs, dra, _, drn = transitions(B)
        dss, dsa_, _, dsn = transitions(B)
        d_real = torch.cat([drs, dra, drn], 1) + 0.1 * torch.randn(B, 2 * S + A)
        d_sim = torch.cat([dss, dsa_, dsn], 1) + 0.1 * torch.randn(B, 2 * S + A)
        # 1. Discriminators: D_sa gets ∇(L_sa + L_sas), D_sas ∇L_sas (L_sa does not involve D_sas).
        lsa_r, lsa_s = 2 * torch.tanh(dsa(d_real[:, : S + A])), 2 * torch.tanh(dsa(d_sim[:, : S + A]))
        lsas_r, lsas_s = 2 * torch.tanh(dsas(d_real)) + lsa_r, 2 * torch.tanh(dsas(d_sim)) + lsa_s
        l_sa = -F.log_softmax(lsa_r, 1)[:, 0].mean() - F.log_softmax(lsa_s, 1)[:, 1].mean()
        l_sas = -F.log_softmax(lsas_r, 1)[:, 0].mean() - F.log_softmax(lsas_s, 1)[:, 1].mean()
        opt_dsa.zero_grad()
        opt_dsas.zero_grad()
        (l_sa + l_sas).backward()
        opt_dsa.step()
        opt_dsas.step()
        # 2. Sim weights with the updated D_sas.
        with torch.no_grad():
            lo = 2 * torch.tanh(dsas(torch.cat([ss, sa, sn], 1)))
            w = torch.clamp(torch.exp(lo[:, 0] - lo[:, 1]), 1e-5, 1.0)
        obs, act = torch.cat([rs, ss]), torch.cat([ra, sa])
        rew, nxt = torch.cat([rr, sr]), torch.cat([rn, sn])
        alpha = log_alpha.exp().detach()
        # 3. Policy and temperature with the current critics.
        a_pi, logp = sample(obs, torch.randn(B, A))
        q_pi = torch.min(q1(torch.cat([obs, a_pi], 1)), q2(torch.cat([obs, a_pi], 1)))[:, 0]
        l_pi = (alpha * logp - q_pi).mean()
        l_alpha = -(log_alpha * (logp.detach() - A)).mean()
        # 4. Mixed target.
        with torch.no_grad():
            a2, logp2 = sample(nxt, torch.randn(B, A))
            q_next = torch.min(q1t(torch.cat([nxt, a2], 1)), q2t(torch.cat([nxt, a2], 1)))[:, 0]
            y = rew + gamma * (lam * v(nxt)[:, 0] + (1 - lam) * (q_next - alpha * logp2))
            q_real = torch.min(q1t(torch.cat([rs, ra], 1)), q2t(torch.cat([rs, ra], 1)))[:, 0]
        # 5. Critics, 6. value (real rows, target critics).
        l_q = 0.0
        for q in (q1, q2):
            e = q(torch.cat([obs, act], 1))[:, 0] - y
            l_q = l_q + (e[:n] ** 2).mean() + (w * e[n:] ** 2).mean()
        e_v = q_real - v(rs)[:, 0]
        l_v = (torch.abs(tau - (e_v < 0).float()) * e_v**2).mean()
        # 7. Gradients from the pre-update parameters, then Adam on logα, V, π, Q1, Q2; Polyak.
        for opt in (opt_la, opt_v, opt_pi, opt_q1, opt_q2):
            opt.zero_grad()
        l_pi.backward()
        opt_q1.zero_grad()  # the actor's gradient into Q is discarded
        opt_q2.zero_grad()
        l_alpha.backward()
        l_v.backward()
        l_q.backward()
        for opt in (opt_la, opt_v, opt_pi, opt_q1, opt_q2):
            opt.step()
        with torch.no_grad():
            for net, target in ((q1, q1t), (q2, q2t)):
                for p, pt in zip(net.parameters(), target.parameters()):
                    pt.lerp_(p, rho)
        return l_pi

    for _ in range(20):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"preset": preset, "median_milliseconds": times[len(times) // 2],
                      "p10_milliseconds": times[len(times) // 10], "p90_milliseconds": times[len(times) * 9 // 10],
                      "torch": torch.__version__, "threads": threads}))


if __name__ == "__main__":
    main()
