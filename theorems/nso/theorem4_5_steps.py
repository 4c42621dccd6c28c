r"""nso.theorem4_5.steps — the steps of the proof of Theorem 4.5 (Lemma B.2, Appendix B.2).

h_i and h_i′ continuous at α, 3α/2, 2α and |h_i″| ≤ C on every piece (∇h_i C-Lipschitz);
F(W₀) = D²/2 + Cσ²Σ_iη_i²/k ≤ D² under (43); the last chain of Lemma B.2,
(D²/4)·min{C, 1/(2Σ_iη_i)} ≥ D√(Cσ²/(32kT)) under its step-size condition. Each step evaluated in
50-digit mpmath at sampled rationals (`flatcheck.symbolic.steps`), the search steered by
hypothesis' `target()` toward the smallest relative gap; Σ_iη_i is taken at its worst admissible
value (the largest within the step-size condition), and half the draws take the largest σ.
Finding: the last chain fails whenever σ > D√(2CkT) (then min{C, 1/(2Σ_iη_i)} = C and
D²C/4 < D√(Cσ²/(32kT))), e.g. C = D = k = T = 1, σ = 4. The statement is in `nso.theorem4_5`; the remark T ≤ d is
`nso.theorem4_5.wording`, with the printed condition G ≤ C⁻¹ (the proof uses G ≥ C⁻¹).
Declared constant: the 32 of (9) in the last chain (smaller is stronger).
"""

from __future__ import annotations

from flatcheck.verify import Claim

from ._theorem4_5 import CONSTANTS, describe, instances, make_check

CLAIM = Claim(
    id="nso.theorem4_5.steps",
    paper="nso",
    ref="Theorem 4.5, proof: Lemma B.2, Appendix B.2",
    kind="proof-step",
    expected=(
        "falsified",
        "Lemma B.2's last chain (D²/4)·min{C, 1/(2Σ_iη_i)} ≥ D√(Cσ²/(32kT)) fails once σ > D√(2CkT).",
    ),
    statement=r"h_i\in C^1,\ |h_i''|\le C;\ F(W_0)\le D^2;\ "
    r"\tfrac{D^2}4\min\{C,\tfrac1{2\sum_i\eta_i}\}\ge D\sqrt{\tfrac{C\sigma^2}{32kT}}",
    summary="The steps of Lemma B.2: the pieces h_i are C¹ with |h_i″| ≤ C, F(W₀) ≤ D², and the final chain.",
    faithful=("steps", "the steps of Lemma B.2's proof"),
    instances=lambda budget: instances(),
    check=make_check("steps"),
    constants=CONSTANTS,
    describe=describe,
)
