r"""dexter2024.theorem2 — near-optimality of Theorem 1, Theorem 2, §3.3 (proof: Appendix A.2).

    "Theorem 2. For every choice of λ₁ > 0, n ∈ N, B ∈ [n], η > 0, and σ ∈ [n], that satisfies:
         λ₁ < (2σ/η)·(σ + n/B − 1)^{−1},
     There exists a set of PSD matrices {H_i}_{i∈[n]} such that λ₁(H) = λ₁ and
     lim_{k→∞} E‖Ĵ_k⋯Ĵ₁‖_F² < n."
    Proof: H_i = m·e₁e₁ᵀ for i ∈ [σ], H_i = 0 otherwise, m = λ₁n/σ; its coherence measure is σ.

Checked on the proof's construction (d = n), with λ₁ from a tenth of the bound to 0.999 of it:
(a) its coherence measure (Definition 2) equals σ within its certified round-off bound; (b) λ₁(H) = λ₁
exactly (rational arithmetic); (c) lim E‖Ĵ_k⋯Ĵ₁‖_F² < n exactly: Ĵ is diagonal, so
E‖Ĵ_k⋯Ĵ₁‖_F² = Σ_c (E[ĵ_c²])^k, with E[ĵ_c²] = 1 for c ≠ 1 and E[ĵ₁²] computed in rationals; the limit
is (n − 1) + lim (E[ĵ₁²])^k. Beyond the boundary (λ₁ at (2 − r) times the bound) the same construction
is reported for tightness (values only). (d) The implementation's Ĵ follows Definition 1 on the
construction (E[Ĵ], E[Ĵ²], error ≤ α).
Declared constants: the 2 in 2σ/η and the exponent −1 of (σ + n/B − 1) (a larger bound is stronger);
the instances place λ₁ below the bound they give, so a moved constant puts λ₁ past the true boundary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import torch
from hypothesis import strategies as st

from flatcheck.numeric.coherence import coherence_bounds, gram_form
from flatcheck.problems.dexter_families import (
    LinearSGDInstance,
    Theorem2Instance,
    theorem2_construction,
    theorem2_instances,
)
from flatcheck.stats.stability import columns_of, coordinate_moments
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._definition1 import FAILED_NOTE, definition1_check

SForm = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

CONSTANTS = (
    Constant("two", 2.0, "2 in 2σ/η", "larger", text="the bound on λ₁"),
    Constant(
        "exponent", -1.0, "−1 in (σ + n/B − 1)^{−1}", "larger", mutation="exponent", step=0.5, text="the bound on λ₁"
    ),
)


def instances(budget) -> st.SearchStrategy[Theorem2Instance]:
    two, exponent = (Fraction(constant(budget, CONSTANTS, k)) for k in ("two", "exponent"))
    return theorem2_instances(two=two, exponent=exponent)


def frobenius_limit(inst: Theorem2Instance, lam1: Fraction) -> tuple[float, Fraction]:
    """(lim_k E‖Ĵ_k⋯Ĵ₁‖_F², E[ĵ₁²]) for the construction at λ₁, exactly."""
    fam = theorem2_construction(inst.n, inst.sigma, lam1)
    second = coordinate_moments(columns_of(fam.diag), inst.n, inst.lr, inst.batch, "bernoulli").second
    limit = sum(1.0 if s == 1 else (math.inf if s > 1 else 0.0) for s in second)
    return limit, second[0]


def make_check(s_form: SForm):
    """The check, with S computed by `s_form` (the paper: the entry-wise square root of the Gram matrix)."""

    def check(inst: Theorem2Instance, impl, budget) -> Evidence:
        fam = theorem2_construction(inst.n, inst.sigma, inst.lam1)
        sigma, tol, _ = coherence_bounds(fam.hs, s_form)
        mean_top = sum((row[0] for row in fam.diag), Fraction(0)) / inst.n
        limit, second = frobenius_limit(inst, inst.lam1)
        beyond, _ = frobenius_limit(inst, (2 - inst.ratio) * inst.bound)
        lin = LinearSGDInstance(fam, inst.lr, inst.batch)
        d1 = definition1_check(impl, lin, budget.draws(impl, cap=4096), budget.seed, budget.alpha)
        values = {
            "lambda1": str(inst.lam1),
            "bound": float(inst.bound),
            "sigma_of_construction": sigma,
            "sigma_tolerance": tol,
            "lambda1_of_H": str(mean_top),
            "E_j1_squared": float(second),
            "limit_E_fro2": limit,
            "limit_beyond_boundary": beyond,
            "definition1_max_error": d1["max_error"],
        }
        failures = []
        if abs(sigma - inst.sigma) > tol:
            failures.append(f"the construction's coherence is {sigma:.6g}, not σ = {inst.sigma}")
        if mean_top != inst.lam1:
            failures.append(f"λ₁(H) = {mean_top} ≠ λ₁ = {inst.lam1}")
        if not limit < inst.n:
            failures.append(f"lim E‖Ĵ_k⋯Ĵ₁‖_F² = {limit} is not < n = {inst.n}")
        if not d1["holds"]:
            failures.append(FAILED_NOTE)
        margin = min(float(1 - second) / max(float(1 - inst.ratio), 1e-9), 1 - abs(sigma - inst.sigma) / tol)
        return Evidence(not failures, values, margin=margin, note="; ".join(failures))

    return check


CLAIM = Claim(
    id="dexter2024.theorem2",
    paper="dexter2024",
    ref="Theorem 2, §3.3 (proof: Appendix A.2)",
    kind="dynamics",
    statement=r"\lambda_1<\frac{2\sigma}\eta\Big(\sigma+\frac nB-1\Big)^{-1}\Rightarrow\exists\{H_i\}:\ "
    r"\lambda_1(H)=\lambda_1,\ \sigma(\{H_i\})=\sigma,\ \lim_k\mathbb E\|\hat J_k\cdots\hat J_1\|_F^2<n",
    summary="Theorem 2: below (2σ/η)(σ+n/B−1)^{−1} the proof's construction has coherence σ and lim E‖Ĵ_k⋯Ĵ₁‖_F² < n.",
    faithful=("exact", "the existence is witnessed by the proof's own construction"),
    instances=instances,
    constants=CONSTANTS,
    check=make_check(gram_form),
    algorithm="linsgd",
    describe=Theorem2Instance.describe,
)
