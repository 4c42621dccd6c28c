r"""dexter2024.sec3_1.corrected — §3.1's extreme settings with the value Definition 2 gives.

The paper (§3.1) states λ₁(S) = √n and σ = √n for H_i = e₁e₁ᵀ ∀i. S is then the n×n all-ones
matrix 11ᵀ, whose top eigenvalue is 1ᵀ1 = n (eigenvector 1); the proof of Theorem 2 uses exactly
this fact (λ₁ of a σ×σ block of m's is mσ). Corrected statement: identical H_i = e₁e₁ᵀ give
λ₁(S) = n and σ = n; mutually orthogonal H_i = e_ie_iᵀ give S = I and σ = 1 (unchanged).
Checked like dexter2024.sec3_1, with certified round-off bounds.
"""

from __future__ import annotations

from flatcheck.problems.dexter_families import ExtremeSetting, extreme_settings
from flatcheck.verify import Claim

from ._coherence import extreme_values, make_sec3_1_check, sec3_1_constants

CONSTANTS = sec3_1_constants(1.0, "1 in σ = n = n¹")

CLAIM = Claim(
    id="dexter2024.sec3_1.corrected",
    paper="dexter2024",
    ref="§3.1 (corrected: λ₁ of the n×n all-ones matrix is n)",
    kind="identity",
    statement=r"H_i=e_1e_1^\top\ \forall i\Rightarrow\lambda_1(S)=n,\ \sigma=n;\quad"
    r"\mathrm{tr}[H_iH_j]=0\ (i\ne j)\Rightarrow S=I,\ \sigma=1",
    summary="Corrected §3.1: identical H_i = e₁e₁ᵀ give λ₁(S) = σ = n (not √n); orthogonal H_i give σ = 1.",
    faithful=("corrected", "λ₁(S) = σ = n for identical H_i (the printed √n is wrong)"),
    instances=lambda budget: extreme_settings(),
    check=make_sec3_1_check(CONSTANTS, "corrected"),
    derive=extreme_values,
    constants=CONSTANTS,
    describe=ExtremeSetting.describe,
)
