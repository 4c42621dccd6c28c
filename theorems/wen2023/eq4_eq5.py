r"""wen2023.eq4_eq5 — Taylor expansions (4) and (5), §3.1 (Wen, Ma, Li 2023).

    "R^max_ρ(x) = sup_{‖v‖₂≤1} L(x + ρv) − L(x) = sup_{‖v‖₂≤1} (ρvᵀ∇L(x) + ρ²/2 vᵀ∇²L(x)v + O(ρ³))     (4)
     R^asc_ρ(x) = L(x + ρ∇L(x)/‖∇L(x)‖₂) − L(x) = ρ‖∇L(x)‖₂ + ρ²/2 ∇L(x)ᵀ∇²L(x)∇L(x)/‖∇L(x)‖₂² + O(ρ³)   (5)"

Read as: the remainders r₄(ρ) = R^max_ρ(x) − sup_{‖v‖≤1}(ρvᵀ∇L + ρ²/2 vᵀ∇²Lv) and
r₅(ρ) = R^asc_ρ(x) − ρ‖∇L‖ − ρ²/2 ∇Lᵀ∇²L∇L/‖∇L‖² are O(ρ³) at a fixed x ((5) needs ∇L(x) ≠ 0;
instances with ∇L(x) = 0 are outside it and checked on (4) only).
Symbolic side: ∇L(x), ∇²L(x) exactly (rational point, exact local expansion of the polynomial L);
derive() computes the Taylor coefficients (1, ½) the brackets are built with; the printed ½ must equal c₂.
Numeric side: the sup of the quadratic bracket is the exact trust-region maximum (`ball_quadratic_max`);
R^max_ρ is the certified inner maximisation of `flatcheck.numeric.sharpness`; R^asc_ρ is evaluated from
the exact local expansion of L at x (no cancellation against L(x)), so ρ can go down to 2^{-16} for (5).
Decision: each remainder's local order on the log-log scale (`flatcheck.stats.fit_order`) must reach 3
(an order one short — e.g. a wrong ρ²/2 — is told apart); remainders below the round-off floor count as 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from flatcheck.numeric.sharpness import model_max, worst_sharpness
from flatcheck.problems import PointInstance, point_instances, smooth_problems
from flatcheck.problems.local import LocalPolynomial, expand_at
from flatcheck.stats import fit_order
from flatcheck.stats.limits import joint_verdict
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._derived import mismatch, taylor_coefficients

CLAIMED_ORDER = 3
HALF = 0.5  # the ρ²/2 of (4) and (5)
CONSTANTS = (
    Constant("half", HALF, "½ in ρ²/2 of (4) and (5)", "exact", text="the second-order coefficient"),
    Constant("order", CLAIMED_ORDER, "3 in O(ρ³)", "larger", "order", 1, "the remainders' order"),
)


def remainder4(lp: LocalPolynomial, rhos: torch.Tensor, gen: torch.Generator, estimator: Callable, c2: float):
    d, r = lp.d, len(rhos)
    g, h = lp.gradient_tensor(), lp.hessian_tensor()
    # sup_v ρvᵀg + c₂ρ²vᵀHv = model_max with H scaled by 2c₂ (c₂ = ½ is the statement).
    model, _ = model_max(g.expand(r, d), (2 * c2 * h).expand(r, d, d), rhos)
    return (estimator(lp, rhos, gen).value - model).tolist()


def remainder5(lp: LocalPolynomial, rhos: torch.Tensor, c2: float) -> list[float]:
    g, h = lp.gradient_tensor(), lp.hessian_tensor()
    n = torch.linalg.vector_norm(g)
    u = g / n
    exact = lp(rhos[:, None] * u)  # L(x + ρ∇L/‖∇L‖) − L(x), exactly expanded
    return (exact - rhos * n - c2 * rhos**2 * (u @ h @ u)).tolist()


def _fit(rhos: list[float], rems: list[float], floor: float, order: float) -> dict:
    fit = fit_order(rhos, rems, order, floor=floor)
    verdict = fit.reaches if fit.decided else None
    return {"fit": fit, "verdict": verdict, "local_order": fit.local_orders[-1] if fit.local_orders else None}


def derive() -> dict[str, object]:
    """The coefficients (c₁, c₂) of L(x + ρv) − L(x) = c₁ρvᵀ∇L + c₂ρ²vᵀ∇²Lv + O(ρ³) from a generic
    quintic (1 and ½): what both brackets of (4) and (5) are built with."""
    c1, c2 = taylor_coefficients()
    return {"c1": c1, "c2": c2}


def make_check(c2: float = HALF, estimator: Callable = worst_sharpness):
    """(4) and (5) with the printed second-order coefficient c2 (½), against derive()'s coefficients."""
    printed = {"half": c2}

    def check(inst: PointInstance, impl: object, budget) -> Evidence:
        derived = derive()
        if wrong := mismatch(constant(budget, printed, "half"), derived["c2"], "ρ²/2 in (4) and (5)"):
            return wrong
        if wrong := mismatch(1, derived["c1"], "ρvᵀ∇L in (4), ρ‖∇L‖ in (5)"):
            return wrong
        half, order = float(derived["c2"]), constant(budget, CONSTANTS, "order")
        lp = expand_at(inst.problem.expr, inst.problem.symbols, inst.x)
        eps = torch.finfo(torch.float64).eps
        gen = torch.Generator().manual_seed(budget.seed)
        rho4 = [2.0**-k for k in range(2, budget.scaled(11, 13, 14))]
        rems4 = remainder4(lp, torch.tensor(rho4, dtype=torch.float64), gen, estimator, half)
        parts = {"eq4": _fit(rho4, rems4, 256 * eps * lp.roundoff(rho4[0]), order)}
        values = {"rhos_eq4": rho4, "remainder_eq4": rems4}
        if any(v != 0 for v in lp.gradient):
            rho5 = [2.0**-k for k in range(1, 17)]
            rems5 = remainder5(lp, torch.tensor(rho5, dtype=torch.float64), half)
            parts["eq5"] = _fit(rho5, rems5, 256 * eps * lp.roundoff(rho5[0]), order)
            values.update(rhos_eq5=rho5, remainder_eq5=rems5)
        for name, p in parts.items():
            values[f"local_order_{name}"] = p["local_order"]
        verdict = joint_verdict([p["verdict"] for p in parts.values()])
        notes = [f"{name}: {p['fit'].note}" for name, p in parts.items()]
        orders = [p["local_order"] for p in parts.values() if p["local_order"] is not None]
        margin = min(orders) - (order - 0.5) if orders else None
        plot = {
            "type": "loglog",
            "x": rho4,
            "y": [abs(v) for v in rems4],
            "xlabel": "rho",
            "ylabel": "|remainder of (4)|",
            "reference_order": order,
        }
        return Evidence(verdict, values, margin=margin, note="; ".join(notes), plot=plot)

    return check


CLAIM = Claim(
    id="wen2023.eq4_eq5",
    paper="wen2023",
    ref="eqs. (4) and (5), §3.1",
    kind="expansion",
    statement=r"R^{\max}_\rho(x)=\sup_{\|v\|_2\le1}\big(\rho v^\top\nabla L(x)+\tfrac{\rho^2}2v^\top\nabla^2L(x)v"
    r"+O(\rho^3)\big),\quad R^{\mathrm{asc}}_\rho(x)=\rho\|\nabla L(x)\|_2+\tfrac{\rho^2}{2}"
    r"\tfrac{\nabla L(x)^\top\nabla^2L(x)\nabla L(x)}{\|\nabla L(x)\|_2^2}+O(\rho^3)",
    summary="The second-order Taylor expansions (4) of R^max and (5) of R^asc have O(ρ³) remainders.",
    faithful="exact",
    instances=lambda budget: point_instances(smooth_problems(max_d=4, degrees=(3, 4)), lo=-4, hi=4),
    check=make_check(),
    derive=derive,
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
