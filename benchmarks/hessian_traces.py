"""Hessian trace and top eigenvalue of the digits MLP: flatcheck.numeric against PyHessian, side by side.

    OMP_NUM_THREADS=2 python benchmarks/hessian_traces.py [--hidden 16 128] [--rel-error 0.01] [--device cpu|cuda]

Needs the `bench` extra (pip install -e .[bench]: PyHessian 0.1). Both libraries see the same
trained model (flatcheck.problems.digits_mlp: 64 → hidden → 10 tanh MLP on scikit-learn's
digits, float64, the 1000 training examples as one batch) and the same loss.

Trace — HVPs and wall time to reach a relative error ε (default 1 %), defined as the RMS
relative error over seeded repetitions, against the exact trace (closed-form Hessian diagonal,
`digits_mlp.hessian_diagonal`, cross-checked against d exact HVPs for the small model):
- PyHessian's `hessian.trace` (Hutchinson, one HVP per Python iteration) is run with tol=0 for a
  fixed number of probes; its estimate is the mean of i.i.d. forms vᵀHv, whose RMS error is
  exactly σ/√m, so it needs m = σ²/(ε·tr)² HVPs (σ² the sample variance of its own forms);
- flatcheck's `hutchinson` (same estimator, batched HVPs) — same count, less wall time;
- flatcheck's `hutchpp` (Meyer et al. 2021): its error is not a plain mean, so the RMS relative
  error is measured directly over seeded repetitions on a grid of budgets; the smallest budget
  reaching ε is reported, with how often its 95 % interval covered the exact trace.
Top eigenvalue — PyHessian's power iteration (`eigenvalues`, maxIter=100, tol=1e-3, HVPs
counted) against flatcheck's Lanczos (`lanczos_eigenpairs`, rtol 1e-6); reference: dense eigh for
the small model, a tight Lanczos (rtol 1e-10) for the larger one.
"""

from __future__ import annotations

import argparse
import importlib
import math
import resource
import statistics
import time

import torch

from flatcheck.numeric.lanczos import exact_eigenpairs, lanczos_eigenpairs
from flatcheck.numeric.traces import exact_trace, hessian_operator, hutchinson, hutchpp, loss_of_parameters
from flatcheck.problems.digits_mlp import digits_mlp, hessian_diagonal

# `pyhessian.hessian` the attribute is the class; the module holds the HVP routine we count.
ph = importlib.import_module("pyhessian.hessian")
GRID = (15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720)


def pyhessian_trace(model, loss, x, y, probes: int, seed: int) -> tuple[list[float], float]:
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    forms = ph.hessian(model, loss, data=(x, y), cuda=False).trace(maxIter=probes, tol=0.0)
    return forms, time.perf_counter() - t0


def pyhessian_top_eigenvalue(model, loss, x, y, seed: int) -> tuple[float, int, float]:
    """PyHessian's power iteration with its defaults; HVPs counted by wrapping its HVP routine."""
    count = {"hvp": 0}
    original = ph.hessian_vector_product

    def counted(gradsh, params, v):
        count["hvp"] += 1
        return original(gradsh, params, v)

    ph.hessian_vector_product = counted
    try:
        torch.manual_seed(seed)
        t0 = time.perf_counter()
        values, _ = ph.hessian(model, loss, data=(x, y), cuda=False).eigenvalues(maxIter=100, tol=1e-3)
        return values[0], count["hvp"], time.perf_counter() - t0
    finally:
        ph.hessian_vector_product = original


def rms_relative(estimates: list[float], exact: float) -> float:
    return math.sqrt(sum((e - exact) ** 2 for e in estimates) / len(estimates)) / abs(exact)


