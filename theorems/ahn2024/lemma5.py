r"""ahn2024.lemma5 — Lemma 5, Appendix A.1 (proof in D.2).

    "Lemma 5. Let Assumption 1 hold and f have β-Lipschitz gradients. If x is in the
     ζ-neighborhood of X*, then it holds that
     • ‖x − Φ(x)‖ ≤ √((2/α)√(f(x) − f(Φ(x))))  and  √(f(x) − f(Φ(x))) ≤ (β/√(2α))‖x − Φ(x)‖.
     • ‖x − Φ(x)‖ ≤ (1/α)‖∇f(x)‖  and  ‖∇f(x)‖ ≤ β‖x − Φ(x)‖.
     • √(f(x) − f(Φ(x))) ≤ (1/√(2α))‖∇f(x)‖  and  ‖∇f(x)‖ ≤ √(2β²/α)·√(f(x) − f(Φ(x)))."

The first inequality is encoded as printed (its proof in D.2 shows the stronger
‖x − Φ(x)‖ ≤ √(2(f(x) − f(Φ(x)))/α), which implies the printed one while f(x) − f(Φ(x)) ≤ 1).
Finding: as printed it fails once the gap
exceeds 1 — rescaling f by c shrinks its right-hand side by c^{-1/4} while ‖x − Φ(x)‖ stays —
e.g. on linear regression (tests/test_ahn2024.py replays one counterexample; the proof's form holds).
α: the PL constant of Assumption 1(c) where the proof uses it — along the gradient flow from x to
Φ(x) — taken as the largest valid one, min_t ‖∇f(x(t))‖²/(2(f(x(t)) − f(Φ(x)))) over the integrated
path (any admissible α is smaller, and every right-hand side grows as α shrinks). β: the family's
certified bound of ‖∇²f‖ on a ball holding the whole path (`flatcheck.numeric.pl_bounds`). The
proof's form is `ahn2024.lemma5.corrected`. Points x = x* + r·w near a known
minimizer x* of Setting-1 families; the check takes the point closest to failing among
x* + s(x − x*), s ∈ {1, 4, 16} (the loss gap grows as s², the printed bound as s^{1/2}; Assumption
1's ζ is not quantified and α is measured along each path), so even quick finds the erratum.
Ties within round-off count as holding.
No symbolic part: six inequalities between values along the integrated flow (gap, distance, ‖∇f‖, α, β);
no identity, expansion or closed form to derive.
"""

from __future__ import annotations

import math

from flatcheck.problems import PointInstance
from flatcheck.problems.setting1 import near_minimizers, setting1_problems
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._lemma5 import OTHERS, worst_on_ray

CONSTANTS = (Constant("c_first", 2.0, "2 in √((2/α)√gap)", "smaller", text="‖x − Φ(x)‖ ≤ √((2/α)√gap)"), *OTHERS)


def make_check(first_bound=None):
    """The check of the six inequalities; first_bound(gap, alpha) is the right-hand side of the
    first one (default: the paper as printed, √((c_first/α)√gap) with c_first = 2)."""

    def check(inst: PointInstance, impl, budget) -> Evidence:
        c = constant(budget, CONSTANTS, "c_first")
        bound = first_bound or (lambda gap, alpha: math.sqrt(c / alpha * math.sqrt(gap)))
        return Evidence(**worst_on_ray(inst.problem, inst.x_tensor()[None], bound, budget)).steer()

    return check


CLAIM = Claim(
    id="ahn2024.lemma5",
    paper="ahn2024",
    ref="Lemma 5, Appendix A.1 (proof: D.2)",
    kind="bound",
    expected=(
        "falsified",
        "The first inequality as printed, ‖x − Φ(x)‖ ≤ √((2/α)√(f(x) − f(Φ(x)))), fails once f(x) − "
        "f(Φ(x)) > 1; its proof (D.2) gives ‖x − Φ(x)‖ ≤ √(2(f(x) − f(Φ(x)))/α).",
    ),
    statement=r"\|x-\Phi(x)\|\le\sqrt{\tfrac2\alpha\sqrt{f(x)-f(\Phi(x))}},\ "
    r"\sqrt{f(x)-f(\Phi(x))}\le\tfrac{\beta}{\sqrt{2\alpha}}\|x-\Phi(x)\|,\ "
    r"\|x-\Phi(x)\|\le\tfrac1\alpha\|\nabla f(x)\|,\ \|\nabla f(x)\|\le\beta\|x-\Phi(x)\|,\ "
    r"\sqrt{f(x)-f(\Phi(x))}\le\tfrac{1}{\sqrt{2\alpha}}\|\nabla f(x)\|,\ "
    r"\|\nabla f(x)\|\le\sqrt{2\beta^2/\alpha}\sqrt{f(x)-f(\Phi(x))}",
    summary="Distance to Φ(x), loss gap and gradient norm bound each other with the PL and smoothness constants.",
    faithful="exact",
    instances=lambda budget: near_minimizers(setting1_problems()),
    check=make_check(),
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
