r"""ahn2024.def3 — Definition 3, §2.2: (ε, ε′)-flat local minima.

    "Definition 3 ((ε, ε′)-flat local minima). We say a point x is an (ε, ε′)-flat local minimum if
     for x* = Φ(x), it satisfies ‖x − x*‖ ≤ ε and ‖[∇(tr̄ ∘ Φ)](x*)‖ ≤ ε′.
     In other words, a (0, 0)-flat local minimum is a flat local minimum."
    (Definition 2: x ∈ X* and ∇[tr̄(Φ(x))] = ∂Φ(x)∇tr̄(Φ(x)) = 0.)

Checked on diagonal networks, whose flat minima are known in closed form (per group u_S = v_S,
‖u_S‖² = y_i: the minimizers of tr̄ = 2‖x‖²/(nd) on X*), at points x* = Φ(x) ∈ X* for sampled x:
(1) Definition 3's quantity [∇(tr̄ ∘ Φ)](x*) — autograd of the composition — equals Definition 2's
∂Φ(x*)∇tr̄(Φ(x*)) (chain rule with ∂Φ(x*) symmetric on X*) to round-off; (2) the (0, 0) case, read
with round-off tolerances, holds at x* exactly when x* is a flat minimum of the closed form, in
both directions (the instances include x with u = v, which Φ maps to flat minima).
Symbolic side (derive): the closed form that (2) compares against is derived, not assumed — the
Lagrange conditions of min ‖u_S‖² + ‖v_S‖² on u_S·v_S = y (a group of size 2) have a non-zero
solution only for λ = ±2, with kernel u_S = (λ/2)v_S, and y > 0 admits λ = 2 alone: u_S = c·v_S, c = 1.
The check reads c from derive(). The predicate at other (ε, ε′) is its definition read off (a
check of it against ‖x − Φ(x)‖ and ‖∇(tr̄∘Φ)(x*)‖ would test the definition against itself), so
it is not a separate part.
No constant is declared: a definition has none (ε, ε′ are its parameters, and (0, 0) names Definition 2).
"""

from __future__ import annotations

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.numeric.flatness import flatness, trace_bar
from flatcheck.problems import PointInstance, points
from flatcheck.problems.setting1 import diagonal_networks
from flatcheck.verify import Claim, Evidence


@st.composite
def instances(draw) -> PointInstance:
    prob = draw(diagonal_networks())
    k = prob.d // 2
    u = draw(points(k, 1, 4))
    v = u if draw(st.booleans()) else draw(points(k, 1, 4))
    return PointInstance(prob, list(u) + list(v))


def derive() -> dict[str, sp.Expr]:
    """The flat minima of a diagonal network's group, from the Lagrange conditions of
    min ‖u‖² + ‖v‖² subject to u·v = y > 0 (|S| = 2): the multipliers λ with a non-zero stationary
    (u, v), and the ratio c of the admissible one, u = c·v."""
    lam = sp.Symbol("lambda", real=True)
    u, v = sp.symbols("u1:3", real=True), sp.symbols("v1:3", real=True)
    objective = sum(a**2 + b**2 for a, b in zip(u, v))
    constraint = sum(a * b for a, b in zip(u, v))
    lagrangian = objective - lam * constraint
    # ∇L = M(λ)·(u, v) is linear: a non-zero stationary point needs det M(λ) = 0.
    m = sp.hessian(lagrangian, u + v)
    roots = sp.solve(m.det(), lam)
    ratios = set()
    for root in roots:
        for kernel in m.subs(lam, root).nullspace():
            uk, vk = kernel[:2, 0], kernel[2:, 0]
            # On the kernel u = c·v, so u·v = c‖v‖² = y: admissible only where it is positive.
            if (uk.T * vk)[0].is_positive:
                ratios.add(sp.simplify((uk.T * vk)[0] / (vk.T * vk)[0]))
    (ratio,) = ratios
    return {"multipliers": sp.FiniteSet(*roots), "ratio_u_over_v": ratio}


def is_flat_minimum(prob, x: torch.Tensor, tol: float) -> bool:
    """The family's closed-form flat minima (derive()): per group u_S = c·v_S, c = 1 (then ‖u_S‖² = y_i on X*)."""
    k = prob.d // 2
    c = float(derive()["ratio_u_over_v"])
    return bool((x[..., :k] - c * x[..., k:]).abs().max() <= tol)


def check(inst: PointInstance, impl, budget) -> Evidence:
    prob = inst.problem
    x = inst.x_tensor()[None]
    fl_x = flatness(prob, x)
    star = fl_x.phi
    fl = flatness(prob, star)
    with torch.enable_grad():
        s = star.detach().requires_grad_(True)
        (composite,) = torch.autograd.grad(trace_bar(prob, prob.known["phi"](s)).sum(), s)
    eps = torch.finfo(torch.float64).eps
    tol = 1e4 * eps * (1 + float(x.abs().max()) ** 2)
    chain_err = float((composite - fl.manifold).abs().max())
    flat_closed = is_flat_minimum(prob, star, 1e3 * tol)
    flat_def3 = bool(fl.is_flat(tol, tol)[0])
    dist, mg = float(fl_x.dist[0]), float(fl.manifold_norm[0])
    values = {
        "chain_rule_error": chain_err,
        "flat_closed_form": flat_closed,
        "flat_(0,0)": flat_def3,
        "dist": dist,
        "manifold_gradient_at_x*": mg,
    }
    bad = []
    if chain_err > tol * (1 + mg):
        bad.append("∇(tr̄∘Φ)(x*) ≠ ∂Φ(x*)∇tr̄(Φ(x*))")
    # Near-ties are not findings: within 10³ tolerances of the closed form ∇(tr̄∘Φ) may round to 0
    # (flat to round-off), and a point 10⁶ tolerances away cannot be.
    if flat_closed != flat_def3 and (mg > 1e3 * tol or flat_closed or not is_flat_minimum(prob, star, 1e6 * tol)):
        bad.append("(0,0)-flat ≠ flat minimum")
    return Evidence(not bad, values, note="; ".join(bad), margin=1.0 if not bad else -1.0)


CLAIM = Claim(
    id="ahn2024.def3",
    paper="ahn2024",
    ref="Definition 3 (and Definition 2), §2.2",
    kind="identity",
    statement=r"x\ (\epsilon,\epsilon')\text{-flat}\iff\|x-\Phi(x)\|\le\epsilon,\ "
    r"\|[\nabla(\bar{\mathrm{tr}}\circ\Phi)](\Phi(x))\|\le\epsilon';\ (0,0)\text{-flat}\iff\text{flat (Def. 2)}",
    summary="The (ε,ε′)-flat predicate; at (0,0) it singles out exactly the flat minima of Definition 2.",
    faithful=("restricted", "diagonal networks only: the only family whose flat minima are known in closed form"),
    instances=lambda budget: instances(),
    check=check,
    derive=derive,
    describe=PointInstance.describe,
)
