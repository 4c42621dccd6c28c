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
certified bound of ‖∇²f‖ on a ball holding the whole path. Points x = x* + r·w near a known
minimizer x* of Setting-1 families. Ties within round-off count as holding.
"""

from __future__ import annotations

import math

import torch

from flatcheck.numeric import flow
from flatcheck.numeric.flatness import pl_constant
from flatcheck.problems import PointInstance
from flatcheck.problems.setting1 import near_minimizers, setting1_problems
from flatcheck.verify import Claim, Evidence


def make_check(first_bound):
    """The check of the six inequalities; first_bound(gap, alpha) is the right-hand side of the
    first one (the paper as printed: √((2/α)√gap))."""

    def check(inst: PointInstance, impl, budget) -> Evidence:
        prob = inst.problem
        x = inst.x_tensor()[None]
        path, res = flow.trajectory(prob.grad, x)
        if not res.all_converged:
            return Evidence(None, out_of_scope="gradient flow did not converge (Φ undefined)")
        phi = res.point
        f_star = prob.f(phi)[0]
        gap = float(prob.f(x)[0] - f_star)
        alpha = float(pl_constant(prob, path[:, 0], f_star))
        reach = float(torch.linalg.vector_norm(path[:, 0] - x, dim=-1).max())
        beta = prob.beta_on_ball(x[0], reach)
        dist = float(torch.linalg.vector_norm(x - phi))
        gn = float(torch.linalg.vector_norm(prob.grad(x)))
        if not math.isfinite(alpha) or gap <= 0:
            return Evidence(None, out_of_scope="x is already a minimizer (f(x) = f(Φ(x)))")
        sq = math.sqrt(gap)
        pairs = {
            "dist<=sqrt(2/a*sqrt(gap))": (dist, first_bound(gap, alpha)),
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
        ev = Evidence.bound(lhs, rhs, tol, inequality=worst, alpha=alpha, beta=beta, gap=gap, dist=dist, grad=gn)
        ev.values["all"] = {k: {"lhs": a, "rhs": b} for k, (a, b) in pairs.items()}
        if not ev.holds:
            ev.note = f"{worst}: {lhs:.6g} > {rhs:.6g}"
        return ev

    return check


CLAIM = Claim(
    id="ahn2024.lemma5",
    paper="ahn2024",
    ref="Lemma 5, Appendix A.1 (proof: D.2)",
    kind="bound",
    statement=r"\|x-\Phi(x)\|\le\sqrt{\tfrac2\alpha\sqrt{f(x)-f(\Phi(x))}},\ "
    r"\sqrt{f(x)-f(\Phi(x))}\le\tfrac{\beta}{\sqrt{2\alpha}}\|x-\Phi(x)\|,\ "
    r"\|x-\Phi(x)\|\le\tfrac1\alpha\|\nabla f(x)\|,\ \|\nabla f(x)\|\le\beta\|x-\Phi(x)\|,\ "
    r"\sqrt{f(x)-f(\Phi(x))}\le\tfrac{1}{\sqrt{2\alpha}}\|\nabla f(x)\|,\ "
    r"\|\nabla f(x)\|\le\sqrt{2\beta^2/\alpha}\sqrt{f(x)-f(\Phi(x))}",
    summary="Distance to Φ(x), loss gap and gradient norm bound each other with the PL and smoothness constants.",
    instances=lambda budget: near_minimizers(setting1_problems()),
    check=make_check(lambda gap, alpha: math.sqrt(2 / alpha * math.sqrt(gap))),
    describe=PointInstance.describe,
)
