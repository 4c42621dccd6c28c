r"""ahn2024.def3 — Definition 3, §2.2: (ε, ε′)-flat local minima.

    "Definition 3 ((ε, ε′)-flat local minima). We say a point x is an (ε, ε′)-flat local minimum if
     for x* = Φ(x), it satisfies ‖x − x*‖ ≤ ε and ‖[∇(tr̄ ∘ Φ)](x*)‖ ≤ ε′.
     In other words, a (0, 0)-flat local minimum is a flat local minimum."
    (Definition 2: x ∈ X* and ∇[tr̄(Φ(x))] = ∂Φ(x)∇tr̄(Φ(x)) = 0.)

Checked on diagonal networks, whose flat minima are known in closed form (per group u_S = v_S,
‖u_S‖² = y_i: the minimizers of tr̄ = 2‖x‖²/(nd) on X*), at points x* = Φ(x) ∈ X* for sampled x:
(1) Definition 3's quantity [∇(tr̄ ∘ Φ)](x*) — autograd of the composition — equals Definition 2's
∂Φ(x*)∇tr̄(Φ(x*)) (chain rule with ∂Φ(x*) symmetric on X*) to round-off; (2) the (0, 0) case, read
with round-off tolerances, holds at x* exactly when x* is a flat minimum of the closed form (the
instances include x with u = v, which Φ maps to flat minima); (3) at the sampled x off X*, the
predicate fails for ε < ‖x − Φ(x)‖ and holds for ε ≥ ‖x − Φ(x)‖, ε′ ≥ ‖∇(tr̄∘Φ)(x*)‖.
No constant is declared: a definition has none (ε, ε′ are its parameters, swept by (3), and (0, 0) names Definition 2).
"""

from __future__ import annotations

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


def is_flat_minimum(prob, x: torch.Tensor, tol: float) -> bool:
    """The family's closed-form flat minima: per group u_S = v_S (then ‖u_S‖² = y_i on X*)."""
    k = prob.d // 2
    return bool((x[..., :k] - x[..., k:]).abs().max() <= tol)


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
    if flat_closed != flat_def3 and (mg > 1e3 * tol or flat_closed):
        bad.append("(0,0)-flat ≠ flat minimum")
    if dist > tol and bool(fl_x.is_flat(dist / 2, float("inf"))[0]):
        bad.append("(ε, ·)-flat with ε < ‖x − Φ(x)‖")
    if not bool(fl_x.is_flat(dist + tol, float(fl_x.manifold_norm[0]) + tol)[0]):
        bad.append("not (‖x−Φ(x)‖, ‖∇(tr̄∘Φ)‖)-flat")
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
    describe=PointInstance.describe,
)
