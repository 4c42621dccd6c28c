r"""dexter2024.second_moment — the second moment of the SGD Jacobian (proof of Lemma 4.1 (i), base
case; used again in the proof of Theorem 2).

    "E[Ĵ₁Ĵ₁] = I − (2η/n)Σ_i H_i + (η²/(nB))Σ_i H_i² + (η²/n²)Σ_{i≠j} H_iH_j
             = I − 2ηH + η²H² + (η²/(nB) − η²/n²) Σ_{i=1}^n H_i²"
    with Ĵ = I − (η/B)Σ_i x_iH_i, x_i ~ Bern(B/n) independent (Definition 1).

Symbolic side (derive): for n = 3 and generic symmetric 2×2 H_i, E[Ĵ²] is computed exactly as a
polynomial expectation over independent Bernoulli(B/3) variables (x_i² = x_i, E x_i = B/3) and the
difference with the stated right-hand side expands to 0.
Numeric side (against the LinSGD implementation): draws of Ĵ are read from one step of the
implementation from W = I on a family {H_i}; the Monte Carlo mean of Ĵ² (simultaneous empirical
Bernstein intervals on the range Definition 1 allows each entry, at the check's error rate) must
contain the right-hand side, on diagonal, random PSD and rotated families with η from tiny to
overshooting and every B ∈ [n].
"""

from __future__ import annotations

import itertools

import sympy as sp
import torch

from flatcheck.impl.jacobians import jacobian_draws
from flatcheck.problems.dexter_families import LinearSGDInstance, diagonal_families, psd_families, sgd_instances
from flatcheck.stats.stability import jacobian_ranges, moment_interval_test
from flatcheck.verify import Claim, Constant, Evidence, constant

CONSTANTS = (
    Constant("two", 2.0, "2 in −2ηH", "exact", text="the first-order term"),
    Constant("cross", 1.0, "(η²/(nB) − η²/n²)ΣH_i², ×1", "exact", text="the sampling term"),
)


def stated_rhs(hs, lr, batch, two=2, cross=1):
    """I − 2ηH + η²H² + (η²/(nB) − η²/n²)ΣH_i², for sympy matrices (a list) or a torch tensor (n, d, d);
    `two` and `cross` are the statement's 2 and the sampling term's factor 1."""
    n = len(hs)
    if isinstance(hs, torch.Tensor):
        h = hs.mean(0)
        eye = torch.eye(hs.shape[-1], dtype=hs.dtype)
        return eye - two * lr * h + lr**2 * h @ h + cross * (lr**2 / (n * batch) - lr**2 / n**2) * (hs @ hs).sum(0)
    h = sum(hs, sp.zeros(*hs[0].shape)) / n
    sq = sum((m * m for m in hs), sp.zeros(*hs[0].shape))
    return sp.eye(h.shape[0]) - two * lr * h + lr**2 * h * h + cross * (lr**2 / (n * batch) - lr**2 / n**2) * sq


def derive() -> sp.Matrix:
    """E[Ĵ²] − (stated right-hand side) for n = 3, generic symmetric 2×2 H_i: expands to the zero matrix."""
    eta, b = sp.symbols("eta B", positive=True)
    n = 3
    hs = [sp.Matrix(2, 2, lambda i, j, k=k: sp.Symbol(f"h{k}_{min(i, j)}{max(i, j)}")) for k in range(n)]
    p = b / n
    mean = sp.zeros(2, 2)
    for xs in itertools.product((0, 1), repeat=n):
        prob = sp.Mul(*[p if x else 1 - p for x in xs])
        jac = sp.eye(2) - eta / b * sum((x * h for x, h in zip(xs, hs)), sp.zeros(2, 2))
        mean += prob * jac * jac
    return (mean - stated_rhs(hs, eta, b)).applyfunc(sp.expand)


def families():
    """Diagonal (incl. the §3.1 and §5.1 constructions) and non-diagonal PSD families."""
    return diagonal_families(max_n=6, max_d=3) | psd_families(max_n=6, max_d=3)


def check(inst: LinearSGDInstance, impl, budget) -> Evidence:
    if derive() != sp.zeros(2, 2):
        return Evidence(False, {"symbolic_difference": str(derive())}, note="E[Ĵ²] differs symbolically")
    lr = float(inst.lr)
    # A user's class is stepped one optimizer per draw: fewer draws (wider intervals, same error rate).
    draws = budget.draws(impl) if impl.batched_step is not None else budget.draws(impl, cap=1024)
    jac = jacobian_draws(impl, inst.fam, inst.hp(), draws, budget.seed)
    two, cross = constant(budget, CONSTANTS, "two"), constant(budget, CONSTANTS, "cross")
    expected = stated_rhs(inst.fam.hs, lr, inst.batch, two, cross)
    _, (lo, hi) = jacobian_ranges(inst.fam.hs, lr, inst.batch, "bernoulli")
    out = moment_interval_test(jac @ jac, expected, budget.alpha, lo, hi)
    values = {k: out[k] for k in ("max_error", "max_halfwidth", "estimate", "expected")}
    note = "" if out["holds"] else "the implementation's E[Ĵ²] differs from I − 2ηH + η²H² + (η²/(nB) − η²/n²)ΣH_i²"
    return Evidence(out["holds"], {"draws": jac.shape[0], **values}, margin=out["margin"], note=note)


CLAIM = Claim(
    id="dexter2024.second_moment",
    paper="dexter2024",
    ref="proof of Lemma 4.1 (i), base case (Appendix A.2); proof of Theorem 2",
    kind="identity",
    statement=r"\mathbb E[\hat J^2]=I-2\eta H+\eta^2H^2+\Big(\frac{\eta^2}{nB}-\frac{\eta^2}{n^2}\Big)\sum_iH_i^2,"
    r"\ \hat J=I-\frac\eta B\sum_{i\in S}H_i,\ i\in S\sim\mathrm{Bern}(B/n)",
    summary="Under Bernoulli sampling E[Ĵ²] = I − 2ηH + η²H² + (η²/(nB) − η²/n²)ΣH_i².",
    faithful="exact",
    instances=lambda budget: sgd_instances(families()),
    check=check,
    derive=derive,
    algorithm="linsgd",
    describe=LinearSGDInstance.describe,
    constants=CONSTANTS,
)
