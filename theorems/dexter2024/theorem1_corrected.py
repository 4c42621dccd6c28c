r"""dexter2024.theorem1.corrected — Theorem 1 with the conclusion its proof establishes.

The proof of Theorem 1 (Appendix A.2) lower-bounds E‖Ĵ_k⋯Ĵ₁‖_F² through Lemma 4.1 (i) and uses
‖M‖₂² ≤ ‖M‖_F² ≤ d‖M‖₂²; that shows the *second* moment diverges. Corrected statement:

    λ₁(H) > 2/η  or  λ₁(H) > (σ/η)(n/B − 1)^{−1/2}   ⇒   lim_k E‖Ĵ_k⋯Ĵ₁‖₂² = ∞.

Decided exactly on the same instances as dexter2024.theorem1: E‖Ĵ_k⋯Ĵ₁‖₂² lies between
E‖Ĵ_k⋯Ĵ₁‖_F²/d and E‖Ĵ_k⋯Ĵ₁‖_F² = tr𝓛^k(I), which diverges iff ρ(𝓛) > 1 (𝓛(M) = E[ĴMĴ], a positive
self-adjoint map; `flatcheck.stats.stability`). Diagonal families: ρ(𝓛) = max_c E[ĵ_c²] in rational
arithmetic, for every B ∈ [n] and η from just past to far past the boundary; other families:
symmetric eigenvalues of 𝓛 with their round-off bound. The implementation's Ĵ must follow
Definition 1 (E[Ĵ], E[Ĵ²], error ≤ α).
"""

from __future__ import annotations

import math

from flatcheck.problems.dexter_families import LinearSGDInstance, diagonal_families, psd_families
from flatcheck.stats.stability import columns_of, coordinate_moments, moment_operator, operator_radius
from flatcheck.verify import Claim, Evidence

from ._theorem1 import CONSTANTS, Conditions, make_check, theorem1_instances


def second_moment_radius(inst: LinearSGDInstance, conditions: Conditions) -> Evidence:
    """ρ(𝓛) > 1 beyond round-off ⇔ E‖Ĵ_k⋯Ĵ₁‖₂² → ∞."""
    cond = conditions.slacks(inst)
    if cond is None:
        return Evidence(None, margin=math.inf)
    if inst.fam.diag is not None:
        cm = coordinate_moments(columns_of(inst.fam.diag), inst.fam.n, inst.lr, inst.batch, "bernoulli")
        rho, tol = float(max(cm.second)), 0.0
        holds = max(cm.second) > 1
    else:
        rho, tol = operator_radius(moment_operator(inst.fam.hs, float(inst.lr), inst.batch))
        holds = True if rho - 1 > tol else (None if rho - 1 >= -tol else False)
    values = {**cond, "eta": str(inst.lr), "B": inst.batch, "radius_L": rho, "radius_tolerance": tol}
    note = "" if holds is not False else f"ρ(𝓛) = {rho:.6g} < 1: E‖Ĵ_k⋯Ĵ₁‖₂² → 0 although the condition holds"
    return Evidence(holds, values, margin=(rho - 1 - tol) / max(tol, 1e-12) if tol else rho - 1, note=note)


CLAIM = Claim(
    id="dexter2024.theorem1.corrected",
    paper="dexter2024",
    ref="Theorem 1, §3.2, with the conclusion of its proof (Appendix A.2)",
    kind="dynamics",
    statement=r"\lambda_1(H)>\frac2\eta\ \text{or}\ \lambda_1(H)>\frac\sigma\eta\Big(\frac nB-1\Big)^{-1/2}"
    r"\Rightarrow\lim_{k\to\infty}\mathbb E\|\hat J_k\cdots\hat J_1\|_2^2=\infty",
    summary="Corrected Theorem 1: under its conditions the second moment E‖Ĵ_k⋯Ĵ₁‖₂² diverges.",
    faithful=("corrected", "the conclusion the proof establishes: the second moment E‖Ĵ_k⋯Ĵ₁‖₂² diverges"),
    instances=lambda budget: theorem1_instances(
        diagonal_families(max_n=6, max_d=3) | psd_families(max_n=5, max_d=3), Conditions.of(budget)
    ),
    constants=CONSTANTS,
    check=make_check(second_moment_radius, definition1_share=1.0),
    algorithm="linsgd",
    describe=LinearSGDInstance.describe,
)
