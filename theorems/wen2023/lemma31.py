r"""wen2023.lemma31 — the SAM drift on Γ is the projected gradient of λ₁, Lemma 31 (third line), App. D.2.

    "Lemma 31 For x ∈ K^h, we have […]
     ∂Φ(x)∂²(∇L)(x)[v₁, v₁] = P^⊥_{X̄,Γ} ∇(λ₁(∇²(L(x)))),  x ∈ Γ."

The printed projection "P^⊥" is not defined in the paper (§2 defines P_{x,Γ}, the projection onto
the normal space, and P^⊤_{x,Γ} = I − P_{x,Γ}, onto the tangent space). The lemma is used in (12)
with ∂Φ = P^⊤ (Lemma 20), and with the normal projection it would be false (the left side is
tangent); flatcheck encodes the tangent projection P^⊤ (as CLAIMS.md states the claim), and the
test suite checks that the normal-projection reading is falsified. v₁ = v₁(∇²L(x)), with the
eigengap of Assumption 7 at x.

Instances: manifold losses L = ½Σ_k w_k(u)(y_k − h_k(u))² at exact points of the curved Γ. Left side:
∂Φ(x) by central differences of the gradient-flow limit map at steps h, h/2 (`limit_map_jacobian`),
times ∂²(∇L)(x)[v₁, v₁] = ∇_x(v₁ᵀ∇²L(x)v₁) (autograd of sympy's exact Hessian). Right side: the
exact tangent projection times ∇λ₁(∇²L(x)) by autograd through the symmetric eigensolver.
Decision rule: the difference must be within 4× (step-halving error of ∂Φ + flow tolerance/h)
times ‖∂²(∇L)[v₁, v₁]‖, plus float64 round-off.
No derive(): Φ has no closed form on these families; the exact side (∇²L and the tangent projection) is
computed per instance, and there is no generic closed form beyond it.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from flatcheck.numeric.riemannian import eigen, grad_top_eigenvalue, third_contraction
from flatcheck.problems.quadratic_manifolds import describe_point, manifold_points
from flatcheck.verify import Assumption, Claim, Constant, Evidence, constant

from ._limit_map import FLOW_TOL, STEP, limit_map_jacobian_at, point, tangent

CONSTANTS = (Constant("c_rhs", 1.0, "1 in 1·P^⊤∇λ₁(∇²L(x))", "exact", text="the drift's coefficient"),)


def relative_gap(inst: dict) -> float:
    e = eigen(inst["problem"].hess(point(inst)))
    return float(e.gap / e.values[0])


def make_check(projection=tangent):
    def check(inst: dict, impl, budget) -> Evidence:
        prob = inst["problem"]
        at = limit_map_jacobian_at(inst)
        if at is None:
            return Evidence(None, out_of_scope="gradient flow near x did not converge")
        x, jac, err = at
        v1 = eigen(prob.hess(x)).top
        third = third_contraction(prob, x, v1)
        lhs = jac @ third
        rhs = constant(budget, CONSTANTS, "c_rhs") * projection(inst) @ grad_top_eigenvalue(prob, x)
        scale = float(torch.linalg.vector_norm(third))
        tol = 4 * (err + 10 * FLOW_TOL / STEP) * scale + 1e3 * torch.finfo(torch.float64).eps * (1 + scale)
        diff = float((lhs - rhs).abs().max())
        values = {
            "lhs_dPhi_third_v1v1": lhs.tolist(),
            "rhs_P_grad_lambda1": rhs.tolist(),
            "max_abs_difference": diff,
            "tolerance": tol,
            "relative_eigengap": relative_gap(inst),
        }
        holds = diff <= tol
        note = "" if holds else "∂Φ∂²(∇L)[v₁, v₁] differs from P^⊤∇λ₁ on Γ"
        return Evidence(holds, values, margin=(tol - diff) / tol, note=note)

    return check


CLAIM = Claim(
    id="wen2023.lemma31",
    paper="wen2023",
    ref="Lemma 31 (third identity), App. D.2; used in (12)",
    kind="identity",
    statement=r"x\in\Gamma:\ \partial\Phi(x)\,\partial^2(\nabla L)(x)[v_1,v_1]="
    r"P^\top_{x,\Gamma}\nabla\lambda_1(\nabla^2L(x))\quad(\text{printed }P^\perp_{\bar X,\Gamma})",
    summary="On Γ, ∂Φ applied to ∂²(∇L)[v₁, v₁] is the tangent projection of ∇λ₁(∇²L).",
    faithful=(
        "corrected",
        "the undefined printed projection P^⊥ read as the tangent projection P^⊤ (the normal one makes it false)",
    ),
    instances=lambda budget: manifold_points(p=budget.scaled(st.just(1), st.integers(1, 2), st.integers(1, 2))),
    check=make_check(),
    assumptions=(Assumption("eigengap", lambda inst: relative_gap(inst) > 1e-6, "λ₁(∇²L(x)) > λ₂ (Assumption 7)"),),
    describe=describe_point,
    constants=CONSTANTS,
)
