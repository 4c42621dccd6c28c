"""Batched functional steps vs a Python loop of optimizer steps, for Monte Carlo draws of one step.

A check that needs N independent draws of one step of an algorithm at a point x can either call the
batched functional step once on an (N, d) tensor, or loop over N optimizer steps (what a user's
class allows). This measures both on a d = 50 random quartic (ridge polynomial) for SAM, RSP and
NSO (k = 1) and prints the ratio. Run: OMP_NUM_THREADS=1 python benchmarks/batched_step.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import sympy as sp
import torch

from flatcheck.algorithms import NSO, RSP, SAM
from flatcheck.impl import builtin
from flatcheck.problems import Problem, ridge_polynomial


def quartic(d: int, seed: int = 0) -> Problem:
    """½xᵀAx + Σ_j c_j (w_jᵀx)⁴/24 with three quartic ridges, rational coefficients."""
    g = torch.Generator().manual_seed(seed)

    def vec() -> list[sp.Rational]:
        return [sp.Rational(int(v), 4) for v in torch.randint(-4, 5, (d,), generator=g)]

    eig = [sp.Rational(int(v), 2) for v in torch.randint(0, 8, (d,), generator=g)]
    return ridge_polynomial(eig, vec(), [(4, sp.Rational(1, 2), vec()) for _ in range(3)])


def loop_time(make, prob: Problem, x: torch.Tensor, draws: int) -> float:
    """Seconds for `draws` optimizer steps from x, one parameter vector reset before each step."""
    p = torch.nn.Parameter(x.clone())
    opt = make([p])
    sam = isinstance(opt, SAM)

    def closure():
        opt.zero_grad()
        loss = prob.f(p)
        loss.backward()
        return loss

    t0 = time.perf_counter()
    for _ in range(draws):
        with torch.no_grad():
            p.copy_(x)
        if sam:
            closure()
        opt.step(closure)
    return time.perf_counter() - t0


def batched_time(kind: str, prob: Problem, x: torch.Tensor, hp: dict, draws: int) -> float:
    xs = x.expand(draws, -1).clone()
    t0 = time.perf_counter()
    builtin(kind).step_many(prob, xs, hp, 0)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--d", type=int, default=50)
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument(
        "--loop-draws", type=int, default=None, help="draws for the loop (default --draws); the ratio is per draw"
    )
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    prob = quartic(args.d)
    x = 0.1 * torch.randn(args.d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    cases = {
        "sam": ({"lr": 0.01, "rho": 0.05}, lambda ps: SAM(ps, torch.optim.SGD, rho=0.05, lr=0.01)),
        "rsp": ({"lr": 0.01, "rho": 0.05}, lambda ps: RSP(ps, lr=0.01, rho=0.05)),
        "nso": ({"lr": 0.01, "sigma": 0.05, "k": 1}, lambda ps: NSO(ps, lr=0.01, sigma=0.05, k=1)),
    }
    loop_draws = args.loop_draws or args.draws
    print(
        f"d = {args.d}: {args.draws} batched draws vs {loop_draws} looped optimizer steps, "
        f"median of {args.repeats} runs, torch {torch.__version__}"
    )
    for kind, (hp, make) in cases.items():
        batched_time(kind, prob, x, hp, 8)  # compile the gradient once
        loop_time(make, prob, x, 8)
        b = statistics.median(batched_time(kind, prob, x, hp, args.draws) for _ in range(args.repeats))
        lo = statistics.median(loop_time(make, prob, x, loop_draws) for _ in range(args.repeats))
        ratio = (lo / loop_draws) / (b / args.draws)
        print(
            f"{kind}: batched {b:.3f} s ({args.draws} draws), loop {lo:.3f} s ({loop_draws} steps), "
            f"per-draw ratio {ratio:.0f}x"
        )


if __name__ == "__main__":
    main()
