"""The six inequalities of ahn2024 Lemma 5 at a point near X*: distance to Φ(x), loss gap and
gradient norm, with the PL constant α and the smoothness β they are stated with.

Shared by `ahn2024.lemma5` (the first inequality as printed) and `ahn2024.lemma5.corrected` (as
its proof in D.2 derives it); the first inequality's right-hand side is the caller's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from flatcheck.numeric import flow
from flatcheck.numeric.flatness import pl_constant
from flatcheck.verify import Budget, Constant, constant

FIRST = "dist<=sqrt(2/a*sqrt(gap))"
RAY = (1, 4, 16)  # multiples of x − x* searched by `worst_on_ray`
# The constants of inequalities two to six, shared by both claims; the first one's are each claim's.
OTHERS = (
    Constant("c_gap_dist", 2.0, "2 in β/√(2α)", "larger", text="√gap ≤ β/√(2α)·‖x − Φ(x)‖"),
    Constant("c_dist_grad", 1.0, "1 in (1/α)‖∇f‖", "smaller", text="‖x − Φ(x)‖ ≤ (1/α)‖∇f‖"),
    Constant("c_grad_dist", 1.0, "1 in β‖x − Φ(x)‖", "smaller", text="‖∇f‖ ≤ β‖x − Φ(x)‖"),
    Constant("c_gap_grad", 2.0, "2 in 1/√(2α)", "larger", text="√gap ≤ ‖∇f‖/√(2α)"),
    Constant("c_grad_gap", 2.0, "2 in √(2β²/α)", "smaller", text="‖∇f‖ ≤ √(2β²/α)·√gap"),
)


def lemma5_bounds(
    problem: Any, x: torch.Tensor, first_rhs: Callable[[float, float], float], budget: Budget | None = None
) -> dict[str, Any]:
    """The six inequalities at x (shape (1, d)), the first one's right-hand side being
    first_rhs(gap, α), the others' constants read from `budget` (`OTHERS`), as the fields of the
    claim's Evidence: holds and margin (in tolerances) of the tightest one, its values, a note when
    it fails; or out_of_scope with the reason.

    α: the PL constant where the proof uses it — along the gradient flow from x to Φ(x) — taken as
    the largest valid one over the integrated path (any admissible α is smaller, and every
    right-hand side grows as α shrinks). β: the family's certified bound of ‖∇²f‖ on a ball holding
    the whole path."""
    path, res = flow.trajectory(problem.grad, x)
    if not res.all_converged:
        return {"holds": None, "out_of_scope": "gradient flow did not converge (Φ undefined)"}
    phi = res.point
    f_star = problem.f(phi)[0]
    gap = float(problem.f(x)[0] - f_star)
    alpha = float(pl_constant(problem, path[:, 0], f_star))
    reach = float(torch.linalg.vector_norm(path[:, 0] - x, dim=-1).max())
    beta = problem.beta_on_ball(x[0], reach)
    dist = float(torch.linalg.vector_norm(x - phi))
    gn = float(torch.linalg.vector_norm(problem.grad(x)))
    if not math.isfinite(alpha) or gap <= 0:
        return {"holds": None, "out_of_scope": "x is already a minimizer (f(x) = f(Φ(x)))"}
    sq = math.sqrt(gap)
    c = {k.name: constant(budget, OTHERS, k.name) if budget else k.value for k in OTHERS}
    pairs = {
        FIRST: (dist, first_rhs(gap, alpha)),
        "sqrt(gap)<=b/sqrt(2a)*dist": (sq, beta / math.sqrt(c["c_gap_dist"] * alpha) * dist),
        "dist<=grad/a": (dist, c["c_dist_grad"] * gn / alpha),
        "grad<=b*dist": (gn, c["c_grad_dist"] * beta * dist),
        "sqrt(gap)<=grad/sqrt(2a)": (sq, gn / math.sqrt(c["c_gap_grad"] * alpha)),
        "grad<=sqrt(2b^2/a)*sqrt(gap)": (gn, math.sqrt(c["c_grad_gap"] * beta**2 / alpha) * sq),
    }
    # Round-off: Φ is accurate to the integrator's tolerance (relative 1e-6 on these paths),
    # α is a ratio of float64 quantities of size gap.
    tol = 1e-6 * (1 + dist + gn + sq)
    worst = min(pairs, key=lambda k: (pairs[k][1] - pairs[k][0]) / tol)
    lhs, rhs = pairs[worst]
    slack = rhs - lhs
    values = {
        "lhs": lhs,
        "rhs": rhs,
        "slack": slack,
        "tolerance": tol,
        "inequality": worst,
        "alpha": alpha,
        "beta": beta,
        "gap": gap,
        "dist": dist,
        "grad": gn,
        "all": {k: {"lhs": a, "rhs": b} for k, (a, b) in pairs.items()},
        # The tightest of the six (lhs/rhs, 1 tight): what the search is steered toward.
        "tightness": max(a / b if b > 0 else (math.inf if a > 0 else 0.0) for a, b in pairs.values()),
    }
    # Ties within round-off count as holding.
    holds = slack >= -tol
    return {
        "holds": holds,
        "values": values,
        "margin": slack / tol,
        "note": "" if holds else f"{worst}: {lhs:.6g} > {rhs:.6g}",
    }


def worst_on_ray(
    problem: Any, x: torch.Tensor, first_rhs: Callable[[float, float], float], budget: Budget
) -> dict[str, Any]:
    """`lemma5_bounds` at x* + s(x − x*) for s ∈ RAY (x* the family's known minimizer), the point
    closest to failing among those in scope: a search along the instance's own direction, where the
    loss gap grows as s² and the printed first bound only as s^{1/2} (its tight regime)."""
    star = torch.tensor([float(v) for v in problem.known["x_star"]], dtype=x.dtype)
    points = [star + s * (x - star) for s in RAY]
    results = [(s, p, lemma5_bounds(problem, p, first_rhs, budget)) for s, p in zip(RAY, points)]
    scoped = [t for t in results if t[2]["holds"] is not None]
    if not scoped:
        return results[0][2]
    s, p, worst = min(scoped, key=lambda t: t[2]["margin"])
    worst["values"].update(ray_scale=s, point=p[0].tolist())
    return worst
