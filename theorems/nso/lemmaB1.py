r"""nso.lemmaB1 — Lemma B.1, eq. (29), Appendix B.1 (NSO paper), as stated.

    "In the setting of Theorem 4.3, for any η₀, …, η_{T−1} less than C^{−1} and a random variable
     according to a distribution Pr[t = j] = η_j / Σ_{i=0}^{T−1} η_i, for any j = 0, …, T−1:
         E[‖∇F(W_t)‖²] ≤ (2C / Σ_i η_i)·D² + C Σ_i η_i²(E‖δ_i‖² + E‖ξ_i‖²) / Σ_i η_i."   (29)

The lemma's own proof ends with 2D² (no factor C) in the first term; as stated, with 2C·D², the
bound is stronger than what is proved when C < 1 (`nso.lemmaB1.corrected` encodes the proved 2D²).
Check: NSO runs of the implementation with constant η = c/C, c ∈ {1 − 2⁻¹⁰, ½, ⅛} (then t is
uniform on 0 … T−1), on families with exact C and D² = F(W₀) − min F
(`flatcheck.problems.nso_families`). E‖δ_i‖² + E‖ξ_i‖² = E‖G_i − ∇F(W_i)‖² is read back from the
same runs (G_i = (W_i − W_{i+1})/η), so each run gives Z = mean_t ‖∇F(W_t)‖² − Cη·mean_t
‖G_t − ∇F(W_t)‖², whose mean must not exceed the first term. Falsified when the lower end of the
interval of E Z (normal, instance error rate) exceeds it beyond round-off.
Declared constants: the 2 in 2C·D² and the factor C of the noise term (both smaller is stronger).
Half the instances are drawn where (29) is attained (`tight_runs`): a quadratic in one coordinate
(its curvature is then C), a noisy oracle, η just below 1/C and the longest T — the descent lemma is
an equality there and the stationary E‖∇F‖² ≈ Cη·E‖ξ‖², so the noise term's constant is exercised;
the search is steered (hypothesis' `target`) toward the largest ratio of E Z's lower end to the first term.
"""

from __future__ import annotations

from flatcheck.problems.nso_families import NSOInstance
from flatcheck.verify import Claim

from ._lemmaB1 import C, declared, instances, make_check

CONSTANTS = declared("2 in 2C·D²/Σηᵢ")


STATEMENT = (
    r"\mathbb E\|\nabla F(W_t)\|^2\le\frac{2C}{\sum_i\eta_i}D^2+\frac{C\sum_i\eta_i^2(\mathbb E\|\delta_i\|^2"
    r"+\mathbb E\|\xi_i\|^2)}{\sum_i\eta_i}"
)

CLAIM = Claim(
    id="nso.lemmaB1",
    paper="nso",
    ref="Lemma B.1, eq. (29), Appendix B.1",
    kind="bound",
    expected=(
        "falsified",
        "(29)'s first term 2C·D²/Σ_iη_i is stronger than the proof gives and fails for C < 1; the proof "
        "ends with 2D²/Σ_iη_i.",
    ),
    statement=STATEMENT,
    summary="The η-weighted mean squared gradient of NSO is at most 2CD²/Ση + CΣη²(E‖δ‖²+E‖ξ‖²)/Ση.",
    faithful=(
        "restricted",
        "quadratics and separable softplus losses only, constant η = c/C: the families whose C and D² are exact",
    ),
    instances=instances,
    check=make_check(C, CONSTANTS),
    constants=CONSTANTS,
    algorithm="nso",
    describe=NSOInstance.describe,
)
