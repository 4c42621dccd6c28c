"""dexter2024 Theorem 1's conditions and the check its printed and corrected readings share.

The conditions λ₁(H) > 2/η or (B < n) λ₁(H) > (σ/η)(n/B − 1)^{−1/2}, decided beyond round-off (σ's
certified error included); instances from just past the boundary to far past it; and one check
skeleton: scope by the conditions, the implementation's Ĵ against Definition 1, then the reading's
own decision per case (every B ∈ [n] and boundary offset for a diagonal family).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import torch
from hypothesis import strategies as st

from flatcheck.numeric.coherence import coherence, coherence_bounds
from flatcheck.problems.dexter_families import HessianFamily, LinearSGDInstance, rational_at_least
from flatcheck.verify import Evidence

from ._definition1 import FAILED_NOTE, definition1_check

OUT_OF_SCOPE = "neither condition of Theorem 1 holds beyond round-off"

BOUNDARY_OFFSETS = (1e-3, 1e-2, 0.1, 0.5, 2.0)


def theorem1_lr(fam: HessianFamily, batch: int, u: float) -> Fraction:
    """The smallest η satisfying a condition of dexter2024 Theorem 1 — λ₁(H) > 2/η, or (B < n)
    λ₁(H) > (σ/η)(n/B − 1)^{−1/2} — times 1 + u, as a rational."""
    lam = fam.lambda1()
    thresholds = [2 / lam]
    if batch < fam.n:
        thresholds.append(coherence(fam.hs) / (lam * math.sqrt(fam.n / batch - 1)))
    return rational_at_least(min(thresholds) * (1 + u))


def theorem1_sweep(fam: HessianFamily) -> list[LinearSGDInstance]:
    """Every B ∈ [n] with η just past (u = 10⁻³) to far past (u = 2) the Theorem 1 boundary."""
    return [LinearSGDInstance(fam, theorem1_lr(fam, b, u), b) for b in range(1, fam.n + 1) for u in BOUNDARY_OFFSETS]


def theorem1_conditions(inst: LinearSGDInstance) -> dict | None:
    """The slacks of Theorem 1's two conditions, or None when neither holds beyond round-off (σ's
    certified error included)."""
    fam, lr, b = inst.fam, float(inst.lr), inst.batch
    lam = fam.lambda1()
    sigma, tol, _ = coherence_bounds(fam.hs)
    lam_tol = 64 * fam.d * torch.finfo(torch.float64).eps * lam
    gd = lam - 2 / lr
    sgd = lam - sigma / (lr * math.sqrt(fam.n / b - 1)) if b < fam.n else -math.inf
    sgd_tol = (tol / (lr * math.sqrt(fam.n / b - 1)) if b < fam.n else 0.0) + lam_tol
    if gd <= lam_tol and sgd <= sgd_tol:
        return None
    return {"lambda1_H": lam, "sigma": sigma, "gd_condition_slack": gd, "sgd_condition_slack": sgd}


@st.composite
def theorem1_instances(draw, families: st.SearchStrategy[HessianFamily]) -> LinearSGDInstance:
    """Instances satisfying a condition of Theorem 1, from just past its boundary to far past it."""
    fam = draw(families)
    batch = draw(st.integers(1, fam.n))
    return LinearSGDInstance(fam, theorem1_lr(fam, batch, draw(st.sampled_from(BOUNDARY_OFFSETS))), batch)


def make_check(
    decide: Callable[[LinearSGDInstance], Evidence],
    definition1_share: float,
    general: Callable[[LinearSGDInstance, Any, Any, dict], Evidence] | None = None,
):
    """The check of a reading of Theorem 1. `decide(case)` decides one case exactly; a diagonal
    family is decided on its whole `theorem1_sweep`, the tightest case standing for it. A non-diagonal
    family goes to `general(inst, impl, budget, conditions)` when given (else to `decide`).
    Definition 1 is tested at the error rate definition1_share·α (the rest is `general`'s)."""

    def check(inst: LinearSGDInstance, impl, budget) -> Evidence:
        cond = theorem1_conditions(inst)
        if cond is None:
            return Evidence(None, out_of_scope=OUT_OF_SCOPE)
        d1 = definition1_check(impl, inst, budget.draws(impl, cap=4096), budget.seed, budget.alpha * definition1_share)
        if not d1["holds"]:
            values = {**cond, "definition1_max_error": d1["max_error"]}
            return Evidence(False, values, margin=d1["margin"], note=FAILED_NOTE)
        if inst.fam.diag is None and general is not None:
            return general(inst, impl, budget, cond)
        cases = theorem1_sweep(inst.fam) if inst.fam.diag is not None else [inst]
        return min((decide(case) for case in cases), key=lambda ev: ev.margin)

    return check
