"""What the NSO paper's two smoothing expansions (Proposition 2.1: two-point, Σ = sΣ₀; Lemma A.4:
one-point, Σ = σ²I) share: the symbolic remainder on a generic quartic, and `smoothing_order` at a
`SmoothingInstance` sized by the claim's budget."""

from __future__ import annotations

from typing import Any

import sympy as sp

from flatcheck.numeric.smoothing import smoothing_order
from flatcheck.problems.nso_families import SmoothingInstance
from flatcheck.stats import OrderFit
from flatcheck.symbolic.gaussian import smoothed


def quartic_remainder(variance: sp.Expr, two_point: bool) -> sp.Expr:
    """E f(w + U) (two-point: E ½(f(w+U) + f(w−U))) − f(w) − ½·variance·f''(w), U ~ N(0, variance),
    exactly, for a generic quartic f = c0 + c1x + … + c4x⁴ in one variable; factored."""
    x, w = sp.symbols("x w", real=True)
    f = sum(c * x**k for k, c in enumerate(sp.symbols("c0:5")))
    mean = smoothed(f, (x,), (w,), sp.Matrix([[variance]]), two_point=two_point)
    return sp.factor(mean - f.subs(x, w) - variance * sp.diff(f, x, 2).subs(x, w) / 2)


def instance_order(
    inst: SmoothingInstance, *, coefficient: sp.Rational, claimed: float, two_point: bool, budget: Any
) -> tuple[OrderFit, dict[str, Any], dict[str, Any]]:
    """`smoothing_order` at the instance's (f, W, Σ₀), with budget.mc_samples draws, budget.seed and
    error rate budget.alpha."""
    return smoothing_order(
        inst.problem,
        inst.w,
        inst.cov,
        coefficient=coefficient,
        claimed=claimed,
        two_point=two_point,
        n=budget.mc_samples,
        seed=budget.seed,
        alpha=budget.alpha,
    )
