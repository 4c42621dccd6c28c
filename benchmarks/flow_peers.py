"""The gradient-flow limit map Φ: flatcheck's batched Dormand–Prince against torchode, side by side.

    OMP_NUM_THREADS=1 python benchmarks/flow_peers.py [--batch 1 32] [--repeats 3] [--only SUBSTRING]

Needs the `bench` extra (torchode). Φ(x) = lim x(t) for ẋ = −∇f(x) on the problems whose Φ the
catalog integrates, at the tolerances those claims use:
- ahn2024.example1.phi: f = (x₁x₂ − 1)² (`setting1.diagonal_network([1], [1])`), x ∈ [−4, 4]²
  with |x₁ + x₂| ≥ ¼ (off the saddle's stable line), `flow.phi` defaults (‖∇f‖ ≤ 1e-11, rtol 1e-9,
  atol 1e-12); reference: the closed form `known["phi"]`.
- wen2023.theorem8/11: the 4-D toy L = F₀(x)y₀² + F₁(x)y₁² (`wen_toy`), starts as `toy_starts`
  (x ∈ [0, 1]², y ∈ [−½, ½]²), `dynamics.PHI_TOL` (‖∇L‖ ≤ 1e-9 = rtol, atol 1e-11);
- wen2023.lemma19/20: a curved quadratic manifold loss (`quadratic_manifolds.manifold_loss`, p = 1,
  M = 2, d = 3) at points within ¼ per coordinate of Γ, `phi_differences`' tolerance 1e-10.
For the last two the reference is scipy's DOP853 (rtol 1e-13, atol 1e-15) on the whole batch as
one system, stopped by an event when every row has ‖∇L‖ ≤ 1e-13: an independent 8th-order code.

flatcheck: `flatcheck.numeric.flow.phi` — rows integrate independently, finished rows drop out of
the batch, stop on ‖∇f‖ ≤ tol. torchode 1.0 (Dopri5, IntegralController, per-instance step size)
integrates to a horizon, not to an event, so Φ is found the way a user would: solve to T, keep the
rows with ‖∇f‖ ≤ tol, restart the others from where they stopped with T doubled (T₀ = 10, at most
8 rounds of at most 4000 steps; a row whose solve fails is given up). Same tolerances. Measured:
worst error against the reference over every row, converged or not (max-norm, relative to
1 + |x|∞ as example1.phi measures it), rows converged, gradient rows evaluated (the
work: rows passed to ∇f), median wall time over interleaved repeats.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import numpy as np
import sympy as sp
import torch
import torchode as to
from scipy.integrate import solve_ivp

from flatcheck.numeric.flow import phi
from flatcheck.problems.quadratic_manifolds import manifold_loss, manifold_point
from flatcheck.problems.setting1 import diagonal_network
from flatcheck.problems.wen_toy import wen_toy

Grad = Callable[[torch.Tensor], torch.Tensor]
R = sp.Rational


def torchode_phi(
    grad: Grad, x: torch.Tensor, tol: float, rtol: float, atol: float, max_steps: int = 4000, rounds: int = 8
) -> tuple[torch.Tensor, torch.Tensor]:
    """Φ by torchode: Dopri5 to horizon T (at most max_steps steps), unfinished rows restarted with 2T.
    A row whose solve fails (status ≠ 0: step limit, dt_min, non-finite) keeps its last finished state
    and is given up (torchode returns no state for it). Returns (points, converged)."""
    term = to.ODETerm(lambda t, y: -grad(y), with_stats=False)
    controller = to.IntegralController(atol=atol, rtol=rtol, term=term)
    solver = to.AutoDiffAdjoint(to.Dopri5(term=term), controller, max_steps=max_steps)
    y = x.clone()
    done = torch.linalg.vector_norm(grad(y), dim=-1) <= tol
    failed = torch.zeros_like(done)
    horizon = 10.0
    for _ in range(rounds):
        idx = (~done & ~failed).nonzero().squeeze(-1)
        if idx.numel() == 0:
            break
        zeros = torch.zeros(idx.numel(), dtype=x.dtype)
        sol = solver.solve(to.InitialValueProblem(y0=y[idx], t_start=zeros, t_end=zeros + horizon))
        ok = sol.status == 0
        y[idx[ok]] = sol.ys[ok, -1]
        failed[idx[~ok]] = True
        done[idx] = torch.linalg.vector_norm(grad(y[idx]), dim=-1) <= tol
        horizon *= 2
    return y, done & torch.isfinite(y).all(-1)


def dop853_reference(grad: Grad, x: torch.Tensor, tol: float = 1e-13) -> torch.Tensor:
    """Φ of every row by scipy's DOP853 on the stacked system, run until the slowest row has ‖∇f‖ ≤ tol."""
    b, d = x.shape

    def rhs(_t: float, s: np.ndarray) -> np.ndarray:
        return -grad(torch.from_numpy(s.reshape(b, d))).numpy().reshape(-1)

    def settled(_t: float, s: np.ndarray) -> float:
        return float(torch.linalg.vector_norm(grad(torch.from_numpy(s.reshape(b, d))), dim=-1).max()) - tol

    settled.terminal = True
    sol = solve_ivp(rhs, (0.0, 1e6), x.numpy().reshape(-1), "DOP853", rtol=1e-13, atol=1e-15, events=settled)
    if sol.status != 1:
        raise RuntimeError(f"reference flow did not settle: {sol.message}")
    return torch.from_numpy(sol.y[:, -1].reshape(b, d).copy())


