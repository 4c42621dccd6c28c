r"""ahn2024.lemma5.corrected — Lemma 5, Appendix A.1, with its first inequality as the proof in D.2
derives it.

    Printed (Lemma 5): "‖x − Φ(x)‖ ≤ √((2/α)√(f(x) − f(Φ(x))))"
    Proof (D.2): from f(x) − f(Φ(x)) ≥ (α/2)‖x − Φ(x)‖² (quadratic growth under PL),
                 ‖x − Φ(x)‖ ≤ √(2(f(x) − f(Φ(x)))/α).

The printed form fails once f(x) − f(Φ(x)) > 1 (`ahn2024.lemma5`: rescaling f by c shrinks its
right-hand side by c^{-1/4} while ‖x − Φ(x)‖ stays). This claim is the lemma with the proof's
form in its place and the other five inequalities as printed, checked on the same instances with
the same α (largest PL constant along the flow from x to Φ(x)), β (certified ‖∇²f‖ bound on a
ball holding the path) and round-off tolerance (`flatcheck.numeric.pl_bounds`). Unlike the printed
claim it searches no ray x* + s(x − x*): the proof's form has no regime that opens with s (on a
quadratic both sides scale alike), and the search would triple the flows.
No symbolic part: six inequalities between values along the integrated flow; nothing to derive.
"""

from __future__ import annotations

import math

from flatcheck.problems import PointInstance
from flatcheck.problems.setting1 import near_minimizers, setting1_problems
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._lemma5 import OTHERS, lemma5_bounds

CONSTANTS = (Constant("c_first", 2.0, "2 in √(2 gap/α)", "smaller", text="‖x − Φ(x)‖ ≤ √(2(f − f*)/α)"), *OTHERS)


def proof_form(gap: float, alpha: float, c: float = 2.0) -> float:
    """√(c(f(x) − f(Φ(x)))/α), D.2 with c = 2."""
    return math.sqrt(c * gap / alpha)


def check(inst: PointInstance, impl, budget) -> Evidence:
    c = constant(budget, CONSTANTS, "c_first")
    return Evidence(
        **lemma5_bounds(inst.problem, inst.x_tensor()[None], lambda g, a: proof_form(g, a, c), budget)
    ).steer()


CLAIM = Claim(
    id="ahn2024.lemma5.corrected",
    paper="ahn2024",
    ref="Lemma 5, Appendix A.1, first inequality as derived in D.2",
    kind="bound",
    statement=r"\|x-\Phi(x)\|\le\sqrt{\tfrac{2}{\alpha}\big(f(x)-f(\Phi(x))\big)}"
    r"\ \text{and the other five inequalities of Lemma 5 as printed}",
    summary="Lemma 5 with ‖x − Φ(x)‖ ≤ √(2(f − f*)/α) (its proof's form) in place of the printed first inequality.",
    faithful=("corrected", "first inequality in the form its proof derives, ‖x − Φ(x)‖ ≤ √(2(f(x) − f(Φ(x)))/α)"),
    instances=lambda budget: near_minimizers(setting1_problems()),
    check=check,
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
