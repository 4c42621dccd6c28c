r"""nso.lemmaB1.corrected — Lemma B.1 with the first term its proof derives: 2D²/Σηᵢ.

    The proof of Lemma B.1 (Appendix B.1) ends with
        E_t[‖∇F(W_t)‖²] ≤ (2D² + C Σ_i η_i² (E‖δ_i‖² + E‖ξ_i‖²)) / Σ_i η_i,
    while (29) states 2C·D² in the first term (`nso.lemmaB1`, falsified for C < 1). This variant
    encodes the proved bound, and is what (35) uses in the proof of Theorem 4.3.

Same check and instances as `nso.lemmaB1` (half of them where the bound is attained): NSO runs
with constant η = c/C on families with exact C and D²; E‖δ_i‖² + E‖ξ_i‖² is read back from the
runs; falsified when the lower end of the interval of E[mean_t ‖∇F(W_t)‖² − Cη·mean_t ‖δ_t + ξ_t‖²]
exceeds 2D²/(Tη) beyond round-off.
Declared constants: the 2 in 2D² and the factor C of the noise term (both smaller is stronger).
"""

from __future__ import annotations

import sympy as sp

from flatcheck.problems.nso_families import NSOInstance
from flatcheck.verify import Claim

from ._lemmaB1 import declared, instances, make_check

# The first term of the proof's last display: 2D²/Σηᵢ (no factor C).
CONSTANTS = declared("2 in 2D²/Σηᵢ")


CLAIM = Claim(
    id="nso.lemmaB1.corrected",
    paper="nso",
    ref="Lemma B.1 as proved (last display of its proof), Appendix B.1",
    kind="bound",
    statement=r"\mathbb E\|\nabla F(W_t)\|^2\le\frac{2D^2+C\sum_i\eta_i^2(\mathbb E\|\delta_i\|^2"
    r"+\mathbb E\|\xi_i\|^2)}{\sum_i\eta_i}",
    summary="Lemma B.1 as proved: the weighted mean squared gradient is at most (2D² + CΣη²(…))/Ση.",
    faithful=(
        "corrected",
        "first term 2D²/Σηᵢ, as the proof derives, in place of the printed 2C·D²/Σηᵢ; on quadratics and separable "
        "softplus losses",
    ),
    instances=instances,
    check=make_check(sp.Integer(1), CONSTANTS),
    constants=CONSTANTS,
    algorithm="nso",
    describe=NSOInstance.describe,
)
