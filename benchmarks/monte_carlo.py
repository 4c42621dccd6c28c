"""Monte Carlo machinery of ahn2024.eq5: batched draws vs a loop, antithetic vs plain, exact vs sampled.

    OMP_NUM_THREADS=2 python benchmarks/monte_carlo.py [--draws 10000] [--device cpu|cuda]

The check of eq. (5) reads v_t = Proj⊥_{∇f} ∇f(x + ρg) back from the implementation's own steps
(flatcheck.impl.rsp_perturbations.perturbations). This script measures, on one instance of the claim
(Example 1 at x = (1/2, 1), ρ = 0.05):

1. wall time for n draws: the built-in RSP's batched functional step (one tensor call) against
   stepping optimizer objects one draw at a time — flatcheck's own RSP class and an
   independently written one (tests/fixtures/broken_rsp.py:ReferenceRSP) through `Implementation`;
2. variance of the Monte Carlo mean per draw: antithetic pairs (g, −g) against plain draws, both
   from the per-draw sample variance and across independent seeds;
3. the exact symbolic E v_t (moment formulas on the sphere, no sampling) and its cost, with the
   batched estimate's distance to it in units of its standard error.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sympy as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fixtures"))

from broken_rsp import ReferenceRSP  # noqa: E402

from flatcheck.algorithms import RSP  # noqa: E402
from flatcheck.impl import Implementation, builtin  # noqa: E402
from flatcheck.impl.rsp_perturbations import perturbations  # noqa: E402
from flatcheck.problems import PointInstance, example1  # noqa: E402
from flatcheck_theorems.ahn2024.eq5 import RHO, exact_mean  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def estimator_variance(v: torch.Tensor, antithetic: bool) -> torch.Tensor:
    """Per-coordinate Var(mean of v) for this batch: plain draws s²/n, antithetic pairs s²_pair/(n/2)."""
    n = v.shape[0]
    if antithetic:
        pairs = (v[: n // 2] + v[n // 2 : 2 * (n // 2)]) / 2
        return pairs.var(0) / pairs.shape[0]
    return v.var(0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--seeds", type=int, default=30, help="independent seeds for the empirical variance")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    n, dev = args.draws, args.device

    inst = PointInstance(example1(), [sp.Rational(1, 2), sp.Integer(1)], scalars={"rho": 0.05})
    x = inst.x_tensor(device=dev)
    hp = {"lr": 1.0, "rho": inst.scalars["rho"]}
    prob = inst.problem
    ours = builtin("rsp")
    own_class = Implementation("flatcheck.algorithms:RSP", "rsp", RSP)
    reference = Implementation("tests.broken_rsp:ReferenceRSP", "rsp", ReferenceRSP)

    print(f"# Monte Carlo of ahn2024.eq5 — Example 1 at x=(1/2,1), rho=0.05, {n} draws, device {dev}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")

    t_batched, v_anti = timed(lambda: perturbations(ours, prob, x, hp, n, seed=1, antithetic=True), 5)
    t_plain_b, v_plain = timed(lambda: perturbations(ours, prob, x, hp, n, seed=1, antithetic=False), 5)
    t_loop_own, _ = timed(lambda: perturbations(own_class, prob, x, hp, n, seed=1), 1)
    t_loop_ref, v_ref = timed(lambda: perturbations(reference, prob, x, hp, n, seed=1), 1)
    print("\n## 1. Wall time for the draws")
    print(f"batched built-in RSP (antithetic)      {t_batched * 1e3:9.2f} ms")
    print(f"batched built-in RSP (plain)           {t_plain_b * 1e3:9.2f} ms")
    for name, t in (("flatcheck.algorithms:RSP", t_loop_own), ("tests.broken_rsp:ReferenceRSP", t_loop_ref)):
        print(f"loop over {name:<29}{t * 1e3:9.2f} ms   speed-up {t / t_batched:7.1f}x")

    print("\n## 2. Variance of the mean of v_t (summed over coordinates)")
    var_plain = float(estimator_variance(v_plain, antithetic=False).sum())
    se_anti = estimator_variance(v_anti, antithetic=True).sqrt()
    var_anti = float((se_anti**2).sum())
    print(f"from one batch: plain {var_plain:.3e}  antithetic {var_anti:.3e}  reduction {var_plain / var_anti:.1f}x")
    means = {True: [], False: []}
    for s in range(args.seeds):
        for anti in (True, False):
            means[anti].append(perturbations(ours, prob, x, hp, n, seed=100 + s, antithetic=anti).mean(0))
    emp = {k: float(torch.stack(m).var(0).sum()) for k, m in means.items()}
    print(
        f"across {args.seeds} seeds: plain {emp[False]:.3e}  antithetic {emp[True]:.3e}  "
        f"reduction {emp[False] / emp[True]:.1f}x"
    )
    print(f"(the loop over ReferenceRSP draws plain g: its per-draw variance {float(v_ref.var(0).sum()):.3e})")

    print("\n## 3. Exact symbolic expectation (no sampling)")
    t_exact, (mean, _) = timed(lambda: exact_mean(inst), 3)
    exact = torch.tensor([float(m.subs(RHO, hp["rho"])) for m in mean], dtype=torch.float64, device=dev)
    est = v_anti.mean(0)
    z = float(((est - exact).abs() / se_anti).max())
    print(f"exact E v_t = {[f'{float(c):.6e}' for c in exact]}   ({t_exact * 1e3:.1f} ms, sympy)")
    print(f"batched antithetic estimate = {[f'{float(c):.6e}' for c in est]}   max |error|/se = {z:.2f}")


if __name__ == "__main__":
    main()