def counting(grad: Grad) -> tuple[Grad, dict]:
    count = {"rows": 0}

    def counted(x: torch.Tensor) -> torch.Tensor:
        count["rows"] += x.shape[0]
        return grad(x)

    return counted, count


def cases(batch: int, seed: int) -> list[tuple[str, object, torch.Tensor, dict, Callable | None]]:
    rng = random.Random(seed)
    ex1 = diagonal_network([1], [1])
    pts = []
    while len(pts) < batch:
        p = [rng.uniform(-4, 4) for _ in range(2)]
        if abs(p[0] + p[1]) >= 0.25:
            pts.append(p)
    toy = wen_toy()
    starts = [[rng.uniform(0, 1) for _ in range(2)] + [rng.uniform(-0.5, 0.5) for _ in range(2)] for _ in range(batch)]
    man = manifold_loss([[R(1)], [R(-1, 2)]], [[R(1, 2)], [R(1)]], [R(2), R(3)], [[R(1)], [R(1, 2)]], [[R(0)], [R(1)]])
    near = []
    for _ in range(batch):
        on = manifold_point(man, [R(rng.randint(-8, 8), 8)])
        near.append([float(v) + rng.uniform(-0.25, 0.25) for v in on])
    t = lambda rows: torch.tensor(rows, dtype=torch.float64)  # noqa: E731
    return [
        ("ahn2024.example1.phi", ex1, t(pts), {"tol": 1e-11, "rtol": 1e-9, "atol": 1e-12}, ex1.known["phi"]),
        ("wen2023 toy (theorem8/11)", toy, t(starts), {"tol": 1e-9, "rtol": 1e-9, "atol": 1e-11}, None),
        ("manifold loss (lemma19/20)", man, t(near), {"tol": 1e-10, "rtol": 1e-10, "atol": 1e-12}, None),
    ]


def run_case(name: str, prob, x: torch.Tensor, tols: dict, closed, repeats: int) -> dict:
    ref = closed(x) if closed is not None else dop853_reference(prob.grad, x)
    scale = 1.0 + x.abs().amax(-1)
    solvers = {
        "flatcheck": lambda g: (lambda r: (r.point, r.converged))(phi(g, x, **tols)),
        "torchode": lambda g: torchode_phi(g, x, **tols),
    }
    out = {}
    for _ in range(repeats):  # interleaved
        for lib, solve in solvers.items():
            g, count = counting(prob.grad)
            t0 = time.perf_counter()
            point, ok = solve(g)
            secs = time.perf_counter() - t0
            err = float(((point - ref).abs().amax(-1) / scale).nan_to_num(float("inf")).max())
            gnorm = float(torch.linalg.vector_norm(prob.grad(point), dim=-1).nan_to_num(float("inf")).max())
            out.setdefault(lib, []).append((err, int(ok.sum()), count["rows"], secs, gnorm))
    summary = {}
    for lib, runs in out.items():
        err, conv, rows, _, gnorm = runs[0]
        summary[lib] = (err, conv, rows, statistics.median(r[3] for r in runs))
        print(
            f"  {name:28s} B={x.shape[0]:3d} {lib:9s}: max error {err:.1e}, converged {conv}/{x.shape[0]} "
            f"(largest final ‖∇f‖ {gnorm:.1e}), ∇f rows {rows}, {summary[lib][3]:.3f} s"
        )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="", help="run only the problems whose name contains this")
    args = ap.parse_args()
    print(f"# Φ: flatcheck Dormand–Prince vs torchode {to.__version__} (torch {torch.__version__}, ", end="")
    print(f"{torch.get_num_threads()} threads)")
    for b in args.batch:
        for name, prob, x, tols, closed in cases(b, args.seed):
            if args.only in name:
                run_case(name, prob, x, tols, closed, args.repeats)


if __name__ == "__main__":
    main()
