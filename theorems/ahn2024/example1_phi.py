r"""ahn2024.example1.phi — Φ of Example 1 in closed form; Definition 2 on X* (§2.2, Definitions 1–2).

    Definition 1: "Φ(x) is defined as lim_{t→∞} x(t)" for ẋ(t) = −∇f(x(t)), x(0) = x.
    Definition 2: "x is a flat local minimum if x ∈ X* and ∂Φ(x)∇tr̄(Φ(x)) = 0."   (1)
    Example 1: f = (x₁x₂ − 1)², "(1, 1) and (−1, −1) … are flat minima."

Symbolic side: s = x₁ + x₂ and δ = x₁ − x₂ obey ṡ = −2rs, δ̇ = 2rδ (r = x₁x₂ − 1), so x₁² − x₂² = sδ is
conserved and s·e^{−L}, δ·e^{L} reach x₁x₂ = 1; this gives Φ (`flatcheck.problems.setting1`). sympy
checks that the closed form lies on X*, conserves x₁² − x₂², fixes X* pointwise, and that on
X* = {(t, 1/t)} the quantity ∂Φ(x)∇tr̄(x) of (1) vanishes exactly at t = ±1 and nowhere else.
Numeric side: at sampled points off the saddle's stable line x₁ = −x₂ (where the flow ends at
(0, 0) ∉ X*: out of scope), the closed form and its Jacobian agree with the integrated flow
(`flatcheck.numeric.flow`) to the integrator's tolerance.
"""

from __future__ import annotations

import sympy as sp
import torch

from flatcheck.numeric import flow
from flatcheck.numeric.flatness import limit_jacobian
from flatcheck.problems import points
from flatcheck.problems.setting1 import diagonal_network, diagonal_phi_expr
from flatcheck.verify import Assumption, Budget, Claim, Constant, Evidence, constant

CONSTANTS = (Constant("flat_t", 1, "1 in the flat minima ±(1, 1)", "exact", text="where (1) holds on X*"),)
FLOW_TOL = 1e-6  # relative agreement the Dormand–Prince integration (rtol 1e-9) guarantees on these paths


def _square_roots_factored(e: sp.Expr) -> sp.Expr:
    """Factor under every square root: on X*, √((t² − t⁻²)² + 4) becomes √((t² + t⁻²)²) = t² + t⁻²."""
    return e.replace(lambda a: a.is_Pow and a.exp.is_Rational and a.exp.q == 2, lambda a: sp.factor(a.base) ** a.exp)


def _on_star(e: sp.Expr) -> sp.Expr:
    return sp.factor(_square_roots_factored(_square_roots_factored(e)))


def derive() -> dict[str, object]:
    prob = diagonal_network([1], [1])
    x1, x2 = prob.symbols
    t = sp.Symbol("t", positive=True)
    phi = diagonal_phi_expr(prob.symbols, [1], [sp.Integer(1)])
    grad = sp.Matrix(prob.grad_expr)
    on_star = {x1: t, x2: 1 / t}
    jac = phi.jacobian([x1, x2])
    tr_grad = sp.Matrix([sp.diff(prob.trace_bar_expr, v) for v in (x1, x2)])
    # On X* with x₁ = t > 0 (the branch x₁ = −t is the mirror image: f(−x) = f(x)).
    cond = (jac.subs(on_star) * tr_grad.subs(on_star)).applyfunc(_on_star)
    zeros = sp.solve(cond[0], t)
    return {
        "conserved_rate": sp.simplify(-(2 * x1 * grad[0] - 2 * x2 * grad[1])),
        "phi_on_X*_residual": sp.simplify(sp.radsimp(phi[0] * phi[1] - 1)),
        "phi_conserves": sp.simplify(sp.expand(phi[0] ** 2 - phi[1] ** 2 - (x1**2 - x2**2))),
        "phi_fixes_X*": (phi.subs(on_star) - sp.Matrix([t, 1 / t])).applyfunc(_on_star),
        "definition2_on_X*": cond,
        "flat_t": zeros,
    }


def _symbolic_failures(r: dict[str, object], flat_t: float = 1) -> list[str]:
    bad = [k for k in ("conserved_rate", "phi_on_X*_residual", "phi_conserves") if r[k] != 0]
    if r["phi_fixes_X*"] != sp.zeros(2, 1):
        bad.append("phi_fixes_X*")
    if r["flat_t"] != [sp.nsimplify(flat_t)]:
        bad.append(f"∂Φ∇tr̄ = 0 on X* (x₁ > 0) at t = {r['flat_t']}, not only t = {flat_t:g}")
    return bad


def check(pt: list[sp.Rational], impl: object, budget: Budget) -> Evidence:
    bad = _symbolic_failures(derive(), constant(budget, CONSTANTS, "flat_t"))
    if bad:
        return Evidence(False, {"symbolic_mismatch": bad}, note="closed form or Definition 2 fails: " + ", ".join(bad))
    prob = diagonal_network([1], [1])
    x = torch.tensor([[float(v) for v in pt]], dtype=torch.float64)
    # The Jacobian cross-check integrates d² more equations: default and thorough profiles only.
    with_jacobian = budget.scaled(False, True, True)
    jac, res = flow.dphi(prob.grad, x, hess=prob.hess) if with_jacobian else (None, flow.phi(prob.grad, x))
    if not res.all_converged:
        return Evidence(None, out_of_scope="gradient flow did not converge")
    closed = prob.known["phi"](x)
    scale = 1.0 + float(x.abs().max())
    err_phi = float((res.point - closed).abs().max()) / scale
    values = {"phi_closed": closed[0].tolist(), "phi_flow": res.point[0].tolist(), "rel_err_phi": err_phi}
    err = err_phi
    if with_jacobian:
        closed_jac, _ = limit_jacobian(prob, x)  # reverse mode through the closed form (no torch.func import)
        values["rel_err_jacobian"] = float((jac - closed_jac).abs().max()) / (1.0 + float(closed_jac.abs().max()))
        err = max(err, values["rel_err_jacobian"])
    ev = Evidence(err <= FLOW_TOL, values, margin=(FLOW_TOL - err) / FLOW_TOL)
    if not ev.holds:
        ev.note = "the closed-form Φ disagrees with the integrated gradient flow"
    return ev


CLAIM = Claim(
    id="ahn2024.example1.phi",
    paper="ahn2024",
    ref="Definitions 1–2 and Example 1, §2.2",
    kind="identity",
    statement=r"f=(x_1x_2-1)^2:\ \Phi(x)=\lim_{t\to\infty}x(t)\ \text{in closed form};\ "
    r"x\in\mathcal X^*,\ \partial\Phi(x)\nabla\bar{\mathrm{tr}}(\Phi(x))=0\iff x=\pm(1,1)",
    summary="Example 1's limit map has a closed form (x₁²−x₂² conserved); Definition 2 holds on X* exactly at ±(1,1).",
    faithful="exact",
    instances=lambda budget: points(2, -4, 4),
    check=check,
    derive=derive,
    assumptions=(
        Assumption("basin", lambda pt: pt[0] + pt[1] != 0, "x₁ + x₂ ≠ 0: the flow ends on X*, not at the saddle"),
    ),
    describe=lambda pt: {"x": [str(v) for v in pt]},
    constants=CONSTANTS,
)
