r"""nso.theorem2_2_sigma — the choice (21) of σ² and the bound it gives, proof of Theorem 2.2 (App. A.1).

    "Thus, we will now choose σ and β ∈ (0, 1) to minimize the term above [(20)]. In particular,
     we will set σ such that  σ² = r/(1−β)·√(C/(αn)).   (21)
     By plugging in this setting to equation (20) and re-arranging terms, the gap between L(W) and
     L̂(W)/β becomes:
         L(W) − L̂(W)/β ≤ (1/β)√(Cαr²/n) + C₂√(2p log(C₃n/δ))/(2β√n)·σ² + ((1+β)/β)C₁σ³
                          + C/(2β(1−β)n)·log(1/δ).
     Let β be a fixed value close to 1 … and let ε = (1−β)/β. We get L(W) ≤ (1+ε)L̂(W) +
     (1+ε)√(Cαr²/n) + ξ, ξ = C₂√(2p log(C₃n/δ))/(2β√n)·σ² + (1 + 1/β)C₁σ³ + C/(2β(1−β)n)·log(1/δ).
     Notice that ξ is of order O(n^{−3/4} + n^{−3/4} + log(δ^{−1})n^{−1}) ≤ O(log(δ^{−1})n^{−3/4})."
    where (20) is  σ²√p·C₂√(log(C₃n/δ))/(2β√n) + ((1−β)/β)(σ²/2)α + ((1+β)/β)C₁σ³
                   + C(r²/(2σ²) + log(1/δ))/(2β(1−β)n).

Two claims, two verdicts (the code is shared in `_theorem2_2_sigma.py`): this one decides the
conclusion, steps (ii)–(iv); `nso.theorem2_2_sigma.wording` decides step (i), the proof's
"minimize", which the bound does not depend on.
Steps (`flatcheck.symbolic.steps`; all symbols positive, 0 < β < 1, δ < 1, C₃n/δ > 1):
(i) (21) minimizes the σ²-terms of (20) — the proof's "choose σ … to minimize": the derivative
    of (1−β)α/(2β)·σ² + Cr²/(4β(1−β)n)/σ² at (21) must vanish;
(ii) (20) at (21) ≤ the displayed bound;  (iii) 1/β = 1 + ε and (1+β)/β = 1 + 1/β;
(iv) ξ·n^{3/4}/log(1/δ) stays bounded as n → ∞ (checked as a sympy limit in `derive` and by its
     value at n = 10^{6}, 10^{12}, 10^{24}: it must not grow).
Symbolic side: each gap simplified; numeric side: each step evaluated in 50-digit mpmath at
sampled rationals.
Declared constants: the 1 of the leading term (1/β)√(Cαr²/n) (smaller is stronger; at (21) the
σ²-terms of (20) give ¾ of it) and ξ's order n^{−3/4} (larger is stronger).
"""

from __future__ import annotations

from flatcheck.verify import Claim

from ._theorem2_2_sigma import CONSTANTS, derive, describe, make_check, points

CLAIM = Claim(
    id="nso.theorem2_2_sigma",
    paper="nso",
    ref="eq. (21) and the bound after it, proof of Theorem 2.2, Appendix A.1.1",
    kind="bound",
    statement=r"\sigma^2=\frac{r}{1-\beta}\sqrt{\frac{C}{\alpha n}}:\ "
    r"L(W)-\tfrac1\beta\hat L(W)\le\tfrac1\beta\sqrt{\tfrac{C\alpha r^2}{n}}+\xi,\ \xi=O(n^{-3/4}\log\delta^{-1})",
    summary="At the σ² of (21) the PAC-Bayes bound (20) gives the bound of Theorem 2.2, with ξ = O(n^{-3/4}log δ⁻¹).",
    faithful=("steps", "steps (ii)–(iv) of the proof of Theorem 2.2: the bound it obtains at the choice (21) of σ²"),
    instances=lambda budget: points(),
    check=make_check("conclusion"),
    derive=derive,
    constants=CONSTANTS,
    describe=describe,
)
