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

from flatcheck.numeric.flow import phi
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


def phi_differences(
    problem: Problem, x: torch.Tensor, dirs: torch.Tensor, h: float, tol: float = 1e-10
) -> tuple[torch.Tensor, torch.Tensor, float, bool]:
    """First and second directional derivatives of Φ at one point x (d,) along each row of dirs (k, d),
    by central differences of Φ (`flow.phi`, one batched flow) at steps h and h/2:

        ∂Φ(x)u ≈ (Φ(x+hu) − Φ(x−hu))/2h,   ∂²Φ(x)[u, u] ≈ (Φ(x+hu) − 2Φ(x) + Φ(x−hu))/h².

    Valid on Γ too (where the variational flow of `flow.dphi` stops at once). Returns (first (k, d),
    second (k, d)) at h/2, an error estimate (the larger step-halving difference of the two; central
    differences are O(h²), so the difference bounds the error at h/2 up to a factor ⅓ we keep as
    slack) and whether every flow converged."""
    pts = torch.cat([x[None], *(x + s * dirs for s in (h, -h, h / 2, -h / 2))])
    res = phi(problem.grad, pts, tol=tol, rtol=tol, atol=tol / 100)
    k = dirs.shape[0]
    center, (up, dn, up2, dn2) = res.point[0], res.point[1:].split(k)
    first = ((up - dn) / (2 * h), (up2 - dn2) / h)
    second = ((up - 2 * center + dn) / h**2, (up2 - 2 * center + dn2) / (h / 2) ** 2)
    err = max(float((first[0] - first[1]).abs().max()), float((second[0] - second[1]).abs().max()))
    return first[1], second[1], err, res.all_converged


def limit_map_jacobian(problem: Problem, x: torch.Tensor, h: float = 1e-3) -> tuple[torch.Tensor, float, bool]:
    """∂Φ(x) (d, d) at one point by `phi_differences` along the coordinate axes; (J, error, converged)."""
    first, _, err, ok = phi_differences(problem, x, torch.eye(x.shape[-1], dtype=x.dtype, device=x.device), h)
    return first.T, err, ok


def third_contraction(problem: Problem, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """∂²(∇L)(x)[v, v] = ∇_x(vᵀ∇²L(x)v) with v held fixed, row-wise by autograd of the exact Hessian."""
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        quad = torch.einsum("...i,...ij,...j->...", v, problem.hess(xr), v)
        (g,) = torch.autograd.grad(quad.sum(), xr)
    return g
