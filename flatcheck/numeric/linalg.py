"""Batched torch linear algebra used across checks and algorithms."""

from __future__ import annotations

from collections.abc import Callable

import torch


def proj_out(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Proj⊥_u v = v − ⟨u/‖u‖, v⟩ u/‖u‖ over the last dimension (ahn2024 Definition 4).

    Rows with u = 0 are returned unchanged: there is no direction to project out."""
    n2 = (u * u).sum(-1, keepdim=True)
    coef = torch.where(n2 > 0, (u * v).sum(-1, keepdim=True) / torch.where(n2 > 0, n2, 1.0), 0.0)
    return v - coef * u


def unit_sphere(
    shape: tuple[int, ...], d: int, generator: torch.Generator, dtype=torch.float64, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Draws from Unif(S^{d−1}): normalised Gaussians (rotation invariance)."""
    g = torch.randn(*shape, d, generator=generator, dtype=dtype, device=device)
    return g / torch.linalg.vector_norm(g, dim=-1, keepdim=True)


def autograd_grad(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Row-wise gradient of a batched scalar function by torch autograd: (..., d) -> (..., d)."""
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xr).sum(), xr)
    return g


def hvp(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Row-wise Hessian-vector products ∇²f(x)v by double backward."""
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xr).sum(), xr, create_graph=True)
        if not g.requires_grad:  # f is affine in x: the gradient is constant and ∇²f = 0
            return torch.zeros_like(xr)
        (hv,) = torch.autograd.grad((g * v).sum(), xr, materialize_grads=True)
    return hv
