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

FIRST = "dist<=sqrt(2/a*sqrt(gap))"


def lemma5_bounds(problem: Any, x: torch.Tensor, first_rhs: Callable[[float, float], float]) -> dict[str, Any]:
    """The six inequalities at x (shape (1, d)), the first one's right-hand side being
    first_rhs(gap, α), as the fields of the claim's Evidence: holds and margin (in tolerances) of
    the tightest one, its values, a note when it fails; or out_of_scope with the reason.

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
    pairs = {
        FIRST: (dist, first_rhs(gap, alpha)),
        "sqrt(gap)<=b/sqrt(2a)*dist": (sq, beta / math.sqrt(2 * alpha) * dist),
        "dist<=grad/a": (dist, gn / alpha),
        "grad<=b*dist": (gn, beta * dist),
        "sqrt(gap)<=grad/sqrt(2a)": (sq, gn / math.sqrt(2 * alpha)),
        "grad<=sqrt(2b^2/a)*sqrt(gap)": (gn, math.sqrt(2 * beta**2 / alpha) * sq),
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
    }
    # Ties within round-off count as holding.
    holds = slack >= -tol
    return {
        "holds": holds,
        "values": values,
        "margin": slack / tol,
        "note": "" if holds else f"{worst}: {lhs:.6g} > {rhs:.6g}",
    }
