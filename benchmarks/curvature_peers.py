"""Hutch++ traces and the top Hessian eigenvalue: flatcheck against curvlinops and PyHessian, side by side.

    OMP_NUM_THREADS=1 python benchmarks/curvature_peers.py [--hidden 16 128] [--rel-error 0.01] [--repeats 10]

Needs the `bench` extra (curvlinops-for-pytorch, PyHessian). Every library sees the same trained
model (flatcheck.problems.digits_mlp, 64 → hidden → 10 tanh MLP on scikit-learn's digits,
float64, the 1000 training examples as one batch, mean cross-entropy).

Trace. The same estimator in two libraries: flatcheck's `hutchpp` (batched forward-over-reverse
HVPs through `hessian_operator`, 128 rows per call, with a t-interval) and curvlinops'
`hutchpp_trace` on its `HessianLinearOperator` (vmap of jvp of jacrev over the columns; point
estimate only). Both get the same budgets (multiples of 3, so both split m/3 sketch, m/3 for AQ,
m/3 residual probes), `repeats` seeded runs each, interleaved run by run; RMS relative error
against the exact trace (closed-form Hessian diagonal) and the median wall time per estimate.
PyHessian's Hutchinson (one HVP per Python iteration) is costed from `hessian_traces.py`'s
variance method: m = σ²/(ε·tr)² HVPs at its measured time per HVP.

Top eigenvalue. flatcheck's `lanczos_eigenpairs` (full reorthogonalisation, rtol 1e-6, checked
every step; with its default max_steps = d, and with max_steps = 64) against curvlinops'
recommended route, scipy's ARPACK `eigsh(k=1, which='LA', tol=1e-6)` on
`HessianLinearOperator.to_scipy()`, and PyHessian's power iteration (maxIter 100, tol 1e-3).
HVPs counted for each; reference: dense eigh (small model) or Lanczos rtol 1e-10.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
from curvlinops import HessianLinearOperator, hutchpp_trace

# benchmarks/ is the script's directory, so its sibling imports as a module: PyHessian's runners.
from hessian_traces import pyhessian_top_eigenvalue, pyhessian_trace, rms_relative
from scipy.sparse.linalg import LinearOperator, eigsh

from flatcheck.numeric.lanczos import exact_eigenpairs, lanczos_eigenpairs
from flatcheck.numeric.traces import hessian_operator, hutchpp, loss_of_parameters
from flatcheck.problems.digits_mlp import digits_mlp, hessian_diagonal, loss_fn

GRID = (15, 30, 45, 60, 90, 120, 180, 240, 360)


class MeanCrossEntropy(torch.nn.Module):
    """digits_mlp's loss as the module curvlinops needs (it reads `reduction` to weight batches)."""

    reduction = "mean"

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(logits, y)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def counted_scipy(op: LinearOperator) -> tuple[LinearOperator, dict]:
    count = {"hvp": 0}

    def matvec(v: np.ndarray) -> np.ndarray:
        count["hvp"] += 1
        return op.matvec(v)

    return LinearOperator(op.shape, matvec=matvec, dtype=op.dtype), count


