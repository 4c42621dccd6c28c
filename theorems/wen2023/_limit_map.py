"""∂Φ at exact points of a curved Γ (`flatcheck.problems.quadratic_manifolds.manifold_points`
instances: {"problem", "x" rational}), shared by wen2023's Lemma 20 and Lemma 31 claims: the
Jacobian of the gradient-flow limit map by central differences at steps h, h/2
(`limit_map_jacobian`), and the exact tangent projection P^⊤_{x,Γ} it is compared with."""

from __future__ import annotations

import torch

from flatcheck.numeric.riemannian import limit_map_jacobian
from flatcheck.problems.quadratic_manifolds import tangent_projection_exact_tensor

# The difference step h, and the tolerance ‖∇L‖ ≤ FLOW_TOL the flow is converged to (`phi_differences`'s
# default): an error of FLOW_TOL in Φ becomes FLOW_TOL/h in ∂Φ.
STEP, FLOW_TOL = 1e-3, 1e-10


def point(inst: dict) -> torch.Tensor:
    """The instance's point x in float64."""
    return torch.tensor([float(v) for v in inst["x"]], dtype=torch.float64)


def tangent(inst: dict) -> torch.Tensor:
    """P^⊤_{x,Γ}, exact (sympy) then rounded to float64."""
    return tangent_projection_exact_tensor(inst["problem"], inst["x"])


def limit_map_jacobian_at(inst: dict) -> tuple[torch.Tensor, torch.Tensor, float] | None:
    """(x, ∂Φ(x), the step-halving error estimate of ∂Φ), or None where the gradient flow near x did not
    converge."""
    x = point(inst)
    jac, err, ok = limit_map_jacobian(inst["problem"], x, STEP)
    return (x, jac, err) if ok else None
