r"""ahn2024.lemma6 — Lemma 6, Appendix A.1 (after wen2023 Lemma 3.2 / Li et al. 2022 Lemma C.2).

    "Lemma 6. For any x at which Φ is defined and differentiable, we have that ∂Φ(x)∇f(x) = 0."

Checked on the Setting-1 families (`flatcheck.problems.setting1`) at points near a known minimizer:
∂Φ comes from the closed form where the family has one (diagonal networks, linear regression:
derivative of an exact formula, tolerance from float64 round-off) and from the variational
equation along the integrated flow otherwise (tolerance from the integrator's accuracy, relative
1e-6). A flow that does not converge puts the instance out of scope.
No constant is declared: the identity has no coefficient, and its 0 cannot be scaled (×2 or ÷2 of 0 is 0).
No symbolic part in the check: Φ is the limit of the gradient flow, differentiated numerically; on diagonal
networks sympy can show ∂Φ∇f = 0 from Φ's closed form, but only at 0.3–7 s per group structure (measured),
more than the whole numeric check.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from flatcheck.numeric.flatness import has_closed_phi, limit_jacobian
from flatcheck.problems import PointInstance
from flatcheck.problems.setting1 import near_minimizers, setting1_problems
from flatcheck.verify import Claim, Evidence

FLOW_RTOL = 1e-6  # relative accuracy of ∂Φ from the variational equations (rtol 1e-9, stop at ‖∇f‖ ≤ 1e-11)


def make_check(vector: Callable[[object, torch.Tensor], torch.Tensor]):
    """The check of ∂Φ(x)·vector(x) = 0 (the paper: vector = ∇f)."""

    def check(inst: PointInstance, impl, budget) -> Evidence:
        prob = inst.problem
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
    describe=PointInstance.describe,
)
