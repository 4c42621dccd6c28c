"""Steps per second of a user's optimizer class through flatcheck's protocol, against the built-in
batched functional step, on the runs `flatcheck check` spends its time in.

- SAM (dynamics claims, wen2023.theorem8/11/corollary15_17): one chain of `ReferenceSAM`
  (tests/fixtures/broken_sam.py, davda54/sam's API) for many consecutive steps on the 4-D toy of
  wen2023 Figure 1, full-batch and stochastic; `flatcheck.impl.dynamics.run_chains`.
- NSO (Monte Carlo claims, nso.lemma4_4/theorem4_3): n independent one-step draws of
  `ReferenceNSO` (tests/fixtures/broken_nso.py) from one point, one optimizer object per draw;
  `Implementation.step_many`.

Counts (steps, draws) are fixed; only the time varies. Run:

    OMP_NUM_THREADS=1 PYTHONPATH=.:tests/fixtures python benchmarks/user_stepping.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sympy as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fixtures"))

from broken_nso import ReferenceNSO  # noqa: E402
from broken_sam import ReferenceSAM  # noqa: E402

from flatcheck.impl import Implementation, builtin, user_implementation  # noqa: E402
from flatcheck.impl.dynamics import run_chains  # noqa: E402
from flatcheck.problems import wen_toy  # noqa: E402
from flatcheck.problems.nso_families import NSOInstance, noisy_quadratic  # noqa: E402


def best_rate(work: Callable[[], None], count: int, repeats: int) -> float:
    """count / the fastest of `repeats` timed runs (the least disturbed by other load)."""
    work()  # warm-up: first-call imports and compilation are not stepping
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return count / min(times)


def sam_rows(steps: int, repeats: int) -> list[tuple[str, float]]:
    prob = wen_toy()
    x0 = torch.tensor([[0.75, 0.25, -0.125, -0.25]], dtype=torch.float64)
    hp = {"lr": 0.01, "rho": 0.2}
    rows = []
    users = user_implementation(ReferenceSAM, None)
    for kind in ("sam", "sam_stochastic"):
        for name, impl in ((f"user ReferenceSAM, {kind}", users[kind]), (f"built-in {kind}", builtin(kind))):
            rate = best_rate(lambda impl=impl: run_chains(impl, prob, x0, hp, steps, 0), steps, repeats)
            rows.append((f"{name}: 1 chain × {steps} steps", rate))
    return rows


def nso_rows(draws: int, repeats: int) -> list[tuple[str, float]]:
    # A 4-D noisy quadratic as nso_instances draws them: C = 2, three offsets (σ² > 0), k = 2.
    r = sp.Rational
    prob = noisy_quadratic(
        [r(2), r(1), r(1, 2), r(1, 4)],
        [r(1), r(-1, 2), r(2), r(1, 4)],
        [[r(1), r(0), r(-1), r(1, 2)], [r(-1), r(1), r(0), r(0)], [r(0), r(-1), r(1), r(-1, 2)]],
    )
    inst = NSOInstance(prob, [r(3), r(-2), r(1, 2), r(5)], 0.5, 2)
    w = inst.w0_tensor()
    xs = w.expand(draws, -1).clone()
    hp = inst.hp(1.0 / inst.C)
    user = Implementation("broken_nso:ReferenceNSO", "nso", ReferenceNSO)
    rows = []
    for name, impl in (("user ReferenceNSO", user), ("built-in nso", builtin("nso"))):
        rate = best_rate(lambda impl=impl: impl.step_many(inst.problem, xs, hp, 0), draws, repeats)
        rows.append((f"{name}: {draws} one-step draws (k = {hp['k']})", rate))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = sam_rows(args.steps, args.repeats) + nso_rows(args.draws, args.repeats)
    width = max(len(n) for n, _ in rows)
    for name, rate in rows:
        print(f"{name:<{width}}  {rate:10.0f} steps/s  ({1e6 / rate:8.1f} µs per step)")
    print(f"median over rows: {statistics.median(r for _, r in rows):.0f} steps/s")


if __name__ == "__main__":
    main()
