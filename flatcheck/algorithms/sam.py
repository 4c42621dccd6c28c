"""Sharpness-Aware Minimization — wen2023 eq. (3) (full batch) and eq. (7) (stochastic, batch size 1).

    (3)  x(t+1) = x(t) − η∇L(x + ρ∇L(x)/‖∇L(x)‖₂)
    (7)  x(t+1) = x(t) − η∇L_{k_t}(x + ρ∇L_{k_t}(x)/‖∇L_{k_t}(x)‖₂),   k_t ~ Unif([M])

`SAM` follows the API of davda54/sam (also pytorch-optimizer's SAM):
SAM(params, base_optimizer, rho=0.05, adaptive=False, **base_kwargs); the caller runs backward()
at the current point, then step(closure) (or first_step / closure / second_step). The ascent
norm is global over all parameter groups. Unlike davda54's `‖∇L‖ + 1e-12`, the normalisation is
exact as in (3); where ∇L = 0 the ascent direction is taken as 0 (L^asc is undefined there,
wen2023 §3.1), so the step is the base optimizer's. With base_optimizer=torch.optim.SGD the
step is (3); on the loss of one example k it is (7).

Hyper-parameters by flatcheck name: lr (η), rho (ρ).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def unit_rows(g: torch.Tensor) -> torch.Tensor:
    """g/‖g‖ row-wise, with 0 where g = 0."""
    n = torch.linalg.vector_norm(g, dim=-1, keepdim=True)
    nonzero = n > 0
    return torch.where(nonzero, g / torch.where(nonzero, n, 1.0), 0.0)


def sam_step(grad: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *, lr: float, rho: float) -> torch.Tensor:
    """One full-batch SAM step (3) for a batch of chains: x (B, d)."""
    return x - lr * grad(x + rho * unit_rows(grad(x)))


def sam_step_example(
    grad_example: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    index: torch.Tensor,
    *,
    lr: float,
    rho: float,
) -> torch.Tensor:
    """One stochastic SAM step (7) per chain on example index[b]: grad_example(x, index) -> (B, d)."""
    return x - lr * grad_example(x + rho * unit_rows(grad_example(x, index)), index)


class SAM(torch.optim.Optimizer):
    """SAM with davda54/sam's interface; `adaptive=True` is ASAM's |w|-scaled ascent (kept for API
    compatibility; the papers' SAM is adaptive=False)."""

    def __init__(
        self, params: Iterable, base_optimizer: type, rho: float = 0.05, adaptive: bool = False, **kwargs: Any
    ):
        if rho < 0:
            raise ValueError(f"SAM needs rho ≥ 0 (got {rho})")
        super().__init__(params, {"rho": rho, "adaptive": adaptive, **kwargs})
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)

    @torch.no_grad()
    def first_step(self, zero_grad: bool = False) -> None:
        """Move to w + ρ∇L/‖∇L‖ (global norm), remembering w."""
        norm = self._grad_norm()
        for group in self.param_groups:
            scale = torch.where(norm > 0, group["rho"] / torch.where(norm > 0, norm, 1.0), 0.0)
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.state[p]["old_p"] = p.detach().clone()
                e_w = (p.abs() ** 2 if group["adaptive"] else 1.0) * p.grad * scale.to(p)
                p.add_(e_w)
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad: bool = False) -> None:
        """Back to w exactly, then the base optimizer's step with the gradient taken at w + e(w)."""
        for group in self.param_groups:
            for p in group["params"]:
                if "old_p" in self.state[p]:
                    p.copy_(self.state[p].pop("old_p"))
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:  # type: ignore[override]
        """The caller has run backward() at w; the closure recomputes loss and gradient (at w + e(w))."""
        if closure is None:
            raise ValueError("SAM.step needs a closure: it re-evaluates the gradient at the ascent point")
        self.first_step(zero_grad=True)
        with torch.enable_grad():
            loss = closure()
        self.second_step()
        return loss

    def _grad_norm(self) -> torch.Tensor:
        parts = [
            ((p.abs() if group["adaptive"] else 1.0) * p.grad).norm(p=2)
            for group in self.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        ref = self.param_groups[0]["params"][0]
        return torch.linalg.vector_norm(torch.stack(parts)) if parts else torch.zeros((), device=ref.device)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.base_optimizer.param_groups = self.param_groups
