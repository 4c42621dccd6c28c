r"""nso.theorem2_2_sigma.wording — "choose σ … to minimize", proof of Theorem 2.2 (App. A.1.1).

    "Thus, we will now choose σ and β ∈ (0, 1) to minimize the term above [(20)]. In particular,
     we will set σ such that  σ² = r/(1−β)·√(C/(αn)).   (21)"

Checked: the derivative of the σ²-terms of (20), (1−β)α/(2β)·σ² + Cr²/(4β(1−β)n)/σ², vanishes
at (21) (`flatcheck.symbolic.steps`, 50-digit evaluation at sampled rationals; `derive` gives the
true minimiser). A slip of wording with its own verdict: the bound the proof obtains at (21) is
`nso.theorem2_2_sigma`, which does not need (21) to be the minimiser.
Declared constant: the factor 1 of (21)'s σ² (exact: a minimiser is one value).
"""

from __future__ import annotations

from flatcheck.verify import Claim

from ._theorem2_2_sigma import WORDING_CONSTANTS, derive, describe, make_check, points

CLAIM = Claim(
    id="nso.theorem2_2_sigma.wording",
    paper="nso",
    ref="eq. (21), proof of Theorem 2.2, Appendix A.1.1",
    kind="proof-step",
    expected=(
        "falsified",
        "(21)'s σ² = r/(1−β)·√(C/(αn)) does not minimize the σ² terms of (20); their minimizer is σ² = "
        "r/(1−β)·√(C/(2αn)) (the bound the proof draws at (21) still holds).",
    ),
    statement=r"\sigma^2=\frac{r}{1-\beta}\sqrt{\frac{C}{\alpha n}}\ \text{minimizes (20)}",
    summary="The proof's claim that the σ² of (21) minimizes the PAC-Bayes bound (20).",
    faithful=("wording", "the proof's “choose σ … to minimize”: whether (21) minimises the σ²-terms of (20)"),
    instances=lambda budget: points(),
    check=make_check("wording"),
    derive=derive,
    constants=WORDING_CONSTANTS,
    describe=describe,
)
