r"""dexter2024.sigma_range.corrected — the range of σ for families of any rank.

Corrected statement of dexter2024.sigma_range: for PSD H_i of rank at most r,
    1 ≤ σ ≤ n·√r,
with equality at the top for n identical rank-r projections. Proof: λ₁(S) is at most the largest row
sum of S, S_ij = √tr[H_iH_j] ≤ √(‖H_i‖_F‖H_j‖_F) ≤ max_k ‖H_k‖_F ≤ √r·max_k λ₁(H_k). For rank-one
families (the cross-entropy case of §3.1) this is the paper's [1, n]. r is the rank the construction
guarantees; σ is checked with its certified round-off bound.
"""

from __future__ import annotations

import math

from flatcheck.problems.dexter_families import FamilySweep, HessianFamily, family_sweeps
from flatcheck.verify import Claim

from ._coherence import make_sigma_range_check, sigma_range_constants


def upper(fam: HessianFamily) -> float:
    """n√r, r the largest rank the construction guarantees."""
    return fam.n * math.sqrt(max(fam.ranks))


CONSTANTS = sigma_range_constants("n√r")


CLAIM = Claim(
    id="dexter2024.sigma_range.corrected",
    paper="dexter2024",
    ref="Definition 2 (corrected range of σ for rank-r families)",
    kind="bound",
    statement=r"\mathrm{rank}\,H_i\le r\ \Rightarrow\ 1\le\sigma(\{H_i\}_{i\in[n]})\le n\sqrt r",
    summary="Corrected: σ ∈ [1, n√r] for H_i of rank ≤ r (the paper's [1, n] holds for rank one).",
    faithful=("corrected", "1 ≤ σ ≤ n√r for families of rank at most r (the printed [1, n] holds for rank one)"),
    instances=lambda budget: family_sweeps(),
    check=make_sigma_range_check(upper, "n√r", lambda f: {"max_rank": max(f.ranks), "upper": upper(f)}, CONSTANTS),
    constants=CONSTANTS,
    describe=FamilySweep.describe,
)
