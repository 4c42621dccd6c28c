"""Deliberately broken RSP implementations (ahn2024 Algorithm 1), written as a user would write
an optimizer. Each must come out falsified on at least one claim."""

from __future__ import annotations

import torch


class _RSPBase(torch.optim.Optimizer):
    def __init__(self, params, lr, rho, eps0=float("inf"), lr_prime=None):
        super().__init__(params, {"lr": lr, "rho": rho, "eps0": eps0, "lr_prime": lr_prime or lr})

    def direction(self, d: int, like: torch.Tensor) -> torch.Tensor:
        g = torch.randn(d, dtype=like.dtype, device=like.device)
        return g / g.norm()

    def project(self, gx: torch.Tensor, gp: torch.Tensor) -> torch.Tensor:
        n2 = gx.dot(gx)
        return gp - (gx.dot(gp) / n2) * gx if n2 > 0 else gp

    @torch.no_grad()
    def step(self, closure):
        (p,) = self.param_groups[0]["params"]
        group = self.param_groups[0]
        with torch.enable_grad():
            loss = closure()
        gx = p.grad.clone()
        if gx.norm() <= group["eps0"]:
            g = self.direction(p.numel(), p)
            p.add_(group["rho"] * g)
            with torch.enable_grad():
                closure()
            p.sub_(group["rho"] * g)
            p.sub_(group["lr"] * (gx + self.project(gx, p.grad.clone())))
        else:
            p.sub_(group["lr_prime"] * gx)
        return loss


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

    @torch.no_grad()
    def step(self, closure):
        (p,) = self.param_groups[0]["params"]
        group = self.param_groups[0]
        with torch.enable_grad():
            loss = closure()
        gx = p.grad.clone()
        if gx.norm() > group["eps0"]:
            p.sub_(group["lr_prime"] * gx)
            return loss
        g = self.direction(p.numel(), p)
        p.add_(g)
        with torch.enable_grad():
            closure()
        p.sub_(g)
        p.sub_(group["lr"] * (gx + group["rho"] * self.project(gx, p.grad.clone())))
        return loss
