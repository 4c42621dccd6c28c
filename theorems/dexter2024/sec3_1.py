r"""dexter2024.sec3_1 — the two extreme settings of §3.1 under the coherence measure (Definition 2).

    "In the first case, where H_i = e₁e₁ᵀ ∀i, it follows that ‖H_i^{1/2}H_j^{1/2}‖_F = 1 ∀i, j ∈ [n].
     Consequently, S becomes an n × n matrix consisting of all ones, yielding λ₁(S) = √n. Meanwhile,
     in the scenario, where H_i matrices are mutually orthogonal, ‖H_i^{1/2}H_j^{1/2}‖_F = 0 ∀i ≠ j.
     Therefore, S becomes the identity matrix I, and λ₁(S) = 1. In both cases, λ₁(H_i) = 1 for all
     i ∈ [n]. Consequently, in the first case, σ = √n, and in the second case, σ = 1."

Encoded as stated: identical H_i = e₁e₁ᵀ (any n, d) must give λ₁(S) = √n and σ = √n; H_i = e_ie_iᵀ
(and rotations QH_iQᵀ, still mutually orthogonal) must give λ₁(S) = 1 and σ = 1. λ₁(S) and σ are
computed from Definition 2 with certified round-off bounds, and must first agree with their exact values,
which derive() computes from Definition 2 in sympy (n = 2 … 6: λ₁(S) = σ = n¹ and 1); the printed
values are then compared with the computed ones. (The all-ones n×n matrix has λ₁ = n,
which is also what the proof of Theorem 2 uses for its σ×σ block; see dexter2024.sec3_1.corrected.)
"""

from __future__ import annotations

from flatcheck.problems.dexter_families import ExtremeSetting, extreme_settings
from flatcheck.verify import Claim

from ._coherence import extreme_values, make_sec3_1_check, sec3_1_constants

CONSTANTS = sec3_1_constants(0.5, "½ in σ = √n = n^{1/2}")

CLAIM = Claim(
    id="dexter2024.sec3_1",
    paper="dexter2024",
    ref="§3.1, the two extreme settings after Definition 2",
    kind="identity",
    expected=(
        "falsified",
        "For identical H_i = e₁e₁ᵀ, S is the all-ones n×n matrix, so λ₁(S) = σ = n, not √n; the "
        "orthogonal case (S = I, σ = 1) is right.",
    ),
    statement=r"H_i=e_1e_1^\top\ \forall i\Rightarrow\lambda_1(S)=\sqrt n,\ \sigma=\sqrt n;\quad"
    r"\mathrm{tr}[H_iH_j]=0\ (i\ne j)\Rightarrow S=I,\ \sigma=1",
    summary="§3.1: identical H_i = e₁e₁ᵀ give λ₁(S) = σ = √n; mutually orthogonal H_i give S = I, σ = 1.",
    faithful="exact",
    instances=lambda budget: extreme_settings(),
    check=make_sec3_1_check(CONSTANTS, "stated"),
    derive=extreme_values,
    constants=CONSTANTS,
    describe=ExtremeSetting.describe,
)
