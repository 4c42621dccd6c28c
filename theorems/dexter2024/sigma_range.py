r"""dexter2024.sigma_range — the range of the coherence measure (Definition 2; Theorem 2, §3.3).

Theorem 2 quantifies over "σ ∈ [n]", and §3.1 calls σ = 1 and the identical setting the two
extremes: the catalog reads this as "σ ∈ [1, n] for any PSD family {H_i}_{i∈[n]}".

σ ≥ 1 always (λ₁(S) ≥ S_ii = ‖H_i‖_F ≥ λ₁(H_i)). The upper end is checked as stated on every kind of
family — diagonal and rotated ones, random PSD families of rank 1 and 2 with controlled coherence,
the §3.1 and §5.1 constructions, and the rank-one Hessians of a label-smoothed network — with σ's
certified round-off bound as the tolerance. (For H_i of rank r, S_ii = ‖H_i‖_F can reach √r·λ₁(H_i),
so σ can exceed n; see dexter2024.sigma_range.corrected.)
"""

from __future__ import annotations

from flatcheck.problems.dexter_families import FamilySweep, family_sweeps
from flatcheck.verify import Claim

from ._coherence import make_sigma_range_check, sigma_range_constants

CONSTANTS = sigma_range_constants("n")

CLAIM = Claim(
    id="dexter2024.sigma_range",
    paper="dexter2024",
    ref="Definition 2 and Theorem 2 (σ ∈ [n]), §3.1–3.3",
    kind="bound",
    expected=(
        "falsified",
        "σ ∈ [1, n] fails once some H_i has rank r > 1 (S_ii = ‖H_i‖_F can exceed λ₁(H_i)); σ ∈ [1, n√r] "
        "holds, [1, n] for rank one.",
    ),
    statement=r"1\le\sigma(\{H_i\}_{i\in[n]})\le n",
    summary="The coherence measure of any PSD family lies in [1, n].",
    faithful=("wording", "Theorem 2's quantifier “σ ∈ [n]” read as the range of σ over every PSD family"),
    instances=lambda budget: family_sweeps(),
    check=make_sigma_range_check(lambda f: f.n, "n", lambda f: {"ranks": list(f.ranks)}, CONSTANTS),
    constants=CONSTANTS,
    describe=FamilySweep.describe,
)
