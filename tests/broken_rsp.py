"""Deliberately broken RSP implementations (ahn2024 Algorithm 1), written as a user would write
an optimizer. Each must come out falsified on at least one claim."""

from __future__ import annotations

import torch
from user_two_phase import TwoPhaseUser


class _RSPBase(TwoPhaseUser):
    def direction(self, d: int, like: torch.Tensor) -> torch.Tensor:
        g = torch.randn(d, dtype=like.dtype, device=like.device)
        return g / g.norm()

    def radius(self, group) -> float:
        return group["rho"]

    def project(self, gx: torch.Tensor, gp: torch.Tensor) -> torch.Tensor:
        n2 = gx.dot(gx)
        return gp - (gx.dot(gp) / n2) * gx if n2 > 0 else gp

    def correction(self, closure, p, gx, group):
        """v_t = Proj⊥_{∇f(x_t)} ∇f(x_t + ρg_t)."""
        g = self.direction(p.numel(), p)
        return self.project(gx, self.gradient_at(closure, p, self.radius(group) * g))


class ReferenceRSP(_RSPBase):
    """A correct, independently written RSP: must pass."""


class NoProjectionRSP(_RSPBase):
    """Forgets Proj⊥: v_t = ∇f(x_t + ρg_t)."""

    def project(self, gx, gp):
        return gp


class GaussianRSP(_RSPBase):
    """Draws g ~ N(0, I) without normalising it to the sphere."""

    def direction(self, d, like):
        return torch.randn(d, dtype=like.dtype, device=like.device)


class RhoMisplacedRSP(_RSPBase):
    """Puts ρ on the wrong side: evaluates ∇f at x + g (radius 1) and scales the perturbation by ρ."""

    def radius(self, group):
        return 1.0

    def project(self, gx, gp):
        return self.param_groups[0]["rho"] * super().project(gx, gp)
