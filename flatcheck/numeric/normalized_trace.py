"""tr̄(x) = tr∇²f(x)/d and its gradient ∇tr̄ (third derivatives) for batched torch functions, by
Hessian-vector products: exact (d products per point), for any d where sympy's exact third
derivatives (`Problem.grad_trace_bar`) are too slow to derive (ahn2024 §2.2)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def _trace_bar_graph(f: Callable[[torch.Tensor], torch.Tensor], xr: torch.Tensor) -> torch.Tensor:
    """tr̄ at rows of xr (B, d) that require grad, differentiable once more (create_graph)."""
    b, d = xr.shape
    (g,) = torch.autograd.grad(f(xr).sum(), xr, create_graph=True)
    total = torch.zeros(b, dtype=xr.dtype, device=xr.device)
    for i in range(d):
        (hi,) = torch.autograd.grad(g[:, i].sum(), xr, create_graph=True)
        total = total + hi[:, i]
    return total / d


def trace_bar(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """tr̄(x) for rows x (B, d) -> (B,)."""
    with torch.enable_grad():
        return _trace_bar_graph(f, x.detach().requires_grad_(True)).detach()


def grad_trace_bar(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """∇tr̄(x) for rows x (B, d) -> (B, d)."""
    with torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(_trace_bar_graph(f, xr).sum(), xr)
    return g
