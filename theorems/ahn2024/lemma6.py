r"""ahn2024.lemma6 — Lemma 6, Appendix A.1 (after wen2023 Lemma 3.2 / Li et al. 2022 Lemma C.2).

    "Lemma 6. For any x at which Φ is defined and differentiable, we have that ∂Φ(x)∇f(x) = 0."

Checked on the Setting-1 families (`flatcheck.problems.setting1`) at points near a known minimizer:
∂Φ comes from the closed form where the family has one (diagonal networks, linear regression:
derivative of an exact formula, tolerance from float64 round-off) and from the variational
equation along the integrated flow otherwise (tolerance from the integrator's accuracy, relative
1e-6). A flow that does not converge puts the instance out of scope.
No constant is declared: the identity has no coefficient, and its 0 cannot be scaled (×2 or ÷2 of 0 is 0).
Symbolic side: derive() shows why the identity holds on the two closed-form families, without
differentiating Φ (which costs sympy 0.3–7 s per group structure). Diagonal networks, a group of two
coordinates and any loss ℓ: in s = u + v, δ = u − v the flow is ṡ = −ℓ′·s, δ̇ = ℓ′·δ (`flow_off_orbit`,
0), tangent to the orbits (s, δ) ↦ (λs, δ/λ), and the closed form of Φ (`setting1.diagonal_phi_expr`) is
constant on them (`orbit_invariance`, 0): so ∂Φ∇f = ℓ′·∂_λΦ(λs, δ/λ)|_{λ=1} = 0. Linear regression:
∂Φ = I − A⁺A kills ∇f = (2/n)Aᵀ(Ax − y) since A⁺AAᵀ = Aᵀ (`projection_residual`, for a generic
2 × 3 A, times det AAᵀ to stay polynomial). The check reads these: a non-zero one falsifies the claim
on that family's instances before any number is computed; the numbers then test the closed forms and
the integrated flows at the instance.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch

from flatcheck.numeric.flatness import has_closed_phi, limit_jacobian
from flatcheck.problems import PointInstance
from flatcheck.problems.setting1 import diagonal_phi_expr, near_minimizers, setting1_problems
from flatcheck.verify import Claim, Evidence

FLOW_RTOL = 1e-6  # relative accuracy of ∂Φ from the variational equations (rtol 1e-9, stop at ‖∇f‖ ≤ 1e-11)
# Which derived identity explains each closed-form family's ∂Φ∇f = 0.
MECHANISM = {"diagonal_network": ("orbit_invariance", "flow_off_orbit"), "linear_regression": ("projection_residual",)}


def derive() -> dict[str, list[sp.Expr]]:
    """The closed-form families' reasons for ∂Φ∇f = 0 (see the module docstring); every entry is 0."""
    lam, y = sp.symbols("lambda y", positive=True)
    u, v = sp.symbols("u1:3", real=True), sp.symbols("v1:3", real=True)
    s, dl = sp.symbols("s1:3", real=True), sp.symbols("delta1:3", real=True)

    def phi(s_, d_):  # Φ's closed form at u = (s + δ)/2, v = (s − δ)/2
        return diagonal_phi_expr(
            tuple((p + q) / 2 for p, q in zip(s_, d_)) + tuple((p - q) / 2 for p, q in zip(s_, d_)), [2], [y]
        )

    moved = phi([lam * c for c in s], [c / lam for c in dl]) - phi(s, dl)
    invariance = [sp.ratsimp(sp.expand(e)) for e in moved]
    loss = sp.Function("ell")(u[0] * v[0] + u[1] * v[1])
    grad_u, grad_v = [sp.diff(loss, c) for c in u], [sp.diff(loss, c) for c in v]
    slope = sp.Derivative(loss.func(sp.Symbol("p")), sp.Symbol("p")).subs(sp.Symbol("p"), loss.args[0])
    velocity = [-(gu + gv) + slope * (a + b) for gu, gv, a, b in zip(grad_u, grad_v, u, v)]
    velocity += [-(gu - gv) - slope * (a - b) for gu, gv, a, b in zip(grad_u, grad_v, u, v)]
    a = sp.Matrix(2, 3, sp.symbols("a1:7", real=True))
    gram = a * a.T
    residual = gram.det() * a.T - a.T * gram.adjugate() * a * a.T
    return {
        "orbit_invariance": invariance,
        "flow_off_orbit": [sp.expand(e.doit()) for e in velocity],
        "projection_residual": [sp.expand(e) for e in residual],
    }


def make_check(vector: Callable[[object, torch.Tensor], torch.Tensor]):
    """The check of ∂Φ(x)·vector(x) = 0 (the paper: vector = ∇f)."""

    def check(inst: PointInstance, impl, budget) -> Evidence:
        prob = inst.problem
        derived = derive()
        bad = [k for k in MECHANISM.get(prob.family, ()) if any(e != 0 for e in derived[k])]
        if bad:
            return Evidence(
                False,
                {k: [str(e) for e in derived[k]] for k in bad},
                note=f"the reason ∂Φ∇f = 0 on {prob.family} fails: {', '.join(bad)} ≠ 0",
            )
        x = torch.tensor([[float(v) for v in inst.x]], dtype=torch.float64)
        jac, ok = limit_jacobian(prob, x)
        if not bool(ok.all()):
            return Evidence(None, out_of_scope="gradient flow did not converge (Φ undefined here)")
        w = vector(prob, x)
        lhs = float(torch.linalg.vector_norm(torch.einsum("bij,bj->bi", jac, w)))
        scale = float(torch.linalg.matrix_norm(jac, ord=2).max()) * float(torch.linalg.vector_norm(w))
        rel = 1e3 * torch.finfo(torch.float64).eps if has_closed_phi(prob) else FLOW_RTOL
        tol = rel * (scale + float(x.abs().max()) + 1.0)
        ev = Evidence.bound(
            lhs, 0.0, tol, grad_norm=float(torch.linalg.vector_norm(w)), closed_form=has_closed_phi(prob)
        )
        if not ev.holds:
            ev.note = f"‖∂Φ(x)∇f(x)‖ = {lhs:.3g} is not 0"
        return ev

    return check


CLAIM = Claim(
    id="ahn2024.lemma6",
    paper="ahn2024",
    ref="Lemma 6, Appendix A.1",
    kind="identity",
    statement=r"\partial\Phi(x)\nabla f(x)=0\ \text{wherever }\Phi\text{ is defined and differentiable}",
    summary="The limit map's Jacobian annihilates the gradient.",
    faithful="exact",
    instances=lambda budget: near_minimizers(setting1_problems()),
    check=make_check(lambda prob, x: prob.grad(x)),
    derive=derive,
    describe=PointInstance.describe,
)
