"""NSO implementations (the NSO paper's Algorithm 1) written as a user would: one correct, four
broken. Each broken one must come out falsified."""

from __future__ import annotations

import torch
from user_two_phase import Flat


class _NSOBase(torch.optim.Optimizer):
    def __init__(self, params, lr, sigma, k=1):
        super().__init__(params, {"lr": lr, "sigma": sigma, "k": k})

    def noise(self, p: torch.Tensor) -> torch.Tensor:
        return self.param_groups[0]["sigma"] * torch.randn(p.numel(), dtype=p.dtype, device=p.device)

    def grad_at(self, closure, p, u):
        p.add_(u)
        with torch.enable_grad():
            loss = closure()
        p.sub_(u)
        return loss, p.grad.clone()

    def pair(self, closure, p, u):
        """G_j = g(W + U) + g(W − U) (Algorithm 1, line 4)."""
        loss, g_plus = self.grad_at(closure, p, u)
        _, g_minus = self.grad_at(closure, p, -u)
        return loss, g_plus + g_minus

    def scale(self) -> float:
        group = self.param_groups[0]
        return group["lr"] / (2 * group["k"])

    @torch.no_grad()
    def step(self, closure):
        p = Flat(self.param_groups[0]["params"])
        total = torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
        for _ in range(self.param_groups[0]["k"]):
            loss, g = self.pair(closure, p, self.noise(p))
            total += g
        p.sub_(self.scale() * total)
        return loss


class ReferenceNSO(_NSOBase):
    """A correct, independently written NSO: must pass."""


class OnePointNSO(_NSOBase):
    """Forgets −U: G_j = 2g(W + U_j)."""

    def pair(self, closure, p, u):
        loss, g = self.grad_at(closure, p, u)
        return loss, 2 * g


class OverScaledNSO(_NSOBase):
    """Averages with η/k instead of η/(2k)."""

    def scale(self):
        group = self.param_groups[0]
        return group["lr"] / group["k"]


class HalfNormalNSO(_NSOBase):
    """Non-symmetric noise: |N(0, σ²)| coordinates."""

    def noise(self, p):
        return super().noise(p).abs()


class FixedNoiseNSO(_NSOBase):
    """Draws its k perturbations once and reuses them at every step."""

    def noise(self, p):
        fixed = self.state.setdefault("fixed", [])
        if len(fixed) < self.param_groups[0]["k"]:
            fixed.append(super().noise(p))
        self.state["next"] = (self.state.get("next", -1) + 1) % len(fixed)
        return fixed[self.state["next"]]
