r"""wen2023.lemma20 — ∂Φ on the manifold is the tangent projection, Lemma 20, App. C.1.

    "Lemma 20 For x ∈ Γ, ∂Φ(x) = P^⊤_{x,Γ}, ∂Φ(x)∇²L(x) = 0, where P^⊤_{x,Γ} is the orthogonal
     projection matrix of the tangent space of Γ at x."

Instances: manifold losses L = ½Σ_k w_k(u)(y_k − h_k(u))² at exact rational points (u, h(u)) of the
curved manifold Γ = {y = h(u)} (Assumption 1 holds with rank M). P^⊤ is exact (sympy):
I − Jᵀ(JJᵀ)⁻¹J with J the constraint Jacobian, T_xΓ = ker J. ∂Φ(x) is the central difference of the
gradient-flow limit map Φ (`flatcheck.numeric.flow.phi`) along each axis at steps h and h/2
(`limit_map_jacobian`). Decision rule: max|∂Φ − P^⊤| and max|∂Φ∇²L| (scaled by ‖∇²L‖) must be
within 4× the step-halving error estimate plus the flow tolerance over h.
No derive(): Φ has no closed form on these families; the exact side, P^⊤ = I − Jᵀ(JJᵀ)⁻¹J and ∇²L, is computed
by sympy per instance, and there is no generic closed form beyond it.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from flatcheck.problems.quadratic_manifolds import describe_point, manifold_points
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._limit_map import FLOW_TOL, STEP, limit_map_jacobian_at, tangent

CONSTANTS = (Constant("c_proj", 1.0, "1 in ∂Φ(x) = 1·P^⊤_{x,Γ}", "exact", text="∂Φ is the projection itself"),)


def make_check(predicted=tangent):
    """Compare ∂Φ(x) with predicted(inst) (the lemma: the tangent projection P^⊤)."""

    def check(inst: dict, impl, budget) -> Evidence:
        at = limit_map_jacobian_at(inst)
        if at is None:
            return Evidence(None, out_of_scope="gradient flow near x did not converge")
        x, jac, err = at
        hess = inst["problem"].hess(x)
        hn = float(torch.linalg.matrix_norm(hess, ord=2))
        tol = 4 * err + 10 * FLOW_TOL / STEP
        r1 = float((jac - constant(budget, CONSTANTS, "c_proj") * predicted(inst)).abs().max())
        r2 = float((jac @ hess).abs().max()) / hn
        worst = max(r1, r2)
        values = {"max_abs_dPhi_minus_P": r1, "max_abs_dPhi_H_over_norm_H": r2, "tolerance": tol, "norm_H": hn}
        holds = worst <= tol
        note = "" if holds else "∂Φ(x) differs from the tangent projection P^⊤ (or ∂Φ∇²L ≠ 0) on Γ"
        return Evidence(holds, values, margin=(tol - worst) / tol, note=note)

    return check


CLAIM = Claim(
    id="wen2023.lemma20",
    paper="wen2023",
    ref="Lemma 20, App. C.1",
    kind="identity",
    statement=r"x\in\Gamma:\ \partial\Phi(x)=P^\top_{x,\Gamma},\quad \partial\Phi(x)\nabla^2L(x)=0",
    summary="On Γ the Jacobian of the gradient-flow limit map is the tangent projection, and it kills ∇²L.",
    faithful="exact",
    instances=lambda budget: manifold_points(p=budget.scaled(st.just(1), st.integers(1, 2), st.integers(1, 2))),
    check=make_check(),
    describe=describe_point,
    constants=CONSTANTS,
)
