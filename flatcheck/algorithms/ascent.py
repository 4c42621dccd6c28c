"""Gradient descent on the ascent-direction loss — wen2023 eq. (2), §1 and Figure 1.

    L^asc_ρ(x) = L(x + ρ∇L(x)/‖∇L(x)‖₂),    x(t+1) = x(t) − η∇L^asc_ρ(x(t))

Unlike SAM (3), the gradient is taken through the normalisation: with g = ∇L(x), ĝ = g/‖g‖,
y = x + ρĝ, H = ∇²L(x) and w = ∇L(y),

    ∇L^asc_ρ(x) = w + ρ·H(I − ĝĝᵀ)w/‖g‖        (chain rule; ∂ĝ/∂x = (I − ĝĝᵀ)H/‖g‖).

L^asc is undefined where ∇L = 0 (wen2023 §3.1); there the step is x − η∇L(x) = x.
Hyper-parameters by flatcheck name: lr (η), rho (ρ).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from flatcheck.algorithms.param_vector import add_flat, params_of, restore, save, setting
from flatcheck.algorithms.sam import unit_rows


def ascent_grad(
    grad: Callable[[torch.Tensor], torch.Tensor],
    hvp: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    rho: float,
) -> torch.Tensor:
    """∇L^asc_ρ(x) row-wise; hvp(x, v) = ∇²L(x)v row-wise. Rows with ∇L(x) = 0 get ∇L(x)."""
    g = grad(x)
    n = torch.linalg.vector_norm(g, dim=-1, keepdim=True)
    u = unit_rows(g)
    w = grad(x + rho * u)
    tangent = w - u * (u * w).sum(-1, keepdim=True)
    correction = hvp(x, tangent) / torch.where(n > 0, n, 1.0)
    return torch.where(n > 0, w + rho * correction, g)


def ascent_step(
    grad: Callable[[torch.Tensor], torch.Tensor],
    hvp: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    lr: float,
    rho: float,
) -> torch.Tensor:
    """One GD step on L^asc_ρ for a batch of chains: x (B, d)."""
    return x - lr * ascent_grad(grad, hvp, x, rho)


class AscentGD(torch.optim.Optimizer):
    """GD on L^asc_ρ. It differentiates the loss twice itself, so its closure differs from the usual
    one: closure() zeroes nothing, computes the loss from the parameters and returns it *without*
    calling backward() (a graph AscentGD differentiates with create_graph)."""

    def __init__(self, params: Iterable, lr: float, rho: float):
        if lr <= 0 or rho < 0:
            raise ValueError(f"AscentGD needs lr > 0 and rho ≥ 0 (got lr={lr}, rho={rho})")
        super().__init__(params, {"lr": lr, "rho": rho})

    def _grad(self, closure: Callable[[], torch.Tensor], create_graph: bool = False) -> tuple:
        params = params_of(self)
        with torch.enable_grad():
            loss = closure()
            try:
                grads = torch.autograd.grad(loss, params, create_graph=create_graph, allow_unused=True)
            except RuntimeError as e:
                raise ValueError(
                    f"AscentGD's closure must return the loss with its graph, without calling backward() ({e})"
                ) from e
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        return loss, torch.cat([g.reshape(-1) for g in grads])

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError("AscentGD.step needs a closure that returns the loss (without backward())")
        params = params_of(self)
        group = setting(self)
        loss, g = self._grad(closure)
        n = torch.linalg.vector_norm(g)
        if n == 0:
            return loss
        u = g / n
        saved = save(params)
        add_flat(params, group["rho"] * u)
        _, w = self._grad(closure)
        restore(params, saved)
        # ∂/∂x ⟨∇L(x)/‖∇L(x)‖, w⟩ with w held fixed = H(I − ĝĝᵀ)w/‖g‖ (double backward at x).
        with torch.enable_grad():
            _, g_graph = self._grad(closure, create_graph=True)
            inner = (g_graph / torch.linalg.vector_norm(g_graph) * w).sum()
            jtw = torch.autograd.grad(inner, params, allow_unused=True)
        jtw = torch.cat([(torch.zeros_like(p) if j is None else j).reshape(-1) for p, j in zip(params, jtw)])
        add_flat(params, -group["lr"] * (w + group["rho"] * jtw))
        return loss
