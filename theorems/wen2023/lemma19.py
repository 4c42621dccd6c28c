r"""wen2023.lemma19 — derivatives of Φ along the gradient, Lemma 19, App. C.1 (Lemma B.16 of [2]; Lemma 31).

    "Lemma 19 (Lemma B.16 [2]) For x ∈ U, ∂Φ(x)∇L(x) = 0,
     ∂Φ(x)∇²L(x)∇L(x) = −∂²Φ(x)[∇L(x), ∇L(x)]."
    (Φ is the limit map of gradient flow, U = {x : Φ(x) exists and Φ(x) ∈ Γ}, §2.)

Instances: manifold losses L = ½Σ_k w_k(u)(y_k − h_k(u))² (curved Γ = {y = h(u)}, rank M, Assumption
1) at rational points within 1/4 per coordinate of Γ. Φ comes from the batched gradient flow
(`flatcheck.numeric.flow.phi`, converged to ‖∇L‖ ≤ 1e-10; an unconverged flow means x ∉ U: out of
scope); its first and second directional derivatives (H = ∇²L(x))
are central differences of Φ at steps h and h/2 (`phi_differences`) along ĝ and Hĝ. Divided by ‖∇L‖ the
identities read ∂Φĝ = 0 and ∂ΦHĝ = −‖∇L‖∂²Φ[ĝ, ĝ] with ĝ = ∇L/‖∇L‖. Decision rule: each residual must
be within 4× the step-halving error estimate of the differences plus the flow's tolerance over h².
No symbolic part: Φ is the limit of the gradient flow, which has no closed form on these curved manifolds; the
identities are about its numeric derivatives.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from flatcheck.numeric.riemannian import phi_differences
from flatcheck.problems.quadratic_manifolds import describe_point, manifold_points
from flatcheck.verify import Claim, Constant, Evidence, constant

STEP = 4e-3
FLOW_TOL = 1e-10
CONSTANTS = (Constant("sign", -1.0, "−1 in −∂²Φ(x)[∇L, ∇L]", "exact", text="the second identity's coefficient"),)


def make_check(sign: float):
    """Residuals of ∂Φ g = 0 and ∂ΦHg = sign·∂²Φ[g, g] (the lemma: sign −1)."""

    def check(inst: dict, impl, budget) -> Evidence:
        prob = inst["problem"]
        c = constant(budget, {"sign": sign}, "sign")
        x = torch.tensor([float(v) for v in inst["x"]], dtype=torch.float64)
        g = prob.grad(x)
        gn = float(torch.linalg.vector_norm(g))
        if gn == 0:
            return Evidence(None, out_of_scope="x is a critical point (on Γ): both sides vanish trivially")
        u = g / gn
        first, second, err, ok = phi_differences(prob, x, torch.stack([u, prob.hess(x) @ u]), STEP, FLOW_TOL)
        if not ok:
            return Evidence(None, out_of_scope="gradient flow from near x did not converge (x ∉ U)")
        r1 = float(torch.linalg.vector_norm(first[0]))
        r2 = float(torch.linalg.vector_norm(first[1] - c * gn * second[0]))
        tol = 4 * err + 10 * FLOW_TOL / STEP**2
        values = {
            "grad_norm": gn,
            "dPhi_grad_unit": r1,
            "dPhi_H_grad_plus_d2Phi_unit": r2,
            "d2Phi_grad_grad_unit_norm": float(torch.linalg.vector_norm(second[0])),
            "tolerance": tol,
        }
        worst = max(r1, r2)
        ok_ = worst <= tol
        note = "" if ok_ else "∂Φ∇L ≠ 0 or ∂Φ∇²L∇L ≠ −∂²Φ[∇L, ∇L] beyond the differencing error"
        return Evidence(ok_, values, margin=(tol - worst) / tol, note=note)

    return check


CLAIM = Claim(
    id="wen2023.lemma19",
    paper="wen2023",
    ref="Lemma 19, App. C.1 (Lemma B.16 of Arora et al. [2]; restated in Lemma 31, App. D.2)",
    kind="identity",
    statement=r"x\in U:\ \partial\Phi(x)\nabla L(x)=0,\quad \partial\Phi(x)\nabla^2L(x)\nabla L(x)"
    r"=-\partial^2\Phi(x)[\nabla L(x),\nabla L(x)]",
    summary="Φ is constant along gradient-flow lines: ∂Φ∇L = 0 and ∂Φ∇²L∇L = −∂²Φ[∇L, ∇L] on U.",
    faithful="exact",
    instances=lambda budget: manifold_points(
        offset=True, p=budget.scaled(st.just(1), st.integers(1, 2), st.integers(1, 2))
    ),
    check=make_check(-1.0),
    describe=describe_point,
    constants=CONSTANTS,
)
