r"""template.descent — the quadratic upper bound of a β-smooth function (the template for a new claim;
the README's "Writing a claim" walks through it). Its name starts with `_`, so it is never registered:
copy it to `<package>/<paper>/<claim>.py`, then change the id, the quote and the check.

1. The quote, exactly as printed, with where it stands (Nesterov 2004, Lemma 1.2.3):

    "Let f ∈ C^{1,1}_L(Rⁿ). Then for any x, y from Rⁿ we have
     |f(y) − f(x) − ⟨f′(x), y − x⟩| ≤ (L/2)‖y − x‖²."

2. What is checked and how it is decided: on quadratics f = ½xᵀAx (L = max|λ(A)|, exact) at rational
   x and y, the gap f(y) − f(x) − ⟨∇f(x), y − x⟩ is computed exactly by sympy and compared with
   (L/2)‖y − x‖², so no round-off can decide the verdict. The constant ½ is a parameter of the check
   (`make_check`): a corrected twin or a mutated constant reuses the same check.
"""

from __future__ import annotations

import sympy as sp
from hypothesis import strategies as st

from flatcheck.problems import PointInstance, quadratics
from flatcheck.problems.points import points
from flatcheck.verify import Claim, Evidence

HALF = sp.Rational(1, 2)


def derive() -> sp.Expr:
    """The gap for a generic 2×2 symmetric A along y − x = t·u: ½t²uᵀAu, a quadratic form."""
    t = sp.Symbol("t", real=True)
    u = sp.Matrix(sp.symbols("u1:3", real=True))
    a = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"a{min(i, j)}{max(i, j)}"))
    x = sp.Matrix(sp.symbols("x1:3", real=True))

    def f(z: sp.Matrix) -> sp.Expr:
        return (z.T * a * z)[0] / 2

    return sp.factor(sp.expand(f(x + t * u) - f(x) - (a * x).dot(t * u)))


def make_check(constant: sp.Expr):
    """The check of |f(y) − f(x) − ⟨∇f(x), y − x⟩| ≤ constant·L‖y − x‖² (printed: constant ½)."""

    def check(inst: PointInstance, impl, budget) -> Evidence:
        prob = inst.problem
        x, y = sp.Matrix(inst.x), sp.Matrix(inst.scalars["y"])
        at_x, at_y = dict(zip(prob.symbols, x)), dict(zip(prob.symbols, y))
        grad = sp.Matrix([g.subs(at_x) for g in prob.grad_expr])
        gap = abs(prob.expr.subs(at_y) - prob.expr.subs(at_x) - grad.dot(y - x))
        lipschitz = max(abs(e) for e in prob.known["eigenvalues"])
        bound = constant * lipschitz * (y - x).dot(y - x)
        # Exact rationals: no tolerance, and a tie holds. The margin is the slack relative to the bound.
        holds = bool(gap <= bound)
        note = "" if holds else f"gap {gap} > {constant}·L‖y − x‖² = {bound}"
        values = {"gap": str(gap), "bound": str(bound), "L": str(lipschitz)}
        return Evidence(holds, values, margin=float((bound - gap) / bound) if bound else None, note=note)

    return check


def _instances(budget):
    return quadratics(d=st.integers(1, 4), psd=False).flatmap(
        lambda q: st.builds(lambda x, y: PointInstance(q, x, scalars={"y": y}), points(q.d), points(q.d))
    )


CLAIM = Claim(
    id="template.descent",
    paper="template",
    ref="Nesterov (2004), Lemma 1.2.3",
    kind="bound",
    statement=r"|f(y)-f(x)-\langle\nabla f(x),y-x\rangle|\le\tfrac L2\|y-x\|^2",
    summary="A function with L-Lipschitz gradient lies within (L/2)‖y − x‖² of its tangent plane.",
    # How the encoding relates to the paper: "exact" here; ("restricted", "which family and why") when
    # checked on a narrower family, "corrected", "wording", "steps", ("reproduction", "at what scale").
    faithful="exact",
    instances=_instances,
    check=make_check(HALF),
    derive=derive,
    describe=lambda inst: {
        "problem": inst.problem.describe(),
        "x": [str(v) for v in inst.x],
        "y": [str(v) for v in inst.scalars["y"]],
    },
)
