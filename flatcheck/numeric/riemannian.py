"""Geometry of the minimizer manifold Γ (wen2023 §2, §3.2, §4.2) in torch, batched over points.

- tangent projections P^⊤_{x,Γ}: under Assumption 1 the tangent space T_xΓ is the kernel of
  ∇²L(x) (T_xΓ ⊆ ker ∇²L and both have dimension D − M), so P^⊤ projects onto the eigenvectors
  of the D − M smallest eigenvalues;
- eigenpairs with the eigengap of Assumption 7;
- ∇λ₁(∇²L(x)) by automatic differentiation through the symmetric eigensolver (independent of
  the Lemma 57 identity that wen2023.lemma57 checks), ∇Tr∇²L from the exact third derivatives;
- the Riemannian gradient flows (6) of λ₁ and (8) of Tr∇²L on Γ, integrated by RK4 with a
  step-doubling error estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from flatcheck.problems import Problem


def tangent_projection(hess: torch.Tensor, m: int) -> torch.Tensor:
    """P^⊤ onto the span of the eigenvectors of the D − M smallest eigenvalues: (..., D, D)."""
    _, vecs = torch.linalg.eigh(hess)
    basis = vecs[..., : hess.shape[-1] - m]
    return basis @ basis.transpose(-1, -2)


@dataclass
class Eigen:
    values: torch.Tensor  # (..., D), descending: λ₁ ≥ λ₂ ≥ …
    vectors: torch.Tensor  # (..., D, D), column i is v_{i+1}

    @property
    def gap(self) -> torch.Tensor:
        """λ₁ − λ₂ (Assumption 7)."""
        return self.values[..., 0] - self.values[..., 1]

    @property
    def top(self) -> torch.Tensor:
        return self.vectors[..., :, 0]


def eigen(hess: torch.Tensor) -> Eigen:
    vals, vecs = torch.linalg.eigh(hess)
    return Eigen(vals.flip(-1), vecs.flip(-1))


def grad_top_eigenvalue(problem: Problem, x: torch.Tensor) -> torch.Tensor:
    """∇_x λ₁(∇²L(x)), batched (..., D) -> (..., D), by autograd through eigvalsh."""
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        lam = torch.linalg.eigvalsh(problem.hess(xr))[..., -1]
        (g,) = torch.autograd.grad(lam.sum(), xr)
    return g


def grad_trace_hessian(problem: Problem, x: torch.Tensor) -> torch.Tensor:
    """∇ Tr ∇²L(x) = D ∇tr̄(x), from sympy's exact third derivatives."""
    return problem.d * problem.grad_trace_bar(x)


OBJECTIVES: dict[str, Callable[[Problem, torch.Tensor], torch.Tensor]] = {
    "top_eigenvalue": grad_top_eigenvalue,  # flow (6), full-batch SAM (Theorem 8)
    "trace": grad_trace_hessian,  # flow (8), stochastic SAM (Theorem 11)
}


def riemannian_velocity(problem: Problem, x: torch.Tensor, m: int, objective: str) -> torch.Tensor:
    """dX/dτ = −½ P^⊤_{X,Γ} ∇S(X), S = λ₁ (6) or Tr ∇²L (8)."""
    g = OBJECTIVES[objective](problem, x)
    p = tangent_projection(problem.hess(x), m)
    return -0.5 * (p @ g.unsqueeze(-1)).squeeze(-1)


@dataclass
class FlowPath:
    times: torch.Tensor  # (K,)
    path: torch.Tensor  # (K, B, D)
    error: float  # max |RK4(h) − RK4(h/2)| at the recorded times: the integration error estimate
    off_manifold: float  # max L(X) along the path: how far the integrator drifted off Γ


def riemannian_flow(
    problem: Problem, x0: torch.Tensor, m: int, objective: str, times: torch.Tensor, substeps: int = 8
) -> FlowPath:
    """Solution X(τ) of (6)/(8) from X(0) = x0 (B, D) at the given increasing times (K,), times[0] = 0.

    RK4 with `substeps` steps between recorded times, repeated with twice as many to estimate
    the integration error (returned; a check compares it with its own tolerance)."""

    def integrate(n: int) -> torch.Tensor:
        out, x = [x0], x0
        for a, b in zip(times[:-1].tolist(), times[1:].tolist()):
            h = (b - a) / n
            for _ in range(n):
                k1 = riemannian_velocity(problem, x, m, objective)
                k2 = riemannian_velocity(problem, x + h / 2 * k1, m, objective)
                k3 = riemannian_velocity(problem, x + h / 2 * k2, m, objective)
                k4 = riemannian_velocity(problem, x + h * k3, m, objective)
                x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            out.append(x)
        return torch.stack(out)

    coarse, fine = integrate(substeps), integrate(2 * substeps)
    return FlowPath(
        times=times,
        path=fine,
        error=float((coarse - fine).abs().max()),
        off_manifold=float(problem.f(fine).abs().max()),
    )
