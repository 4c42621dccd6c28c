"""dexter2024 Theorem 1's conditions and the check its printed and corrected readings share.

The conditions λ₁(H) > 2/η or (B < n) λ₁(H) > (σ/η)(n/B − 1)^{−1/2}, decided beyond round-off (σ's
certified error included); instances from just past the boundary to far past it; and one check
skeleton: scope by the conditions, the implementation's Ĵ against Definition 1, then the reading's
own decision per case (every B ∈ [n] and boundary offset for a diagonal family).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch
from hypothesis import strategies as st

from flatcheck.numeric.coherence import coherence, coherence_bounds
from flatcheck.problems.dexter_families import HessianFamily, LinearSGDInstance, rational_at_least
from flatcheck.verify import Constant, Evidence, constant

from ._definition1 import FAILED_NOTE, definition1_check

OUT_OF_SCOPE = "neither condition of Theorem 1 holds beyond round-off"

BOUNDARY_OFFSETS = (1e-3, 1e-2, 0.1, 0.5, 2.0)

# The constants of the conditions, shared by both readings. The exponent's strengthening direction
# is "smaller" where n/B − 1 > 1 (B < n/2, where the SGD condition is weaker than the GD one).
CONSTANTS = (
    Constant("two", 2.0, "2 in λ₁(H) > 2/η", "smaller", text="the GD condition"),
    Constant(
        "exponent", -0.5, "−½ in (n/B − 1)^{−1/2}", "smaller", mutation="exponent", step=0.5, text="the SGD condition"
    ),
)


@dataclass(frozen=True)
class Conditions:
    """Theorem 1's conditions λ₁(H) > two/η or (B < n) λ₁(H) > (σ/η)(n/B − 1)^exponent (as printed:
    two = 2, exponent = −½)."""

    two: float = 2.0
    exponent: float = -0.5

    @staticmethod
    def of(budget: Any) -> Conditions:
        return Conditions(constant(budget, CONSTANTS, "two"), constant(budget, CONSTANTS, "exponent"))

    def lr(self, fam: HessianFamily, batch: int, u: float) -> Fraction:
        """The smallest η satisfying a condition, times 1 + u, as a rational."""
        lam = fam.lambda1()
        thresholds = [self.two / lam]
        if batch < fam.n:
            thresholds.append(coherence(fam.hs) * (fam.n / batch - 1) ** self.exponent / lam)
        return rational_at_least(min(thresholds) * (1 + u))

    def sweep(self, fam: HessianFamily) -> list[LinearSGDInstance]:
        """Every B ∈ [n] with η just past (u = 10⁻³) to far past (u = 2) the boundary."""
        return [LinearSGDInstance(fam, self.lr(fam, b, u), b) for b in range(1, fam.n + 1) for u in BOUNDARY_OFFSETS]

    def slacks(self, inst: LinearSGDInstance) -> dict | None:
        """The slacks of the two conditions, or None when neither holds beyond round-off (σ's
        certified error included)."""
        fam, lr, b = inst.fam, float(inst.lr), inst.batch
        lam = fam.lambda1()
        sigma, tol, _ = coherence_bounds(fam.hs)
        lam_tol = 64 * fam.d * torch.finfo(torch.float64).eps * lam
        gd = lam - self.two / lr
        factor = (fam.n / b - 1) ** self.exponent / lr if b < fam.n else 0.0
        sgd = lam - sigma * factor if b < fam.n else -math.inf
        sgd_tol = tol * factor + lam_tol
        if gd <= lam_tol and sgd <= sgd_tol:
            return None
        return {"lambda1_H": lam, "sigma": sigma, "gd_condition_slack": gd, "sgd_condition_slack": sgd}


@st.composite
def theorem1_instances(
    draw, families: st.SearchStrategy[HessianFamily], cond: Conditions = Conditions()
) -> LinearSGDInstance:
    """Instances satisfying a condition of Theorem 1, from just past its boundary to far past it."""
    fam = draw(families)
    batch = draw(st.integers(1, fam.n))
    return LinearSGDInstance(fam, cond.lr(fam, batch, draw(st.sampled_from(BOUNDARY_OFFSETS))), batch)


def make_check(
    decide: Callable[[LinearSGDInstance, Conditions], Evidence],
    definition1_share: float,
    general: Callable[[LinearSGDInstance, Any, Any, dict], Evidence] | None = None,
):
    """The check of a reading of Theorem 1, with the conditions' declared constants. `decide(case,
    conditions)` decides one case exactly; a diagonal family is decided on its whole
    `Conditions.sweep`, the tightest case standing for it. A non-diagonal
    family goes to `general(inst, impl, budget, conditions)` when given (else to `decide`).
    Definition 1 is tested at the error rate definition1_share·α (the rest is `general`'s)."""

    def check(inst: LinearSGDInstance, impl, budget) -> Evidence:
        conditions = Conditions.of(budget)
        cond = conditions.slacks(inst)
        if cond is None:
            return Evidence(None, out_of_scope=OUT_OF_SCOPE)
        d1 = definition1_check(impl, inst, budget.draws(impl, cap=4096), budget.seed, budget.alpha * definition1_share)
        if not d1["holds"]:
            values = {**cond, "definition1_max_error": d1["max_error"]}
            return Evidence(False, values, margin=d1["margin"], note=FAILED_NOTE)
        if inst.fam.diag is None and general is not None:
            return general(inst, impl, budget, cond)
        cases = conditions.sweep(inst.fam) if inst.fam.diag is not None else [inst]
        return min((decide(case, conditions) for case in cases), key=lambda ev: ev.margin)

    return check
