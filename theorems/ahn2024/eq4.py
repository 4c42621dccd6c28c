r"""ahn2024.eq4 — Taylor expansion (4), proof sketch of Lemma 2, §3.2 (Ahn, Jadbabaie, Sra 2024).

    "∇f(x_t + ρg_t) = ∇f(x_t) + ρ∇²f(x_t)g_t + ½ρ²∇³f(x_t)[g_t, g_t] + O(ρ³).   (4)"

Symbolic side: derive() computes the expansion's coefficients (1, 1, ½ of ρ⁰, ρ¹, ρ²) from a generic
quintic, and the printed ½ must equal the derived one exactly; the three terms are sympy's
derivatives of f (∇f, ∇²f·g, and ∇³f[g,g] as the gradient of gᵀ∇²f g), weighted by the derived
coefficients. Numeric side: the remainder r(ρ) = ‖∇f(x+ρg) − (4) without O(ρ³)‖ is
evaluated in 50-digit mpmath at ρ = 2^{-1} … 2^{-14} (float64 would lose it to cancellation) and
its local order on the log-log scale must reach 3.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from flatcheck import cache
from flatcheck.problems import PointInstance, point_instances, smooth_problems
from flatcheck.stats import fit_order
from flatcheck.symbolic import third_contraction
from flatcheck.verify import Budget, Claim, Constant, Evidence, constant

DPS = 50
CLAIMED_ORDER = 3
CONSTANTS = (
    Constant("half", 0.5, "½ in ½ρ²∇³f[g, g]", "exact", text="the second-order Taylor coefficient"),
    Constant("order", CLAIMED_ORDER, "3 in O(ρ³)", "larger", "order", 1, "the remainder's order"),
)


def derive() -> dict[str, object]:
    """The Taylor coefficients c_k of f′(x + ρg) = Σ_k c_k ρ^k g^k f^{(k+1)}(x), k ≤ 2, from a generic
    quintic in one variable (c_k = 1/k!), and the remainder after them, factored: it carries ρ³."""
    x, g, rho = sp.symbols("x g rho", real=True)
    f = sum(c * x**k for k, c in enumerate(sp.symbols("c0:6")))
    shifted = sp.expand(sp.diff(f, x).subs(x, x + rho * g))
    coefficients = [sp.simplify(shifted.coeff(rho, k) / (g**k * sp.diff(f, x, k + 1))) for k in range(3)]
    taylor = sum(c * rho**k * g**k * sp.diff(f, x, k + 1) for k, c in enumerate(coefficients))
    return {"coefficients": coefficients, "remainder": sp.factor(shifted - taylor)}


def remainders(inst: PointInstance, rhos: list[float]) -> tuple[list[float], float]:
    """‖∇f(x+ρg) − (4) without O(ρ³)‖ at each ρ, (4)'s coefficients those of derive(); and a scale."""
    c0, c1, c2 = (mpmath.mpf(sp.Rational(c).p) / sp.Rational(c).q for c in derive()["coefficients"])
    prob = inst.problem
    # g enters as exact rationals (a float is one): differentiating gᵀ∇²f g with g numeric keeps the
    # polynomials in x alone, where a symbolic g made sympy.diff the bulk of this claim's time.
    gs = [sp.Rational(v) for v in inst.g]
    # Kept on disk per (f, g) (`flatcheck.cache`): a seed's instances come back in the next run.
    key = f"{cache.expr_key(prob.symbols)}\n{cache.expr_key(prob.expr)}\n{gs}\n{cache.code_key(__file__)}"
    hess_g, third = cache.memo(
        "ahn2024.eq4",
        key,
        lambda: (list(prob.hess_expr * sp.Matrix(gs)), list(third_contraction(prob.hess_expr, prob.symbols, gs))),
    )
    grad_f = prob.mp_vector(prob.grad_expr)
    taylor_1 = prob.mp_vector(hess_g)
    taylor_2 = prob.mp_vector(third)
    with mpmath.workdps(DPS):
        x = [mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q for v in inst.x]
        g = [mpmath.mpf(v) for v in inst.g]
        g0, hg, tg = grad_f(x), taylor_1(x), taylor_2(x)
        out = []
        for r in rhos:
            rr = mpmath.mpf(r)
            exact = grad_f([a + rr * b for a, b in zip(x, g)])
            approx = c0 * g0 + c1 * rr * hg + c2 * rr**2 * tg
            out.append(float(mpmath.norm(exact - approx)))
        scale = float(mpmath.norm(g0) + mpmath.norm(hg) + mpmath.norm(tg) + 1)
    return out, scale


def make_check(half: float):
    """The check with `half` as the coefficient of ρ²∇³f[g, g] ((4) says ½)."""

    def check(inst: PointInstance, impl: object, budget: Budget) -> Evidence:
        order = constant(budget, CONSTANTS, "order")
        printed, derived = sp.nsimplify(constant(budget, {"half": half}, "half")), derive()["coefficients"][2]
        if printed != derived:
            return Evidence(
                False,
                {"printed_coefficient": str(printed), "derived_coefficient": str(derived)},
                note=f"(4) prints {printed}·ρ²∇³f[g, g]; the Taylor coefficient is {derived}",
            )
        rhos = [2.0**-k for k in range(1, 15)]
        rems, scale = remainders(inst, rhos)
        fit = fit_order(rhos, rems, order, floor=scale * 10.0 ** (-(DPS - 10)))
        values = {
            "fitted_order_local": fit.local_orders[-1] if fit.local_orders else None,
            "slope": fit.slope,
            "claimed_order": order,
        }
        plot = {
            "type": "loglog",
            "x": rhos,
            "y": rems,
            "xlabel": "rho",
            "ylabel": "remainder",
            "reference_order": order,
        }
        margin = None if not fit.local_orders else fit.local_orders[-1] - (order - 0.5)
        return Evidence(fit.reaches if fit.decided else None, values, margin=margin, note=fit.note, plot=plot)

    return check


CLAIM = Claim(
    id="ahn2024.eq4",
    paper="ahn2024",
    ref="eq. (4), proof sketch of Lemma 2, §3.2",
    kind="expansion",
    statement=r"\nabla f(x_t+\rho g_t)=\nabla f(x_t)+\rho\nabla^2 f(x_t)g_t+\tfrac12\rho^2\nabla^3 f(x_t)[g_t,g_t]"
    r"+\mathcal O(\rho^3)",
    summary="The second-order Taylor expansion of the perturbed gradient has an O(ρ³) remainder.",
    faithful="exact",
    instances=lambda budget: point_instances(smooth_problems(degrees=(3, 4, 6)), with_direction=True, lo=-4, hi=4),
    check=make_check(0.5),
    derive=derive,
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