def bench_model(hidden: int, eps: float, repeats: int, py_probes: int, device: str) -> dict:
    model, loss, data = digits_mlp(hidden=hidden)
    x, y = data.x_train, data.y_train
    f, theta = loss_of_parameters(model.to(device), loss, x.to(device), y.to(device))
    d = theta.numel()
    op = hessian_operator(f, theta, chunk=128)
    exact = float(hessian_diagonal(model.cpu(), x, y).sum())
    print(f"\n## MLP 64-{hidden}-10 on digits (d = {d} parameters, n = {x.shape[0]}), exact trace {exact:.6g}")
    if d <= 2000:
        t0 = time.perf_counter()
        via_hvps = exact_trace(op).estimate
        print(f"exact trace from {d} batched HVPs: {via_hvps:.6g} ({time.perf_counter() - t0:.1f} s)")

    forms, t_py = pyhessian_trace(model.cpu(), loss, x, y, py_probes, seed=0)
    var_py = statistics.variance(forms)
    m_py = math.ceil(var_py / (eps * exact) ** 2)
    per_hvp_py = t_py / py_probes
    print(f"PyHessian Hutchinson: {py_probes} probes in {t_py:.2f} s ({per_hvp_py * 1e3:.2f} ms/HVP); ")
    print(f"  estimate {statistics.fmean(forms):.6g}; per-probe variance {var_py:.4g} → {m_py} HVPs for {eps:.0%}")

    gen = torch.Generator(device=device).manual_seed(1)
    t0 = time.perf_counter()
    ours_h = hutchinson(op, py_probes, gen)
    per_hvp_ours = (time.perf_counter() - t0) / py_probes
    print(
        f"flatcheck Hutchinson (batched): {per_hvp_ours * 1e3:.2f} ms/HVP, estimate {ours_h.estimate:.6g} "
        f"± {ours_h.half_width:.3g}; same estimator, same {m_py} HVPs"
    )

    found = None
    for m in GRID:
        runs, times = [], []
        for r in range(repeats):
            g = torch.Generator(device=device).manual_seed(1000 * m + r)
            t0 = time.perf_counter()
            runs.append(hutchpp(op, m, g))
            times.append(time.perf_counter() - t0)
        err = rms_relative([e.estimate for e in runs], exact)
        cover = sum(e.covers(exact) for e in runs) / repeats
        print(f"  Hutch++ m={m:4d}: RMS relative error {err:.4f}, 95% interval covered {cover:.0%}")
        if err <= eps:
            found = (m, statistics.median(times), err, cover)
            break
    out = {"hidden": hidden, "d": d, "exact": exact, "m_pyhessian": m_py, "t_pyhessian": m_py * per_hvp_py}
    out["t_hutchinson"] = m_py * per_hvp_ours
    if found:
        m_pp, t_pp, err, cover = found
        out.update(m_hutchpp=m_pp, t_hutchpp=t_pp)
        print(
            f"→ HVPs to {eps:.0%}: PyHessian {m_py}, Hutch++ {m_pp}: {m_py / m_pp:.1f}x fewer; wall time "
            f"{out['t_pyhessian']:.2f} s vs {t_pp:.2f} s: {out['t_pyhessian'] / t_pp:.1f}x faster "
            f"(batched Hutchinson alone: {per_hvp_py / per_hvp_ours:.1f}x faster per HVP)"
        )
    else:
        print(f"→ Hutch++ did not reach {eps:.0%} within {GRID[-1]} HVPs")

    lam_py, n_py, t_eig_py = pyhessian_top_eigenvalue(model.cpu(), loss, x, y, seed=0)
    t0 = time.perf_counter()
    # check_every=1: the exact number of HVPs Lanczos needs (one small eigh per step; default 5).
    gen = torch.Generator(device=device).manual_seed(2)
    lz = lanczos_eigenpairs(op, 1, "top", generator=gen, rtol=1e-6, check_every=1)
    t_lz = time.perf_counter() - t0
    if d <= 2000:
        ref = float(exact_eigenpairs(op, 1, "top").values[0])
        how = "dense eigh"
    else:
        tight = lanczos_eigenpairs(op, 1, "top", generator=torch.Generator(device=device).manual_seed(3), rtol=1e-10)
        ref, how = float(tight.values[0]), "Lanczos rtol 1e-10"
    lam = float(lz.values[0])
    print(f"top eigenvalue ({how}) {ref:.8g}")
    err_py = abs(lam_py - ref) / ref
    print(f"  PyHessian power iteration: {lam_py:.8g} (rel. error {err_py:.2e}), {n_py} HVPs, {t_eig_py:.2f} s")
    print(
        f"  flatcheck Lanczos:         {lam:.8g} (rel. error {abs(lam - ref) / ref:.2e}, residual bound "
        f"{float(lz.residuals[0]):.1e}), {lz.products} HVPs, {t_lz:.2f} s"
    )
    print(f"  PyHessian vs Lanczos: relative difference {abs(lam_py - lam) / lam:.2e}")
    out.update(lambda_pyhessian=lam_py, lambda_lanczos=lam, lambda_ref=ref, hvp_power=n_py, hvp_lanczos=lz.products)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[16, 128])
    ap.add_argument("--rel-error", type=float, default=0.01)
    ap.add_argument("--repeats", type=int, default=10, help="seeded Hutch++ repetitions per budget")
    ap.add_argument("--pyhessian-probes", type=int, default=300, help="probes to estimate PyHessian's variance")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    print(f"# Hessian traces and top eigenvalue: flatcheck vs PyHessian (torch {torch.__version__}, ", end="")
    print(f"{torch.get_num_threads()} threads, device {args.device})")
    for hidden in args.hidden:
        bench_model(hidden, args.rel_error, args.repeats, args.pyhessian_probes, args.device)
    print(f"\npeak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
