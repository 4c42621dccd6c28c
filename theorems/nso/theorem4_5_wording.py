r"""nso.theorem4_5.wording — the conditions of Theorem 4.5's construction as worded, §4 (NSO paper).

    "One can verify that for each piece above, ∇h_i is C-Lipschitz. As a result, provided that
     G ≤ C^{−1}, ∇f is C-Lipschitz …"   "We remark that the above construction requires T ≤ d."

Construction (8) uses the coordinates e₀, e₁, …, e_T: T + 1 of them, so it needs T + 1 ≤ d; at
T = d the remark's condition holds and the construction does not fit. The e₀ term (1/2G)⟨W, e₀⟩²
has curvature 1/G, which is ≤ C when G ≥ C⁻¹ — the opposite of the printed "G ≤ C⁻¹" (Lemma B.2
itself sets G = max{C⁻¹, 2Σ_iη_i} ≥ C⁻¹). Both checked as steps (`flatcheck.symbolic.steps`) at
sampled rationals under the printed condition. Slips of wording, with their own verdict: the
conclusion (9) is `nso.theorem4_5`, the proof `nso.theorem4_5.steps`.
No declared constants: both conditions compare the construction's own quantities (T with d, G with C⁻¹).
"""

from __future__ import annotations

from flatcheck.verify import Claim

from ._theorem4_5 import describe, instances, make_check

CLAIM = Claim(
    id="nso.theorem4_5.wording",
    paper="nso",
    ref="Theorem 4.5, remark after (9), §4",
    kind="proof-step",
    expected=(
        "falsified",
        "The construction uses the T + 1 coordinates e₀, …, e_T, so it needs T + 1 ≤ d, not T ≤ d; and ∇f is "
        "C-Lipschitz when G ≥ C⁻¹, not G ≤ C⁻¹.",
    ),
    statement=r"G\le C^{-1}\Rightarrow\nabla f\ C\text{-Lipschitz};\ "
    r"\text{construction (8) on }e_0,\dots,e_T\ \text{requires } T\le d",
    summary="The conditions as worded: G ≤ C⁻¹ for C-Lipschitz ∇f, and T ≤ d for T + 1 coordinates.",
    faithful=("wording", "the remark “requires T ≤ d” and the condition “G ≤ C⁻¹” as printed"),
    instances=lambda budget: instances(),
    check=make_check("wording"),
    describe=describe,
)