def bench_model(hidden: int, eps: float, repeats: int, py_probes: int) -> dict:
    model, loss, data = digits_mlp(hidden=hidden)
    x, y = data.x_train, data.y_train
    f, theta = loss_of_parameters(model, loss, x, y)
    d = theta.numel()
    ours = hessian_operator(f, theta, chunk=128)
    params = [p.requires_grad_(True) for p in model.parameters()]
    theirs = HessianLinearOperator(model, MeanCrossEntropy(), params, [(x, y)], check_deterministic=False)
    exact = float(hessian_diagonal(model, x, y).sum())
    print(f"\n## MLP 64-{hidden}-10 (d = {d}), exact trace {exact:.6g}")
    # Warm both HVP paths (vmap tracing, first allocations) before timing.
    ours(torch.zeros(3, d, dtype=theta.dtype))
    theirs @ torch.zeros(d, 3, dtype=theta.dtype)
    v = torch.randn(d, 4, dtype=theta.dtype, generator=torch.Generator().manual_seed(9))
    agree = float((ours(v.T).T - theirs @ v).abs().max() / (theirs @ v).abs().max())
    print(f"HVPs of the two operators agree to {agree:.1e} (relative, max entry)")

    rows, reached = [], {}
    for m in GRID:
        est = {"flatcheck": [], "curvlinops": []}
        secs = {"flatcheck": [], "curvlinops": []}
        for r in range(repeats):
            gen = torch.Generator().manual_seed(1000 * m + r)
            e, t = timed(lambda gen=gen, m=m: hutchpp(ours, m, gen).estimate)
            est["flatcheck"].append(e)
            secs["flatcheck"].append(t)
            torch.manual_seed(1000 * m + r)  # curvlinops draws from the global generator
            e, t = timed(lambda m=m: float(hutchpp_trace(theirs, m)))
            est["curvlinops"].append(e)
            secs["curvlinops"].append(t)
        row = {"m": m}
        for lib in est:
            row[lib] = (rms_relative(est[lib], exact), statistics.median(secs[lib]))
            if row[lib][0] <= eps:
                reached.setdefault(lib, (m, *row[lib]))
        rows.append(row)
        print(
            f"  Hutch++ m={m:4d}: RMS rel. error flatcheck {row['flatcheck'][0]:.4f} ({row['flatcheck'][1]:.3f} s)"
            f" | curvlinops {row['curvlinops'][0]:.4f} ({row['curvlinops'][1]:.3f} s)"
        )
        if len(reached) == 2:
            break

    forms, t_py = pyhessian_trace(model, loss, x, y, py_probes, seed=0)
    m_py = math.ceil(statistics.variance(forms) / (eps * exact) ** 2)
    t_py_total = m_py * t_py / py_probes
    print(
        f"  PyHessian Hutchinson: {m_py} HVPs for {eps:.0%} at {t_py / py_probes * 1e3:.1f} ms/HVP = {t_py_total:.1f} s"
    )
    for lib, (m, err, t) in reached.items():
        print(f"→ {lib} Hutch++ reaches {eps:.0%} at {m} HVPs (RMS {err:.4f}), {t:.3f} s per estimate")

    eig = {}
    if d <= 2000:
        ref, how = float(exact_eigenpairs(ours, 1, "top").values[0]), "dense eigh"
    else:
        tight = lanczos_eigenpairs(ours, 1, "top", generator=torch.Generator().manual_seed(3), rtol=1e-10)
        ref, how = float(tight.values[0]), "Lanczos rtol 1e-10"
    for r in range(3):  # interleaved repetitions; the HVP counts are deterministic per seed
        # max_steps None (the default) allocates the basis for d steps up front: (d+1)·d floats.
        for cap in (None, 64):
            gen = torch.Generator().manual_seed(2 + r)
            lz, t = timed(
                lambda gen=gen, cap=cap: lanczos_eigenpairs(
                    ours, 1, "top", generator=gen, rtol=1e-6, check_every=1, max_steps=cap
                )
            )
            eig.setdefault(f"flatcheck Lanczos (max_steps {cap})", []).append((float(lz.values[0]), lz.products, t))
        sc, count = counted_scipy(theirs.to_scipy())
        v0 = np.random.default_rng(2 + r).standard_normal(d)
        val, t = timed(lambda sc=sc, v0=v0: float(eigsh(sc, k=1, which="LA", tol=1e-6, v0=v0)[0][0]))
        eig.setdefault("curvlinops + ARPACK eigsh", []).append((val, count["hvp"], t))
    lam_py, n_py, t_eig_py = pyhessian_top_eigenvalue(model, loss, x, y, seed=0)
    eig["PyHessian power iteration"] = [(lam_py, n_py, t_eig_py)]
    print(f"top eigenvalue ({how}) {ref:.10g}")
    summary = {}
    for name, runs in eig.items():
        val, n, _ = runs[0]
        t = statistics.median(r[2] for r in runs)
        summary[name] = (abs(val - ref) / ref, n, t)
        print(f"  {name:34s} {val:.10g}  rel. error {abs(val - ref) / ref:.1e}, {n} HVPs, {t:.3f} s (median)")
    return {
        "hidden": hidden,
        "d": d,
        "trace": rows,
        "reached": reached,
        "pyhessian": (m_py, t_py_total),
        "eig": summary,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[16, 128])
    ap.add_argument("--rel-error", type=float, default=0.01)
    ap.add_argument("--repeats", type=int, default=10, help="seeded Hutch++ runs per budget and library")
    ap.add_argument("--pyhessian-probes", type=int, default=100, help="probes for PyHessian's form variance")
    args = ap.parse_args()
    print(f"# curvature peers (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    for hidden in args.hidden:
        bench_model(hidden, args.rel_error, args.repeats, args.pyhessian_probes)


if __name__ == "__main__":
    main()
