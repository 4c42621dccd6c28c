r"""nso.theorem4_5 — Theorem 4.5, eqs. (8)-(9), §4 (proof: Lemma B.2, Appendix B.2).

    "f(W) = (1/2G)⟨W, e₀⟩² + Σ_{i=0}^{T−1} h_i(⟨W, e_{i+1}⟩),   (8)
     h_i(x) = Cα_i²/4 (|x| ≤ α_i); −C(|x|−α_i)²/2 + Cα_i²/4 (α_i ≤ |x| ≤ 3α_i/2);
              C(|x|−2α_i)²/2 (3α_i/2 ≤ |x| ≤ 2α_i); 0 (2α_i ≤ |x|).
     One can verify that for each piece above, ∇h_i is C-Lipschitz. As a result, provided that
     G ≤ C^{−1}, ∇f is C-Lipschitz …"
    "Theorem 4.5. Let the learning rates η₀, …, η_{T−1} be at most C^{−1}. Let D > 0 be a fixed
     value. When they either satisfy Σ_i η_i ≲ √(kT), or η_i = η < C^{−1} for any epoch i, then for
     the above construction, min_{1≤t≤T} E[‖∇F(W_t)‖²] ≥ D√(Cσ²/(32k·T)).   (9)
     We remark that the above construction requires T ≤ d."
    Lemma B.2 (the first case): α_i = 2η_iσ/√k, W₀ = D√G·e₀, G = max{C^{−1}, 2Σ_iη_i},
    Σ_i η_i ≤ √(D²kT/(2σ²C)), oracle noise |⟨ξ_t, e_{t+1}⟩| ≤ σ/√k along e_{t+1} only.

Three claims, three verdicts (the code is shared in `_theorem4_5.py`):
`nso.theorem4_5` — the conclusion (9), by the simulation below;
`nso.theorem4_5.wording` — the remark "the above construction requires T ≤ d": e₀ … e_T are T + 1
coordinates, so the construction needs T + 1 ≤ d (off by one at T = d);
`nso.theorem4_5.steps` — the steps of the proof.
Steps (`flatcheck.symbolic.steps`, 50-digit evaluation at sampled rationals): h_i and h_i′ are
continuous at α, 3α/2, 2α and |h_i″| ≤ C on every piece (∇h_i C-Lipschitz); "G ≤ C^{−1} ⇒ ∇f is
C-Lipschitz" (the e₀ term has curvature 1/G); F(W₀) = D²/2 + Cσ²Σ_iη_i²/k ≤ D² under (43);
the last chain of Lemma B.2, (D²/4)·min{C, 1/(2Σ_iη_i)} ≥ D√(Cσ²/(32kT)) under its step-size condition.
Simulation: the implementation's NSO runs on construction (8) (`ChainConstruction`) from
W₀ = D√G·e₀ with constant η satisfying Lemma B.2's condition, the exact gradient oracle (ξ = 0
meets |ξ| ≤ σ/√k) and Gaussian P of standard deviation min α_i/64 (so |U| < α_i/2, the role of the
truncation, with probability 1 − 10⁻⁸⁰⁰); min_t ‖∇F(W_t)‖² (F = f up to that negligible smoothing
on the flat pieces) must reach (9). Half the draws take, for the drawn C, D, k, T, a σ past 8·D√(2CkT) (a power
of two, at least 64), where (9) is tightest: it grows like σ while the construction's gradient
does not, and it fails there, so every seed of the quick profile finds it (e.g. C = D = k = T = 1,
σ = 4: min_t ‖∇F(W_t)‖² = 0.678 < 0.707) — the same regime σ > D√(2CkT) where Lemma B.2's last
chain fails (`nso.theorem4_5.steps`).
Declared constant: the 32 of (9) (smaller is stronger), read by the simulation and by the steps.
"""

from __future__ import annotations

from flatcheck.verify import Claim

from ._theorem4_5 import CONSTANTS, describe, instances, make_check

CLAIM = Claim(
    id="nso.theorem4_5",
    paper="nso",
    ref="Theorem 4.5, eqs. (8)-(9), §4; Lemma B.2, Appendix B.2",
    kind="rate",
    expected=(
        "falsified",
        "(9) fails once σ > D√(2CkT): the construction's gradient stays capped while (9) grows like σ "
        "(C = D = k = T = 1, σ = 4: min_t ‖∇F(W_t)‖² = 0.678 < 0.707).",
    ),
    statement=r"\min_{1\le t\le T}\mathbb E\|\nabla F(W_t)\|^2\ge D\sqrt{\frac{C\sigma^2}{32kT}}"
    r"\ \text{for construction (8)}",
    summary="NSO on the lower-bound construction (8) keeps min_t E‖∇F(W_t)‖² above (9).",
    faithful=(
        "restricted",
        "construction (8) with a constant η within Lemma B.2's step-size condition and the exact gradient oracle",
    ),
    instances=lambda budget: instances(),
    check=make_check("conclusion"),
    algorithm="nso",
    constants=CONSTANTS,
    describe=describe,
)
