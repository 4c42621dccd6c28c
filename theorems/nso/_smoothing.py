"""What the NSO paper's two smoothing expansions (Proposition 2.1: two-point, Σ = sΣ₀; Lemma A.4:
one-point, Σ = σ²I) share: the coefficient of the Hessian term derived on a generic quartic, and
`smoothing_order` at a `SmoothingInstance` sized by the claim's budget."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sympy as sp

from flatcheck.numeric.smoothing import smoothing_order
from flatcheck.problems.nso_families import SmoothingInstance
from flatcheck.stats import OrderFit
from flatcheck.symbolic.gaussian import smoothed


@lru_cache(maxsize=2)
def hessian_term(two_point: bool) -> dict[str, sp.Expr]:
    """The expansion in the variance s of E f(w + U) (two-point: E ½(f(w+U) + f(w−U))) − f(w),
    U ~ N(0, s), for a generic quartic: the coefficient κ of its s·f''(w) term (½) and the remainder
    after it, factored (lowest power s²)."""
    s = sp.Symbol("s", positive=True)
    x, w = sp.symbols("x w", real=True)
    f = sum(c * x**k for k, c in enumerate(sp.symbols("c0:5")))
    gap = sp.expand(smoothed(f, (x,), (w,), sp.Matrix([[s]]), two_point=two_point) - f.subs(x, w))
    curvature = sp.diff(f, x, 2).subs(x, w)
    kappa = sp.simplify(gap.coeff(s, 1) / curvature)
    return {"coefficient": kappa, "remainder": sp.factor(gap - kappa * s * curvature)}


def coefficient_mismatch(printed: sp.Expr, derived: sp.Expr, term: str) -> dict[str, Any] | None:
    """The Evidence fields of a printed coefficient that differs from the derived one, else None."""
    if printed == derived:
        return None
    values = {"printed_coefficient": str(printed), "derived_coefficient": str(derived)}
    return {"holds": False, "values": values, "note": f"{term}: printed {printed}, the Gaussian moments give {derived}"}


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
